"""A board in a running session: its lab-file spec plus the drivers created for it so far."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pytest_hil.console.log import BoardLogs
from pytest_hil.errors import DriverError, HilError
from pytest_hil.interfaces import Driver, DriverContext
from pytest_hil.lab.model import BoardSpec, ResourceSpec, ShellSpec
from pytest_hil.progress import SILENT, Progress

if TYPE_CHECKING:
    from typing_extensions import Self

DriverT = TypeVar("DriverT", bound=Driver)


class Board:
    """A board: `.name`, `.labels`, `.resources`, and each resource as attribute or item.

    Drivers are created when first used and closed by `close()` in reverse creation order; a board
    is a context manager, and `close()` may be called again (it closes what was created since).
    """

    def __init__(
        self, spec: BoardSpec, lab_dir: Path, logs: BoardLogs | None = None, progress: Progress = SILENT
    ) -> None:
        self.spec = spec
        self.lab_dir = lab_dir
        self.logs = logs or BoardLogs(spec.name)
        self.progress = progress
        self.lock = threading.Lock()
        self._drivers: dict[str, Driver] = {}
        self._creating = threading.RLock()  # a driver's options may name resources it creates in turn

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def labels(self) -> Mapping[str, str]:
        return self.spec.labels

    @property
    def host(self) -> str | None:
        return self.spec.host

    @property
    def shell_spec(self) -> ShellSpec | None:
        return self.spec.shell

    @property
    def resources(self) -> Mapping[str, Driver]:
        """Resource name -> driver; a driver is created on first access."""
        return _Resources(self)

    def resource(self, name: str) -> Driver:
        """The driver of the resource called `name`, created on first use."""
        spec = self.spec.resources.get(name)
        if spec is None:
            known = ", ".join(self.spec.resources)
            raise KeyError(f"board {self.name} has no resource {name!r} (it has: {known})")
        with self._creating:
            driver = self._drivers.get(name)
            if driver is None:
                driver = self._drivers[name] = self._create(spec)
        return driver

    def interface(self, name: str) -> Driver:
        """The resource called `name`, else the board's one resource implementing interface `name`."""
        found = self.spec.resource_for(name)
        if isinstance(found, ResourceSpec):
            return self.resource(found.name)
        if found:
            names = ", ".join(spec.name for spec in found)
            raise KeyError(f"board {self.name} has several {name} resources ({names}): request one by name")
        raise KeyError(f"board {self.name} has no resource called {name!r} and none implementing {name}")

    def get(self, interface: Callable[..., DriverT], name: str | None = None) -> DriverT:
        """The resource called `name` (else the board's one resource whose driver is an `interface`),
        typed as that interface: `board.get(Power)`, `board.get(Power, "power2")`.

        `interface` is a driver class: an interface of `pytest_hil.interfaces` or a driver's own. (It is
        typed as a callable because type checkers refuse abstract classes where `type[...]` is expected.)
        """
        if not (isinstance(interface, type) and issubclass(interface, Driver)):
            raise TypeError(f"board.get() takes a driver class such as Power, not {interface!r}")
        if name is None:
            found = [spec.name for spec in self.spec.resources.values() if issubclass(spec.driver, interface)]
            if len(found) != 1:
                several = f"several {interface.__name__} resources ({', '.join(found)}): name one"
                raise KeyError(f"board {self.name} has {several if found else f'no {interface.__name__} resource'}")
            name = found[0]
        driver = self.resource(name)
        if not isinstance(driver, interface):
            raise TypeError(f"board {self.name}, resource {name} ({driver.kind}) is not a {interface.__name__}")
        return cast(DriverT, driver)  # checked just above

    def created(self) -> list[str]:
        """Names of the resources whose drivers exist, in creation order."""
        return list(self._drivers)

    def close(self) -> list[BaseException]:
        """Close every created driver, newest first; return the errors instead of stopping at one."""
        errors: list[BaseException] = []
        while self._drivers:
            name, driver = self._drivers.popitem()
            try:
                driver.close()
            except Exception as error:
                errors.append(DriverError(f"board {self.name}, resource {name}: close failed: {error}"))
        self.logs.close()
        return errors

    def _create(self, spec: ResourceSpec) -> Driver:
        context = DriverContext(
            self.name, spec.name, self.lab_dir, dict(self.labels), self.logs, self.progress, lookup=self.resource
        )
        try:
            return spec.driver(spec.options, context)
        except HilError:
            raise
        except Exception as error:
            raise DriverError(
                f"board {self.name}, resource {spec.name} ({spec.kind}): could not start: {error}"
            ) from error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        errors = self.close()
        if errors and error is None:
            raise errors[0]

    def __getattr__(self, name: str) -> Driver:
        spec = self.__dict__.get("spec")
        if spec is None or name.startswith("_") or name not in spec.resources:
            raise AttributeError(f"board has no resource {name!r}")
        return self.resource(name)

    def __getitem__(self, name: str) -> Driver:
        return self.resource(name)

    def __repr__(self) -> str:
        return f"<Board {self.name} {dict(self.labels)}>"


class _Resources(Mapping[str, Driver]):
    def __init__(self, board: Board) -> None:
        self._board = board

    def __getitem__(self, name: str) -> Driver:
        return self._board.resource(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._board.spec.resources)

    def __len__(self) -> int:
        return len(self._board.spec.resources)

    def __repr__(self) -> str:
        return f"<resources of {self._board.name}: {', '.join(self)}>"

    def __contains__(self, name: Any) -> bool:
        return name in self._board.spec.resources
