"""Read YAML into plain values while keeping each value's line, catching what PyYAML lets pass.

PyYAML keeps the last of two equal keys without a word; we compose the node tree ourselves so that
duplicates, recursive aliases and alias bombs become located errors, and so every value keeps its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from pytest_hil.errors import LabIssue
from pytest_hil.lab.environment import BadReference, expand

#: Where a value sits in the document: keys and list indexes from the root.
KeyPath = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_MAX_NODES = 1_000_000
#: The tags PyYAML's safe loader resolves plain YAML to; any other (`!custom`, `!!python/...`) is refused.
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary", "set", "omap", "pairs")
)


def _tag(node: yaml.Node) -> str:
    return node.tag.replace("tag:yaml.org,2002:", "!!")


class Unset:
    """Stands for a value whose environment reference failed (already reported)."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET = Unset()


@dataclass
class Document:
    """A YAML document as plain values, with the line (1-based) and source text of every value."""

    file: str
    value: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    texts: dict[KeyPath, str] = field(default_factory=dict)
    issues: list[LabIssue] = field(default_factory=list)

    def line(self, path: KeyPath) -> int:
        """The line of `path`, or of its nearest located ancestor."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def report(self, path: KeyPath, message: str, line: int | None = None) -> None:
        self.issues.append(LabIssue(self.file, line or self.line(path), dotted(path), message))


def dotted(path: KeyPath) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in path).replace(".[", "[")


def read_document(text: str, file: str, environ: Mapping[str, str]) -> Document:
    """Parse one YAML document; syntax errors, duplicates and bad references land in `issues`."""
    document = Document(file, None)
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as error:
        document.report((), f"not valid YAML: {error.reason}", text[: error.position].count("\n") + 1)
        return document
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problem = error.problem or str(error)
        context = f" ({error.context})" if error.context else ""
        document.report((), f"not valid YAML: {problem}{context}", line)
        return document
    except yaml.reader.ReaderError as error:
        document.report((), f"not valid YAML: {error.reason}", text[: error.position].count("\n") + 1)
        return document
    except RecursionError:
        document.report((), "not valid YAML: nested too deeply", 1)
        return document
    finally:
        loader.dispose()
    if node is None:
        return document
    builder = _Builder(document, loader, environ)
    try:
        document.value = builder.build(node, (), frozenset())
    except RecursionError:
        document.value = None
        document.report((), "nested too deeply", 1)
    if builder.too_large:  # what was built is cut short: checking it would only report the cut
        document.value = None
    return document


class _Builder:
    def __init__(self, document: Document, loader: yaml.SafeLoader, environ: Mapping[str, str]) -> None:
        self.document = document
        self.loader = loader
        self.environ = environ
        self.count = 0
        self.too_large = False

    def build(self, node: yaml.Node, path: KeyPath, active: frozenset[int]) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            if not self.too_large:
                self.too_large = True
                self.document.report(path, f"document too large: over {_MAX_NODES} values once aliases are expanded")
            return None
        self.document.lines.setdefault(path, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            self.document.report(path, f"the tag {_tag(node)} is not allowed: a lab file holds plain values")
            return None
        if id(node) in active:
            self.document.report(path, "recursive alias: a node contains itself")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, active | {id(node)})
        if isinstance(node, yaml.SequenceNode):
            inner = active | {id(node)}
            return [self.build(item, (*path, index), inner) for index, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        self.document.texts[path] = str(node.value)
        if node.tag.startswith("!") or node.tag not in _PLAIN_TAGS:
            self.document.report(path, f"the tag {_tag(node)} is not allowed: a lab file holds plain values")
            return UNSET
        try:
            value = self.loader.construct_object(node, deep=True)
        except Exception as error:  # PyYAML raises ValueError and friends for values such as `!!int x`
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            self.document.report(path, f"cannot read value {node.value!r}: {problem}")
            return UNSET
        if node.tag == _STR_TAG and isinstance(value, str):
            try:
                return expand(value, self.environ)
            except BadReference as error:
                self.document.report(path, str(error))
                return UNSET
        return value

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, active: frozenset[int]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.update(self._merge(value_node, path, active))
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                self.document.report((*path, key), f"duplicate key (first defined on line {seen[key]})", line)
                continue
            seen[key] = line
            key_path = (*path, key)
            self.document.lines[key_path] = line
            result[key] = self.build(value_node, key_path, active)
        return {**merged, **result}

    def _merge(self, node: yaml.Node, path: KeyPath, active: frozenset[int]) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            value = self.build(source, path, active) if isinstance(source, yaml.MappingNode) else None
            if not isinstance(value, dict):
                self.document.report(path, "'<<' merges mappings only", source.start_mark.line + 1)
                continue
            merged.update(value)
        return merged

    def _key(self, node: yaml.Node, path: KeyPath) -> str | None:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode):
            self.document.report(path, "a key must be a plain string, not a list or mapping", line)
            return None
        if not isinstance(node.value, str) or node.value == "":
            self.document.report(path, "empty key", line)
            return None
        return str(node.value)
