"""The driver registry: entry points in, driver classes by kind out, clear errors for broken packages."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import hil_drivers.sim
from pytest_hil import hookimpl
from pytest_hil.errors import DriverLoadError, LabError
from pytest_hil.interfaces import Console, Power
from pytest_hil.lab import load_lab
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


def test_a_lab_imports_only_the_driver_families_it_names(tmp_path: Path) -> None:
    lab = tmp_path / "lab.yaml"
    lab.write_text("version: 1\nboards:\n  b:\n    resources:\n      power: {driver: sim-power}\n")
    script = (
        "import sys\nfrom pytest_hil.lab import load_lab\n"
        f"load_lab({str(lab)!r})\n"
        "print(sorted(name for name in sys.modules if name.startswith('hil_drivers.') and name.count('.') == 1))\n"
        "print('can' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    families, can_imported = result.stdout.splitlines()
    assert "'hil_drivers.sim'" in families
    assert "hil_drivers.can" not in families and "hil_drivers.qemu" not in families
    assert can_imported == "False"


def test_a_family_named_entry_point_is_imported_when_a_kind_is_not_declared() -> None:
    registry = DriverRegistry()
    registry.add_entry_points(
        [importlib.metadata.EntryPoint(name="sim", value="hil_drivers.sim", group=ENTRY_POINT_GROUP)]
    )
    info = registry.get("sim-console")
    assert info is not None and info.cls.__module__ == "hil_drivers.sim.console"
    assert registry.get("no-such-kind") is None


def test_a_kind_entry_point_whose_module_lacks_the_kind_is_named() -> None:
    registry = DriverRegistry()
    registry.add_entry_points(
        [importlib.metadata.EntryPoint(name="sim-typo", value="hil_drivers.sim", group=ENTRY_POINT_GROUP)]
    )
    with pytest.raises(
        DriverLoadError, match=r"entry point sim-typo = hil_drivers.sim provides no driver of kind 'sim-typo'"
    ):
        registry.get("sim-typo")


def test_a_package_failing_to_import_is_a_lab_error_at_its_line(tmp_path: Path) -> None:
    registry = DriverRegistry()
    registry.add_entry_points(
        [importlib.metadata.EntryPoint(name="broken-relay", value="no_such_driver_module", group=ENTRY_POINT_GROUP)]
    )
    lab = tmp_path / "lab.yaml"
    lab.write_text("version: 1\nboards:\n  b:\n    resources:\n      power: {driver: broken-relay}\n")
    with pytest.raises(LabError) as raised:
        load_lab(lab, registry)
    assert str(raised.value).splitlines() == [
        f"{lab}:5: boards.b.resources.power.driver: driver package no_such_driver_module: entry point broken-relay = "
        "no_such_driver_module failed to load: ModuleNotFoundError: No module named 'no_such_driver_module'"
    ]
