"""Change a few scalars of a YAML file in place, leaving every other byte as it was.

People comment and order their values files by hand; a YAML round trip would drop the comments and
reflow the file, and every bump would show up as a rewrite in the config repository's history. So
PyYAML's parser locates each node (its exact start and end in the text), the new values are spliced
in, and the result is parsed again to prove that only the intended keys changed.

What cannot be edited that way is refused with the line to change, never guessed at: a value behind
an anchor (&x) or an alias (*x) or a merge key (<<), a block scalar (| or >), a mapping written on
one line that would need a new key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from pipeyard_kit import yamlio
from pipeyard_kit.errors import ConfigError

Path_ = tuple[str | int, ...]


@dataclass
class Node:
    kind: str  # scalar | alias | mapping | sequence
    start: int
    end: int
    line: int  # 0-based, of the node's first character
    column: int
    last_line: int  # 0-based, the last line holding any of the node's text
    anchor: str | None = None
    style: str | None = None
    flow: bool = False
    alias_of: str | None = None
    key_start: int = -1  # for a mapping value: where its key starts
    key_line: int = -1
    key_column: int = -1
    children: list[Path_] = field(default_factory=list)


def dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def _end_line(event: Any) -> int:
    # A block scalar ends at column 0 of the line after its text.
    mark = event.end_mark
    return mark.line - 1 if mark.column == 0 and mark.line > event.start_mark.line else mark.line


class Document:
    """The first document of a YAML text, indexed by path: ("image", "tag"), ("spec", "list", 0)."""

    def __init__(self, text: str, *, where: str):
        self.text = text
        self.where = where
        self.data = yamlio.load(text, where, loader=yaml.SafeLoader, error=ConfigError)
        try:
            events = list(yaml.parse(text, Loader=yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{where} is not valid YAML{at} ({problem})",
                              fix="fix the file in the config repository") from None
        self.nodes: dict[Path_, Node] = {}
        self._events = events
        if len(events) > 3 and isinstance(events[2], yaml.NodeEvent):
            self._walk(2, ())

    # --- indexing ------------------------------------------------------------------------------------
    def _walk(self, i: int, path: Path_) -> int:
        ev = self._events[i]
        if isinstance(ev, yaml.AliasEvent):
            self.nodes[path] = Node("alias", ev.start_mark.index, ev.end_mark.index, ev.start_mark.line,
                                    ev.start_mark.column, ev.end_mark.line, alias_of=ev.anchor)
            return i + 1
        if isinstance(ev, yaml.ScalarEvent):
            self.nodes[path] = Node("scalar", ev.start_mark.index, ev.end_mark.index, ev.start_mark.line,
                                    ev.start_mark.column, _end_line(ev), anchor=ev.anchor, style=ev.style)
            return i + 1
        kind = "mapping" if isinstance(ev, yaml.MappingStartEvent) else "sequence"
        node = Node(kind, ev.start_mark.index, ev.end_mark.index, ev.start_mark.line, ev.start_mark.column,
                    ev.start_mark.line, anchor=ev.anchor, flow=bool(ev.flow_style))
        self.nodes[path] = node
        j = i + 1
        index = 0
        while not isinstance(self._events[j], (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            if kind == "mapping":
                key = self._events[j]
                if isinstance(key, yaml.ScalarEvent):
                    child: Path_ = (*path, key.value)
                    j = self._walk(j + 1, child)
                    self.nodes[child].key_start = key.start_mark.index
                    self.nodes[child].key_line = key.start_mark.line
                    self.nodes[child].key_column = key.start_mark.column
                else:  # a complex key: never one pipeyard edits; skip key and value
                    j = self._walk(self._walk(j, (*path, "?key")), (*path, "?value"))
                    continue
            else:
                child = (*path, index)
                j = self._walk(j, child)
                index += 1
            node.children.append(child)
            node.last_line = max(node.last_line, self._last_line(child))
        node.end = self._events[j].end_mark.index
        return j + 1

    def _last_line(self, path: Path_) -> int:
        return self.nodes[path].last_line

    # --- reading -----------------------------------------------------------------------------------
    def get(self, path: Path_) -> Any:
        value = self.data
        for part in path:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and part < len(value):
                value = value[part]
            else:
                return None
        return value

    def has(self, path: Path_) -> bool:
        return path in self.nodes

    def line_of(self, path: Path_) -> int:
        node = self.nodes[path]
        return (node.key_line if node.key_line >= 0 else node.line) + 1

    def _refuse(self, path: Path_, what: str, fix: str) -> ConfigError:
        return ConfigError(f"{self.where} line {self.line_of(path)}: {dotted(path)} {what}, which gitops-bump cannot "
                           "change without changing other keys too", fix=fix)

    def check_plain_path(self, path: Path_) -> None:
        """Refuse anchors, aliases and merge keys on the way to `path` (the value itself included)."""
        for depth in range(1, len(path) + 1):
            sub = path[:depth]
            node = self.nodes.get(sub)
            if node is None:
                parent = self.nodes.get(sub[:-1])
                if parent is not None and (*sub[:-1], "<<") in self.nodes:
                    merge = (*sub[:-1], "<<")
                    raise ConfigError(f"{self.where} line {self.line_of(merge)}: {dotted(sub[:-1])} takes its keys "
                                      "from a YAML merge key (<<), which gitops-bump cannot edit in place",
                                      fix=f"write {dotted(sub[:-1])} out in full, without << and aliases")
                return
            if node.kind == "alias":
                raise self._refuse(sub, f"is the alias *{node.alias_of}",
                                   fix=f"write {dotted(sub)} out where it is used, instead of *{node.alias_of}")
            if node.anchor:
                raise self._refuse(sub, f"carries the anchor &{node.anchor} that other keys refer to",
                                   fix=f"remove &{node.anchor} and write its value out wherever *{node.anchor} "
                                       "is used")


def scalar_text(value: Any) -> str:
    """A value as one YAML scalar: strings double-quoted (JSON strings are YAML), so 1.10 stays a string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


