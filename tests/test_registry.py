"""The driver registry: entry points in, driver classes by kind out, clear errors for broken packages."""

from __future__ import annotations

import importlib.metadata

import pytest

import hil_drivers.sim
from pytest_hil import hookimpl
from pytest_hil.errors import DriverLoadError
from pytest_hil.interfaces import Console, Power
from pytest_hil.registry import ENTRY_POINT_GROUP, DriverRegistry


def test_builtin_drivers_come_through_the_entry_point_group() -> None:
    registry = DriverRegistry()
    registry.load_entry_points()
    info = registry.kinds()["sim-power"]
    assert info.cls.__module__ == "hil_drivers.sim.power"
    assert info.interfaces == ("power",)
    assert info.package.startswith("pytest-hil ")


def test_a_package_that_fails_to_import_is_named() -> None:
    broken = importlib.metadata.EntryPoint(name="broken", value="no_such_driver_module", group=ENTRY_POINT_GROUP)
    with pytest.raises(
        DriverLoadError, match="entry point broken = no_such_driver_module failed to load: ModuleNotFoundError"
    ):
        DriverRegistry().load_entry_points([broken])


def test_two_packages_claiming_one_kind_is_an_error() -> None:
    class OtherPower(Power):
        kind = "sim-power"

    class Clash:
        @hookimpl
        def hil_drivers(self) -> list[type[Power]]:
            return [OtherPower]

    registry = DriverRegistry()
    registry.register(hil_drivers.sim, "pytest-hil")
    registry.register(Clash(), "clash-pkg")
    with pytest.raises(DriverLoadError, match=r"driver kind 'sim-power' is registered twice: by .* and by .*"):
        registry.kinds()


def test_a_class_without_a_kind_is_refused() -> None:
    class Nameless(Console):
        pass

    class Plugin:
        @hookimpl
        def hil_drivers(self) -> list[type[Console]]:
            return [Nameless]

    registry = DriverRegistry()
    registry.register(Plugin(), "nameless-pkg")
    with pytest.raises(
        DriverLoadError, match=r"driver package nameless-pkg: .*Nameless.* is not a Driver subclass with a `kind`"
    ):
        registry.kinds()


def test_the_errors_a_test_may_catch_come_from_the_package() -> None:
    import pytest_hil

    names = ["BootFailed", "CommandFailed", "CommandTimeout", "ConsoleClosed", "ConsoleTimeout", "LeaseLost",
             "LoginRefused", "ShellLoggedOut", "ShellUnreachable", "DriverError", "DriverUnavailable"]  # fmt: skip
    assert all(issubclass(getattr(pytest_hil, name), pytest_hil.HilError) for name in names)
    assert set(names) <= set(pytest_hil.__all__)
