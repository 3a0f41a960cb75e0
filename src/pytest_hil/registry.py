"""The drivers' plugin manager: entry points in, driver classes by kind out."""

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
    package: str
    interfaces: tuple[str, ...]


class DriverRegistry:
    """Driver classes by kind, gathered through pluggy's `hil_drivers` hook."""

    def __init__(self) -> None:
        self.plugins = pluggy.PluginManager("pytest_hil")
        self.plugins.add_hookspecs(driver_hookspecs)
        self._packages: dict[int, str] = {}
        self._kinds: dict[str, DriverInfo] | None = None

    def load_entry_points(self, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> None:
        """Register every module of the `pytest_hil.drivers` entry-point group."""
        if entry_points is None:
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        for entry_point in entry_points:
            package = _package_of(entry_point)
            try:
                module = entry_point.load()
            except Exception as error:
                raise DriverLoadError(
                    f"driver package {package}: entry point {entry_point.name} = {entry_point.value} "
                    f"failed to load: {type(error).__name__}: {error}"
                ) from error
            self.register(module, package, name=f"{package}:{entry_point.name}")

    def register(self, plugin: ModuleType | object, package: str, name: str | None = None) -> None:
        """Register a module or object implementing `hil_drivers` (for tests and embedding)."""
        if self.plugins.is_registered(plugin):
            return
        self.plugins.register(plugin, name=name)
        self._packages[id(plugin)] = package
        self._kinds = None

    def kinds(self) -> dict[str, DriverInfo]:
        """Every registered kind, sorted by name."""
        if self._kinds is None:
            self._kinds = self._collect()
        return self._kinds

    def get(self, kind: str) -> DriverInfo | None:
        return self.kinds().get(kind)

    def _collect(self) -> dict[str, DriverInfo]:
        found: dict[str, DriverInfo] = {}
        for implementation in reversed(self.plugins.hook.hil_drivers.get_hookimpls()):
            package = self._packages.get(id(implementation.plugin), "?")
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
    """The registry of installed driver packages, loaded once per process."""
    registry = DriverRegistry()
    registry.load_entry_points()
    return registry
