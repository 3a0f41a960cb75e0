"""`hil drivers`: every registered driver kind and the package it came from."""

from __future__ import annotations

import argparse
from typing import Any

from pytest_hil.lab.schema import describe
from pytest_hil.registry import DriverRegistry, default_registry


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser("drivers", help="registered driver kinds")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list each driver's options")
    parser.set_defaults(run=run_drivers)


def run_drivers(args: argparse.Namespace) -> int:
    print(format_drivers(default_registry(), verbose=args.verbose))
    return 0


def format_drivers(registry: DriverRegistry, verbose: bool = False) -> str:
    rows = [("KIND", "INTERFACES", "PACKAGE")]
    rows += [(info.kind, ",".join(info.interfaces), info.package) for info in registry.kinds().values()]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    lines = [f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}" for row in rows]
    if verbose:
        for info in registry.kinds().values():
            lines += [
                "",
                f"{info.kind}: {(info.cls.__doc__ or '').strip().splitlines()[0] if info.cls.__doc__ else ''}",
            ]
            for option in describe(info.cls.Options):
                default = "required" if option.required else f"default {option.default!r}"
                lines.append(
                    f"  {option.name}: {option.type}, {default}" + (f" - {option.help}" if option.help else "")
                )
    return "\n".join(lines)
