"""Typed option schemas: a driver's `Options` dataclass checks and converts a resource's options.

Supported field types: str, int, float, bool, pathlib.Path (relative to the lab file, `~` expanded),
Literal[...], list[T], dict[str, T] and `T | None`. A field's metadata documents and bounds it:
`help` (shown by `hil drivers -v`), `secret` (masked wherever shown), `min` / `max` (inclusive) and
`above` (exclusive) for numbers, `schemes` for URLs (`("http", "https")`), and `shell` for command
lines run by /bin/sh: their `${VAR}` references are left for the shell to expand from the environment,
so a value is data, never code. Numbers are always finite.
A `__post_init__` raising `ValueError("option: what is wrong")` adds checks of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Union

from pytest_hil.lab.environment import Expanded
from pytest_hil.lab.source import KeyPath, Unset
from pytest_hil.secrets import Secret, shown, url_secrets

Report = Callable[[KeyPath, str], None]


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One option as `hil drivers -v` shows it."""

    name: str
    type: str
    required: bool
    default: Any
    help: str


def hints_of(options_type: type[Any]) -> dict[str, Any]:
    """The schema's field types, resolved in the module that defined it (even if since unloaded)."""
    module_globals = getattr(options_type.__init__, "__globals__", None)
    return typing.get_type_hints(options_type, globalns=module_globals)


def describe(options_type: type[Any]) -> list[OptionInfo]:
    """The options of a schema: the required ones first, then in declaration order."""
    hints = hints_of(options_type)
    infos = []
    for item in dataclasses.fields(options_type):
        default: Any = item.default
        if item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        required = default is dataclasses.MISSING
        help_text = " ".join(filter(None, [item.metadata.get("help", ""), _limits(item)]))
        infos.append(
            OptionInfo(item.name, type_name(hints[item.name]), required, None if required else default, help_text)
        )
    return sorted(infos, key=lambda info: not info.required)  # stable: declaration order otherwise


def _limits(item: dataclasses.Field[Any]) -> str:
    """A field's bounds as `hil drivers -v` shows them, e.g. `[1..65535]`, `[> 0]`, `[http://, https://]`."""
    meta = item.metadata
    parts = []
    if "above" in meta:
        parts.append(f"> {meta['above']:g}")
    if "min" in meta or "max" in meta:
        low = f"{meta['min']:g}" if "min" in meta else ""
        high = f"{meta['max']:g}" if "max" in meta else ""
        parts.append(f"{low}..{high}" if low and high else f">= {low}" if low else f"<= {high}")
    if "schemes" in meta:
        parts.append(", ".join(f"{scheme}://" for scheme in meta["schemes"]))
    if meta.get("secret"):
        parts.append("secret")
    return f"[{'; '.join(parts)}]" if parts else ""


def build_options(
    options_type: type[Any], raw: dict[str, Any], path: KeyPath, base: Path, report: Report, what: str = "option"
) -> Any | None:
    """An instance of `options_type` from `raw`, or None after reporting every mistake."""
    hints = hints_of(options_type)
    fields = {item.name: item for item in dataclasses.fields(options_type)}
    values: dict[str, Any] = {}
    ok = True
    for key, value in raw.items():
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            report((*path, key), f"unknown {what} (known: {known})")
            ok = False
            continue
        if isinstance(value, Unset):
            ok = False
            continue
        try:
            if fields[key].metadata.get("shell"):
                value = _shell_text(value)
            values[key] = _marked_secret(fields[key], convert(hints[key], value, base))
            _check_bounds(fields[key], values[key])
        except _Mismatch as error:
            report((*path, key), str(error))
            ok = False
    for name, item in fields.items():
        if name not in raw and item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            report(path, f"missing required {what} '{name}' ({type_name(hints[name])})")
            ok = False
    if not ok:
        return None
    try:
        return options_type(**values)
    except ValueError as error:  # the schema's own checks (__post_init__): "option: what is wrong"
        key, _, message = str(error).partition(": ")
        if key in fields and message:
            report((*path, key), message)
        else:
            report(path, str(error))
        return None


class _Mismatch(ValueError):
    pass


def _marked_secret(item: dataclasses.Field[Any], value: Any) -> Any:
    """A string value as a `Secret` when its field is declared secret or it holds URL credentials."""
    if not isinstance(value, str) or not value:
        return value
    if item.metadata.get("secret"):
        return Secret(value)
    parts = [*(value.parts if isinstance(value, Secret) else ()), *url_secrets(value)]
    return Secret(value, parts) if parts else value


def _shell_text(value: Any) -> Any:
    """A shell command as written (each one, in a list or mapping of them): its `${VAR}` references
    are the shell's to expand, as data."""
    if isinstance(value, dict):
        return {key: _shell_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shell_text(item) for item in value]
    template = getattr(value, "template", None)
    if template is None:
        return value
    if _single_quoted_reference(template):
        raise _Mismatch('inside single quotes the shell does not expand ${VAR}: use double quotes ("${VAR}")')
    parts = value.parts if isinstance(value, Secret) else ()
    return Secret(template, parts) if parts else template


