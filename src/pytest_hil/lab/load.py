"""Load and check a lab file; every mistake becomes a `FILE:LINE: key.path: message` line."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_hil.errors import DriverLoadError, LabError, LabIssue, SelectorError
from pytest_hil.interfaces import INTERFACES
from pytest_hil.lab.model import BoardSpec, Lab, LeaseSettings, RemoteSettings, ResourceSpec, ShellSpec
from pytest_hil.lab.schema import build_options
from pytest_hil.lab.selector import Selector, parse_selector
from pytest_hil.lab.source import Document, KeyPath, Unset, dotted, read_document
from pytest_hil.power_chain import PowerChain, PowerChainOptions
from pytest_hil.registry import DriverRegistry, default_registry
from pytest_hil.secrets import MIN_LENGTH, Secret, register

SUPPORTED_VERSIONS = (1,)
TOP_LEVEL_KEYS = ("version", "name", "leases", "remote", "selectors", "boards")
BOARD_KEYS = ("labels", "host", "resources", "shell")
#: Fixture names the plugin defines itself; a resource cannot take them.
RESERVED_NAMES = frozenset({"board", "boards", "hil_lab", "hil_artifacts", "shell", "request"})

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BOARD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def load_lab(
    path: str | os.PathLike[str],
    registry: DriverRegistry | None = None,
    environ: Mapping[str, str] | None = None,
) -> Lab:
    """Read, check and return the lab at `path`; raise `LabError` listing every mistake."""
    file = os.fspath(path)
    try:
        data = _read_regular_file(Path(file))
    except FileNotFoundError:
        raise LabError([LabIssue(file, 0, "", "lab file not found")]) from None
    except _NotALabFile as problem:
        raise LabError([LabIssue(file, 0, "", str(problem))]) from None
    except OSError as error:
        raise LabError([LabIssue(file, 0, "", f"cannot read the lab file: {error.strerror or error}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LabError([LabIssue(file, 0, "", f"not UTF-8 text ({error.reason} at byte {error.start})")]) from None
    lab = parse_lab(text, file, Path(file).resolve().parent, registry, environ)
    return _with_identity(lab, Path(file).resolve(), hashlib.sha256(data).hexdigest())


#: The largest lab file read (a lab of thousands of boards is well below it).
MAX_LAB_BYTES = 16 * 2**20


class _NotALabFile(Exception):
    pass


def _read_regular_file(path: Path) -> bytes:
    """The bytes of `path` if it is a regular file of at most MAX_LAB_BYTES (never blocking on a FIFO)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise _NotALabFile(f"not a regular file ({kind}): a lab file is a YAML text file")
    with os.fdopen(descriptor, "rb") as file:
        data = file.read(MAX_LAB_BYTES + 1)
    if len(data) > MAX_LAB_BYTES:
        raise _NotALabFile(f"larger than {MAX_LAB_BYTES // 2**20} MiB: not a lab file")
    return data


def parse_lab(
    text: str,
    file: str,
    base: Path,
    registry: DriverRegistry | None = None,
    environ: Mapping[str, str] | None = None,
) -> Lab:
    """Check lab-file text; relative paths resolve against `base`."""
    document = read_document(text, file, os.environ if environ is None else environ)
    checker = _Checker(document, base, registry or default_registry())
    lab = checker.check()
    if document.issues or lab is None:
        issues = sorted(dict.fromkeys(document.issues), key=lambda issue: issue.line)
        raise LabError(issues)
    register(*lab.secrets)
    return lab


def _with_identity(lab: Lab, path: Path, sha256: str) -> Lab:
    return dataclasses.replace(lab, path=path, sha256=sha256)