@dataclass
class _Splice:
    start: int
    end: int
    text: str
    order: int


class Editor:
    """Collects changes against one Document, then applies them all and proves what changed."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.splices: list[_Splice] = []
        self.expected = _copy(doc.data)

    def _expect(self, path: Path_, value: Any) -> None:
        target = self.expected
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    def set(self, path: Path_, value: Any, *, after: Path_ | None = None, before: Path_ | None = None) -> None:
        """Set a scalar: in place when the key exists, else as a new key next to a sibling."""
        doc = self.doc
        doc.check_plain_path(path)
        node = doc.nodes.get(path)
        if node is not None:
            if node.kind != "scalar":
                raise doc._refuse(path, f"is a {node.kind}, not a single value",
                                  fix=f"write {dotted(path)} as one value, e.g. {path[-1]}: {scalar_text(value)}")
            if node.style in ("|", ">"):
                raise doc._refuse(path, f"is a block scalar ({node.style})",
                                  fix=f"write it on one line, e.g. {path[-1]}: {scalar_text(value)}")
            if node.last_line != node.line:
                raise doc._refuse(path, "runs over several lines",
                                  fix=f"write it on one line, e.g. {path[-1]}: {scalar_text(value)}")
            self.splices.append(_Splice(node.start, node.end, scalar_text(value), len(self.splices)))
        else:
            self._insert(path, [f"{path[-1]}: {scalar_text(value)}"], after=after, before=before)
        self._expect(path, value)

    def add_block(self, path: Path_, lines: list[str], value: Any, *, before: Path_) -> None:
        """Insert a new key holding a block (`lines` relative to the key's indentation) before a sibling."""
        self.doc.check_plain_path(before)
        self._insert(path, lines, before=before)
        self._expect(path, value)

    def _insert(self, path: Path_, lines: list[str], *, after: Path_ | None = None,
                before: Path_ | None = None) -> None:
        doc = self.doc
        parent = doc.nodes.get(path[:-1])
        if parent is None or parent.kind != "mapping":
            raise ConfigError(f"{doc.where} has no {dotted(path[:-1])} mapping to add {path[-1]} to",
                              fix=f"add {dotted(path[:-1])}: as a block of keys")
        sibling = before or after or (parent.children[-1] if parent.children else None)
        if parent.flow or sibling is None or doc.nodes[sibling].key_line < 0:
            raise ConfigError(f"{doc.where} line {doc.line_of(path[:-1]) if path[:-1] else 1}: "
                              f"{dotted(path[:-1])} is written on one line, so {path[-1]} cannot be added to it",
                              fix=f"write {dotted(path[:-1])}: as a block, one key per line, "
                                  "as `pipeyard chart init` does")
        node = doc.nodes[sibling]
        indent = " " * node.key_column
        newline = "\r\n" if "\r\n" in doc.text else "\n"
        block = "".join(f"{indent}{line}{newline}" for line in lines)
        if before is not None:
            at = _line_start(doc.text, node.key_line)
            if doc.text[at:node.key_start].strip():
                raise ConfigError(f"{doc.where} line {node.key_line + 1}: {dotted(before)} does not start its line, "
                                  f"so {path[-1]} cannot be added before it",
                                  fix=f"write {dotted(path[:-1])}: as a block, one key per line")
        else:
            at = _line_start(doc.text, node.last_line + 1)
            if at == len(doc.text) and doc.text and not doc.text.endswith("\n"):
                block = newline + block
        self.splices.append(_Splice(at, at, block, len(self.splices)))

    def apply(self) -> str:
        text = self.doc.text
        for splice in sorted(self.splices, key=lambda s: (s.start, s.order), reverse=True):
            text = text[:splice.start] + splice.text + text[splice.end:]
        try:
            after = yamlio.load(text, self.doc.where, loader=yaml.SafeLoader, error=ConfigError)
        except ConfigError:
            after = None
        if after != self.expected:
            raise ConfigError(f"{self.doc.where}: the edit would change more than the keys gitops-bump owns",
                              fix="write the image: block plainly (one key per line, no anchors, aliases or "
                                  "multi-line values), as `pipeyard chart init` does")
        return text


def _line_start(text: str, line: int) -> int:
    """The index where 0-based `line` starts (len(text) past the last line)."""
    at = 0
    for _ in range(line):
        found = text.find("\n", at)
        if found < 0:
            return len(text)
        at = found + 1
    return at


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
