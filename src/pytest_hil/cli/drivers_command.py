"""`hil drivers`: every registered driver kind and the package it came from."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pytest_hil.cli.common import table
from pytest_hil.lab.schema import describe
from pytest_hil.registry import DriverRegistry, default_registry


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser("drivers", help="registered driver kinds")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list each driver's options")
    parser.add_argument("--json", action="store_true", help="JSON for scripts: kinds, interfaces, packages, options")
    parser.set_defaults(run=run_drivers)


def run_drivers(args: argparse.Namespace) -> int:
    registry = default_registry()
    if args.json:
        listing = {
            info.kind: {
                "interfaces": list(info.interfaces),
                "package": info.package,
                "options": [
                    {"name": o.name, "type": o.type, "required": o.required, "default": repr(o.default), "help": o.help}
                    for o in describe(info.cls.Options)
                ],
            }
            for info in registry.kinds().values()
        }
        print(json.dumps(listing, indent=1))
        return 0
    print(format_drivers(registry, verbose=args.verbose))
    return 0


def format_drivers(registry: DriverRegistry, verbose: bool = False) -> str:
    rows = [("KIND", "INTERFACES", "PACKAGE")]
    rows += [(info.kind, ",".join(info.interfaces), info.package) for info in registry.kinds().values()]
    lines = table(rows).split("\n")
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
