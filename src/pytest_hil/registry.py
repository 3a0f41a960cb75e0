"""The drivers' plugin manager: entry points in, driver classes by kind out.

A driver package names each of its kinds as an entry point of the `pytest_hil.drivers` group
(`sim-power = "hil_drivers.sim.power"`), so a lab file imports only the modules whose kinds it uses. An
entry point named otherwise (a whole family: `my_pdu = "my_pdu.plugin"`) still works: it is imported
when a lab names a kind no entry point declares, and by `hil drivers`.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

import pluggy

from pytest_hil import driver_hookspecs
from pytest_hil.errors import DriverLoadError
from pytest_hil.interfaces import Driver, interfaces_of

ENTRY_POINT_GROUP = "pytest_hil.drivers"


@dataclass(frozen=True)
class DriverInfo:
    """A registered driver kind and where it came from."""

    kind: str
    cls: type[Driver]
    source: _Package
    interfaces: tuple[str, ...]

    @property
    def package(self) -> str:
        """`name version` of the distribution that provides the kind."""
        return str(self.source)


class _Package:
    """A driver package's `name version`, read from its distribution's metadata only when shown (reading
    it costs milliseconds a lab load need not pay)."""

    def __init__(self, entry_point: importlib.metadata.EntryPoint | None, name: str | None = None) -> None:
        self.entry_point = entry_point
        self.name = name

    def __str__(self) -> str:
        if self.name is None:
            assert self.entry_point is not None
            self.name = _package_of(self.entry_point)
        return self.name


class DriverRegistry:
    """Driver classes by kind, gathered through pluggy's `hil_drivers` hook from the packages
    imported so far; `get` imports the package of a kind at first need."""

    def __init__(self) -> None:
        self.plugins = pluggy.PluginManager("pytest_hil")
        self.plugins.add_hookspecs(driver_hookspecs)
        self._packages: dict[int, _Package] = {}
        self._kinds: dict[str, DriverInfo] | None = None
        #: Entry points not imported yet, by name (a kind, or a family's name).
        self._pending: dict[str, importlib.metadata.EntryPoint] = {}

    def add_entry_points(self, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> None:
        """Know the `pytest_hil.drivers` entry points (all installed ones by default), importing none."""
        if entry_points is None:
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        for entry_point in entry_points:
            self._pending.setdefault(entry_point.name, entry_point)

    def load_entry_points(self, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> None:
        """Import and register every `pytest_hil.drivers` entry point now."""
        self.add_entry_points(entry_points)
        self._import_pending(list(self._pending))

    def register(self, plugin: ModuleType | object, package: str | _Package, name: str | None = None) -> None:
        """Register a module or object implementing `hil_drivers` (for tests and embedding)."""
        if self.plugins.is_registered(plugin):
            return
        self.plugins.register(plugin, name=name)
        self._packages[id(plugin)] = package if isinstance(package, _Package) else _Package(None, package)
        self._kinds = None

    def unregister(self, plugin: ModuleType | object) -> None:
        """Forget a plugin `register` added (tests that lend drivers for a while)."""
        if self.plugins.is_registered(plugin):
            self.plugins.unregister(plugin)
            self._packages.pop(id(plugin), None)
            self._kinds = None

    def kinds(self) -> dict[str, DriverInfo]:
        """Every kind of every known package (importing them all), sorted by name."""
        self._import_pending(list(self._pending))
        return self._registered()

    def get(self, kind: str) -> DriverInfo | None:
        """The driver of `kind`: its package is imported now if it was not yet; a kind no entry point
        names imports the remaining family-named entry points before it is called unknown."""
        found = self._registered().get(kind)
        entry_point = self._pending.get(kind) if found is None else None
        if entry_point is not None:
            self._import_pending([kind])
            found = self._registered().get(kind)
            if found is None:
                raise DriverLoadError(
                    f"driver package {_package_of(entry_point)}: entry point {kind} = {entry_point.value} "
                    f"provides no driver of kind {kind!r}"
                )
        if found is None and self._pending:
            self._import_pending(list(self._pending))
            found = self._registered().get(kind)
        return found

    def _import_pending(self, names: list[str]) -> None:
        """Import the entry points `names`; every other entry point of the same module comes along."""
        for name in names:
            entry_point = self._pending.pop(name, None)
            if entry_point is None:
                continue
            package = _Package(entry_point)
            try:
                module = entry_point.load()
            except Exception as error:
                raise DriverLoadError(
                    f"driver package {package}: entry point {entry_point.name} = {entry_point.value} "
                    f"failed to load: {type(error).__name__}: {error}"
                ) from error
            for other, same in list(self._pending.items()):
                if same.value == entry_point.value:
                    del self._pending[other]
            self.register(module, package, name=f"{entry_point.value} ({entry_point.name})")

    def _registered(self) -> dict[str, DriverInfo]:
        if self._kinds is None:
            self._kinds = self._collect()
        return self._kinds

    def _collect(self) -> dict[str, DriverInfo]:
        found: dict[str, DriverInfo] = {}
        for implementation in reversed(self.plugins.hook.hil_drivers.get_hookimpls()):
            package = self._packages.get(id(implementation.plugin), _Package(None, "?"))
            classes: Iterable[object] = implementation.function()  # type: ignore[assignment]
            for cls in classes:
                kind = getattr(cls, "kind", None)
                if not isinstance(cls, type) or not issubclass(cls, Driver) or not isinstance(kind, str):
                    raise DriverLoadError(f"driver package {package}: {cls!r} is not a Driver subclass with a `kind`")
                if kind in found and found[kind].cls is not cls:
                    raise DriverLoadError(
                        f"driver kind {kind!r} is registered twice: by {found[kind].package} and by {package}"
                    )
                found[kind] = DriverInfo(kind, cls, package, interfaces_of(cls))
        return dict(sorted(found.items()))


def _package_of(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    if dist is None:
        return entry_point.module
    return f"{dist.metadata['Name']} {dist.version}"


@functools.cache
def default_registry() -> DriverRegistry:
    """The registry of installed driver packages, each imported when a lab first names one of its kinds."""
    registry = DriverRegistry()
    registry.add_entry_points()
    return registry
