"""Command-line and ini options, and where the lab file comes from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_hil.leases.handoff import BOARD_ENV

LAB_ENV = "HIL_LAB"
LEASE_URL_ENV = "HIL_LEASE_URL"
#: The `pytest --help` group of every --hil-* option.
OPTION_GROUP = ("hil", "hardware in the loop (pytest-hil)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(*OPTION_GROUP)
    group.addoption(
        "--hil-lab",
        metavar="LAB",
        help=f"lab file declaring the boards (ini: hil_lab, environment: {LAB_ENV}); without one HIL tests skip",
    )
    group.addoption(
        "--hil-board",
        action="append",
        default=[],
        metavar="NAME",
        help="use only this board (repeatable)",
    )
    group.addoption("--hil-select", metavar="SELECTOR", help="use only boards matching SELECTOR, e.g. family=rpi4,hdmi")
    group.addoption(
        "--hil-strict",
        action="store_true",
        help="a test that no board can serve is an error instead of a skip",
    )
    group.addoption(
        "--hil-log-dir",
        metavar="DIR",
        help="where per-test console logs and artifacts go (default: hil-logs in the session's base temp)",
    )
    group.addoption(
        "--hil-log-timestamps",
        action="store_true",
        help="start every console log line with the seconds since the log began",
    )
    group.addoption(
        "--hil-lease-url",
        metavar="URL",
        help=f"lease store: sqlite:///PATH or postgresql://... (environment: {LEASE_URL_ENV}; default: the lab "
        "file's leases.url, else a file in your state folder)",
    )
    group.addoption(
        "--hil-lease-timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for a busy board before its tests skip naming the holder (default: as long as it takes)",
    )
    parser.addini("hil_lab", "lab file declaring the boards (relative to the ini file)", default=None)
    parser.addini("hil_board", "use only these boards", type="args", default=[])
    parser.addini("hil_select", "use only boards matching this selector", default=None)
    parser.addini("hil_strict", "a test no board can serve is an error", type="bool", default=False)
    parser.addini("hil_log_dir", "console logs and artifacts (relative to the ini file)", default=None)
    parser.addini("hil_log_timestamps", "stamp console log lines", type="bool", default=False)
    parser.addini("hil_lease_url", "lease store URL", default=None)
    parser.addini("hil_lease_timeout", "seconds to wait for a busy board", default=None)


@dataclass(frozen=True)
class Settings:
    """The options as one value; `lab` is None when the plugin stays inert."""

    lab: Path | None
    lab_origin: str
    boards: tuple[str, ...]
    select: str | None
    strict: bool
    log_dir: Path | None
    log_timestamps: bool
    lease_url: str | None = None
    lease_timeout: float | None = None


def read_settings(config: pytest.Config) -> Settings:
    """The options: the command line, else the ini file (`hil_*` keys), else the environment."""
    lab, origin = _lab_path(config)
    log_dir = config.getoption("hil_log_dir") or _ini_path(config, "hil_log_dir")
    return Settings(
        lab=lab,
        lab_origin=origin,
        boards=tuple(
            config.getoption("hil_board")
            or config.getini("hil_board")
            or [name for name in os.environ.get(BOARD_ENV, "").split(",") if name]
        ),
        select=config.getoption("hil_select") or config.getini("hil_select") or None,
        strict=bool(config.getoption("hil_strict") or config.getini("hil_strict")),
        log_dir=Path(log_dir).absolute() if log_dir else None,
        log_timestamps=bool(config.getoption("hil_log_timestamps") or config.getini("hil_log_timestamps")),
        lease_url=config.getoption("hil_lease_url")
        or config.getini("hil_lease_url")
        or os.environ.get(LEASE_URL_ENV)
        or None,
        lease_timeout=number_option(config, "hil_lease_timeout", float),
    )


def _ini_path(config: pytest.Config, name: str) -> Path | None:
    value = config.getini(name)
    if not value:
        return None
    base = config.inipath.parent if config.inipath else config.rootpath
    return base / str(value)


def number_option(config: pytest.Config, name: str, kind: type[float] | type[int]) -> Any:
    """The number given as option `--NAME`, else as ini key `NAME`; None if neither."""
    option = config.getoption(name)
    if option is not None:
        return option
    value = config.getini(name)
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise pytest.UsageError(f"ini option {name} in {config.inipath}: {value!r} is not a number") from None


def space_form_problem(config: pytest.Config) -> str | None:
    """`--hil-lab PATH` (a space, not `=`) with PATH outside the current folder: pytest read PATH as a
    test path before plugins were loaded and chose its rootdir and ini file from it."""
    args = [str(arg) for arg in config.invocation_params.args]
    if "--hil-lab" not in args[:-1]:
        return None
    value = Path(args[args.index("--hil-lab") + 1])
    here = config.invocation_params.dir
    resolved = (here / value).resolve()
    if resolved.parent == here.resolve() or here.resolve() in resolved.parents:
        return None
    return (
        f"write --hil-lab={value} (with '='): pytest reads '--hil-lab {value}' as a test path before its "
        f"plugins load, and took {config.rootpath} as rootdir"
    )


def _lab_path(config: pytest.Config) -> tuple[Path | None, str]:
    option = config.getoption("hil_lab")
    if option:
        return Path(option), "--hil-lab"
    ini = config.getini("hil_lab")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return base / str(ini), f"ini option hil_lab in {config.inipath}"
    env = os.environ.get(LAB_ENV)
    if env:
        return Path(env), f"environment variable {LAB_ENV}"
    return None, ""