class _Checker:
    def __init__(self, document: Document, base: Path, registry: DriverRegistry) -> None:
        self.document = document
        self.base = base
        self.registry = registry
        self.report = document.report

    def check(self) -> Lab | None:
        root = self.document.value
        if self.document.issues and root is None:
            return None
        if root is None:
            self.report((), "the lab file is empty; it needs at least 'version: 1' and 'boards:'", line=1)
            return None
        if not isinstance(root, dict):
            self.report((), f"a lab file is a mapping with 'version' and 'boards', not {_kind(root)}")
            return None
        for key in root:
            if key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
                self.report((key,), f"unknown top-level key (known: {', '.join(TOP_LEVEL_KEYS)}; 'x-' keys are free)")
        version = self._version(root)
        name = self._optional_string(root, ("name",))
        leases = self._leases(root.get("leases"))
        remote = self._remote(root.get("remote"))
        selectors = self._selectors(root.get("selectors"))
        boards = self._boards(root, selectors)
        if version is None or boards is None:
            return None
        secrets, warnings = self._secrets(boards, leases)
        if leases.url and leases.url.startswith("postgres") and not name:
            warnings += (
                LabIssue(
                    self.document.file,
                    self.document.line(("leases", "url")),
                    "leases.url",
                    "warning: a shared store tells labs apart by their 'name:'; without one, this lab's boards "
                    "are one with those of every other unnamed lab on the store",
                ),
            )
        return Lab(Path(), version, boards, name, leases, selectors, remote=remote, secrets=secrets, warnings=warnings)

    def _secrets(
        self, boards: Mapping[str, BoardSpec], leases: LeaseSettings
    ) -> tuple[frozenset[str], tuple[LabIssue, ...]]:
        """Every secret of the lab (see `pytest_hil.secrets`), and a warning per secret too short to search for."""
        found: dict[str, KeyPath] = {}
        _collect_secrets(leases, ("leases",), found)
        for name, board in boards.items():
            _collect_secrets(board.host, ("boards", name, "host"), found)
            _collect_secrets(board.shell, ("boards", name, "shell"), found)
            for resource, spec in board.resources.items():
                _collect_secrets(spec.options, ("boards", name, "resources", resource), found)
        warnings = tuple(
            LabIssue(
                self.document.file,
                self.document.line(path),
                dotted(path),
                f"warning: a secret of {len(value)} character(s) is masked where shown as a value, but too short "
                f"to be searched for in console output and messages (use at least {MIN_LENGTH})",
            )
            for value, path in found.items()
            if len(value) < MIN_LENGTH
        )
        return frozenset(found), warnings

    def _version(self, root: dict[str, Any]) -> int | None:
        if "version" not in root:
            self.report((), f"missing 'version' (this pytest-hil reads version {SUPPORTED_VERSIONS[-1]})")
            return None
        version = root["version"]
        if isinstance(version, Unset):
            return None
        if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
            supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
            self.report(("version",), f"unsupported version {version!r} (this pytest-hil reads version {supported})")
            return None
        return int(version)

    def _optional_string(self, parent: dict[str, Any], path: KeyPath) -> str | None:
        value = parent.get(str(path[-1]))
        if value is None or isinstance(value, Unset):
            return None
        if not isinstance(value, str):
            self.report(path, f"expected a string, got {_kind(value)}")
            return None
        return value

    def _mapping(self, value: Any, path: KeyPath, what: str) -> dict[str, Any] | None:
        if value is None or isinstance(value, Unset):
            return None
        if not isinstance(value, dict):
            self.report(path, f"{what} must be a mapping, got {_kind(value)}")
            return None
        return value

    def _leases(self, value: Any) -> LeaseSettings:
        raw = self._mapping(value, ("leases",), "leases")
        if raw is None:
            return LeaseSettings()
        settings = build_options(LeaseSettings, raw, ("leases",), self.base, self.report, what="key")
        return settings or LeaseSettings()

    def _remote(self, value: Any) -> RemoteSettings:
        raw = self._mapping(value, ("remote",), "remote")
        if raw is None:
            return RemoteSettings()
        settings = build_options(RemoteSettings, raw, ("remote",), self.base, self.report, what="key")
        if settings is not None and settings.chdir is not None and not settings.chdir.startswith("/"):
            self.report(("remote", "chdir"), f"{settings.chdir!r} must be an absolute path on the lab hosts")
        return settings or RemoteSettings()

    def _selectors(self, value: Any) -> dict[str, Selector]:
        raw = self._mapping(value, ("selectors",), "selectors")
        named: dict[str, Selector] = {}
        for name, text in (raw or {}).items():
            if isinstance(text, Unset):
                continue
            try:
                named[name] = parse_selector(text, named)
            except SelectorError as error:
                self.report(("selectors", name), str(error))
        return named

    def _boards(self, root: dict[str, Any], selectors: Mapping[str, Selector]) -> dict[str, BoardSpec] | None:
        if "boards" not in root:
            self.report((), "missing 'boards': a lab declares at least one board")
            return None
        raw = self._mapping(root["boards"], ("boards",), "boards")
        if not raw:
            if raw is not None or root["boards"] is None:
                self.report(("boards",), "no boards declared")
            return None
        boards = {}
        for name, body in raw.items():
            board = self._board(name, body)
            if board is not None:
                boards[name] = board
        return boards

    def _board(self, name: str, body: Any) -> BoardSpec | None:
        path: KeyPath = ("boards", name)
        if not _BOARD_NAME.match(name):
            self.report(path, "board names use letters, digits, '_', '.' and '-' (they appear in test ids)")
        if body is None:
            self.report(path, "board has no resources")
            return None
        if not isinstance(body, dict):
            self.report(path, f"a board is a mapping with 'labels' and 'resources', not {_kind(body)}")
            return None
        for key in body:
            if key not in BOARD_KEYS:
                self.report((*path, key), f"unknown board key (known: {', '.join(BOARD_KEYS)})")
        labels = self._labels(body.get("labels"), (*path, "labels"))
        host = self._optional_string(body, (*path, "host"))
        resources = self._resources(body.get("resources"), (*path, "resources"))
        shell = self._shell(body.get("shell"), (*path, "shell"), resources)
        if not resources:
            return None
        return BoardSpec(name, labels, resources, host, shell, self.document.line(path))

    def _labels(self, value: Any, path: KeyPath) -> dict[str, str]:
        raw = self._mapping(value, path, "labels")
        labels = {}
        for key, item in (raw or {}).items():
            if isinstance(item, Unset):
                continue
            if isinstance(item, (dict, list)) or item is None:
                self.report((*path, key), f"a label value is a single word, not {_kind(item)}")
                continue
            if isinstance(item, Secret):
                self.report((*path, key), "labels are shown in every report: a label cannot hold a secret")
                continue
            # the text as written, so `hdmi: yes` stays "yes" rather than YAML's True
            labels[key] = item if isinstance(item, str) else self.document.texts.get((*path, key), str(item))
        return labels

    def _resources(self, value: Any, path: KeyPath) -> dict[str, ResourceSpec]:
        if value is None or value == {}:
            self.report(path[:-1], "board has no resources")
            return {}
        raw = self._mapping(value, path, "resources")
        resources = {}
        for name, body in (raw or {}).items():
            resource = self._resource(name, body, (*path, name))
            if resource is not None:
                resources[name] = resource
        self._references(resources, path)
        return resources

    def _references(self, resources: dict[str, ResourceSpec], path: KeyPath) -> None:
        """Options naming another resource of the board (`{driver: uboot, console: vm}`): it exists,
        offers the interface (or is of the kind) the option needs, and no chain of references comes back
        to where it began."""
        edges: dict[str, list[str]] = {}
        for spec in resources.values():
            if not dataclasses.is_dataclass(spec.options):
                continue
            for item in dataclasses.fields(spec.options):
                wanted = item.metadata.get("resource")
                target = getattr(spec.options, item.name)
                if wanted is None or target is None:
                    continue
                where = (*path, spec.name, item.name)
                other = resources.get(str(target))
                if other is None:
                    known = ", ".join(name for name in resources if name != spec.name) or "none"
                    self.report(where, f"no resource called {target!r} on this board (it has: {known})")
                elif isinstance(wanted, str) and wanted not in other.interfaces and wanted != other.kind:
                    offers = ", ".join(other.interfaces) or "none"
                    self.report(where, f"{target!r} is a {other.kind} resource ({offers}), not a {wanted}")
                else:
                    edges.setdefault(spec.name, []).append(str(target))
        for start in edges:
            cycle = _cycle_from(start, edges)
            if cycle is not None and cycle[0] == min(cycle[:-1]):  # each circle said once
                self.report((*path, start), "resource references go round in a circle: " + " -> ".join(cycle))

    def _resource(self, name: str, body: Any, path: KeyPath) -> ResourceSpec | None:
        if isinstance(body, list):
            return self._power_chain(name, body, path)
        if not _IDENTIFIER.match(name):
            self.report(
                path, "resource names become fixture names: use letters, digits and '_', not starting with a digit"
            )
        elif name in RESERVED_NAMES:
            self.report(path, f"'{name}' is a fixture of pytest-hil itself; name the resource differently")
        if not isinstance(body, dict):
            self.report(path, f"a resource is a mapping with 'driver' and its options, not {_kind(body)}")
            return None
        options = dict(body)
        kind = options.pop("driver", None)
        if kind is None:
            self.report(path, "missing 'driver' (the driver kind that operates this resource)")
            return None
        if isinstance(kind, Unset):
            return None
        try:
            info = self.registry.get(kind) if isinstance(kind, str) else None
            known = "" if info is not None else ", ".join(self.registry.kinds()) or "none are installed"
        except DriverLoadError as error:
            self.report((*path, "driver"), str(error))
            return None
        if info is None:
            self.report((*path, "driver"), f"unknown driver kind {kind!r} (known kinds: {known})")
            return None
        if name in INTERFACES and name not in info.interfaces:
            offers = ", ".join(info.interfaces) or "none"
            self.report(path, f"a resource called '{name}' must be a {name} driver; {kind} offers {offers}")
        checked = build_options(info.cls.Options, options, path, self.base, self.report)
        if checked is None:
            return None
        return ResourceSpec(name, kind, info.cls, checked, options, info.interfaces, self.document.line(path))

    def _power_chain(self, name: str, body: list[Any], path: KeyPath) -> ResourceSpec | None:
        """A list of power switches, switched in order on and in reverse order off."""
        if not body:
            self.report(path, "an empty list of switches")
            return None
        parts = []
        for index, item in enumerate(body):
            part = self._resource(name, item, (*path, index))
            if part is None:
                continue
            if "power" not in part.interfaces:
                if name != "power":  # a resource called power got its own message already
                    self.report((*path, index), f"{part.kind} is not a power switch; a list is switches in order")
                continue
            parts.append(part)
        if len(parts) != len(body):
            return None
        raw = {"switches": [dict(part.raw_options, driver=part.kind) for part in parts]}
        options = PowerChainOptions(tuple(parts))
        return ResourceSpec(name, PowerChain.kind, PowerChain, options, raw, ("power",), self.document.line(path))

    def _shell(self, value: Any, path: KeyPath, resources: Mapping[str, ResourceSpec]) -> ShellSpec | None:
        raw = self._mapping(value, path, "shell")
        if raw is None:
            return None
        shell: ShellSpec | None = build_options(ShellSpec, raw, path, self.base, self.report, what="key")
        if shell is None:
            return None
        console = resources.get(shell.console)
        if resources and console is None:
            self.report((*path, "console"), f"no resource called '{shell.console}' on this board")
        elif console is not None and "console" not in console.interfaces:
            self.report((*path, "console"), f"resource '{shell.console}' ({console.kind}) is not a console")
        for key in ("prompt", "login_prompt", "password_prompt"):
            try:
                re.compile(getattr(shell, key))
            except re.error as error:
                self.report((*path, key), f"not a valid regular expression: {error}")
        for index, pattern in enumerate(shell.boot_failures):
            try:
                re.compile(pattern)
            except re.error as error:
                self.report((*path, "boot_failures", index), f"not a valid regular expression: {error}")
        return shell


def _collect_secrets(value: Any, path: KeyPath, found: dict[str, KeyPath]) -> None:
    """Record the secret parts inside an options record (nested records, lists and mappings too)."""
    if isinstance(value, Secret):
        for part in value.parts:
            found.setdefault(part, path)
    elif isinstance(value, ResourceSpec):
        _collect_secrets(value.options, path, found)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            _collect_secrets(getattr(value, item.name), (*path, item.name), found)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _collect_secrets(item, (*path, index), found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect_secrets(item, (*path, str(key)), found)


def _cycle_from(start: str, edges: dict[str, list[str]]) -> list[str] | None:
    """A chain of references from `start` back to it (`[a, b, a]`), if there is one."""
    trail = [start]

    def walk(node: str) -> list[str] | None:
        for following in edges.get(node, []):
            if following == start:
                return [*trail, start]
            if following not in trail:
                trail.append(following)
                found = walk(following)
                if found is not None:
                    return found
                trail.pop()
        return None

    return walk(start)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return f"a {type(value).__name__}"