def _single_quoted_reference(command: str) -> bool:
    """Whether a `${` sits inside single quotes (where sh leaves it as text)."""
    quote, index = "", 0
    while index < len(command):
        char = command[index]
        if quote == "'":
            if char == "'":
                quote = ""
            elif command.startswith("${", index):
                return True
        elif char == "\\":
            index += 1  # the next character is escaped
        elif char == '"' or (char == "'" and not quote):
            quote = "" if quote == char else char
        index += 1
    return False


def _check_bounds(item: dataclasses.Field[Any], value: Any) -> None:
    """The field's `min`, `max`, `above` and `schemes` metadata, checked on one value or each of a list."""
    for one in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(one, (int, float)) and not isinstance(one, bool):
            low, high, above = (item.metadata.get(key) for key in ("min", "max", "above"))
            shown = f"{one:g}" if isinstance(one, float) else str(one)
            if above is not None and not one > above:
                raise _Mismatch(f"must be more than {above:g}, got {shown}")
            if low is not None and one < low:
                raise _Mismatch(f"must be at least {low:g}, got {shown}")
            if high is not None and one > high:
                raise _Mismatch(f"must be at most {high:g}, got {shown}")
        schemes = item.metadata.get("schemes")
        if schemes and isinstance(one, str):
            scheme = one.partition("://")[0].lower() if "://" in one else ""
            if scheme not in schemes:
                written = f"{scheme}://" if scheme else "no scheme"
                raise _Mismatch(f"expected a {' or '.join(f'{s}://' for s in schemes)} URL, got {written}")


def convert(hint: Any, value: Any, base: Path) -> Any:
    """`value` converted to `hint`; raises `_Mismatch` naming the expected type."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(arg, value, base)
            except _Mismatch:
                continue
        raise _Mismatch(f"expected {type_name(hint)}, got {_describe(value)}")
    if origin is Literal:
        same_kind = not isinstance(value, bool) or any(isinstance(arg, bool) for arg in args)
        if same_kind and value in args:
            return value
        raise _Mismatch(f"expected one of {', '.join(repr(a) for a in args)}, got {_describe(value)}")
    if origin is list:
        if not isinstance(value, list):
            raise _Mismatch(f"expected a list, got {_describe(value)}")
        return [_item(args[0], item, base, f"[{index}]") for index, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _Mismatch(f"expected a mapping, got {_describe(value)}")
        return {key: _item(args[1], item, base, f".{key}") for key, item in value.items()}
    return _plain(hint, value, base)


def _item(hint: Any, value: Any, base: Path, where: str) -> Any:
    try:
        return convert(hint, value, base)
    except _Mismatch as error:
        raise _Mismatch(f"{where}: {error}") from None


def _record(hint: Any, value: Any, base: Path) -> Any:
    """A mapping as a nested options dataclass (e.g. one CAN filter), every key checked."""
    if not isinstance(value, dict):
        raise _Mismatch(
            f"expected a mapping ({', '.join(f.name for f in dataclasses.fields(hint))}), got {_describe(value)}"
        )
    hints = typing.get_type_hints(hint)
    known = {f.name: f for f in dataclasses.fields(hint)}
    unknown = [key for key in value if key not in known]
    if unknown:
        raise _Mismatch(f"unknown key {unknown[0]!r} (known: {', '.join(known)})")
    missing = [
        name
        for name, f in known.items()
        if name not in value and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise _Mismatch(f"missing key {missing[0]!r}")
    try:
        return hint(**{key: _item(hints[key], item, base, f".{key}") for key, item in value.items()})
    except ValueError as error:  # the record's own checks
        raise _Mismatch(str(error)) from None


def _plain(hint: Any, value: Any, base: Path) -> Any:
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return _record(hint, value, base)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (Expanded, Secret)) and value.lower() in (
            "true",
            "false",
            "1",
            "0",
            "yes",
            "no",
            "on",
            "off",
        ):
            return value.lower() in ("true", "1", "yes", "on")
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, (Expanded, Secret)):
            try:
                return int(value, 0)
            except ValueError:
                pass
    elif hint is float:
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if isinstance(value, (Expanded, Secret)):
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is not None:
            if not math.isfinite(number):
                raise _Mismatch(f"expected a finite number, got {value!r}")
            return float(number)
    elif hint is str:
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return str(value)
    elif hint is Path:
        if isinstance(value, str) and value:
            path = Path(value).expanduser()
            return path if path.is_absolute() else base / path
    else:  # a schema author's mistake, not a user's
        raise TypeError(f"option type {hint!r} is not supported by lab schemas")
    raise _Mismatch(f"expected {type_name(hint)}, got {_describe(value)}")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", Secret: "string", Expanded: "string"}
    name = kind.get(type(value))
    if name is None:
        return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__
    return f"{name} {shown(value)!r}"


def type_name(hint: Any) -> str:
    """A type as users read it in errors and `hil drivers -v`."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        names = [type_name(arg) for arg in args if arg is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"mapping of {type_name(args[1])}"
    if dataclasses.is_dataclass(hint):
        return f"mapping ({', '.join(f.name for f in dataclasses.fields(hint))})"
    plain: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
    return plain.get(hint) or str(getattr(hint, "__name__", hint))
