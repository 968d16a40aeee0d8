"""GitLab CI YAML as GitLab reads it: `!reference` tags, and the line of every key.

GitLab's YAML loader accepts one custom tag, `!reference [job, key, ...]`, resolved once
every include is merged (lib/gitlab/ci/config/yaml/tags/reference.rb). A plain YAML
loader rejects it; this one keeps it as a Reference to resolve later. Every key path
(("build", "script", 0) and so on) gets the line it was written on, so a problem found in
the merged view names the file and line a person has to edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeyard_kit.errors import ValidationError

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Reference:
    """`!reference [.job, key, ...]`: the value at that path of the merged configuration."""

    path: tuple[str, ...]
    file: str
    line: int

    def __repr__(self) -> str:
        return f"!reference [{', '.join(self.path)}]"


class _Loader(yaml.SafeLoader):
    source = "?"


def _reference(loader: _Loader, node: yaml.Node) -> Reference:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.SequenceNode):
        raise ValidationError(f"{loader.source}:{line}: !reference takes a list, e.g. !reference [.setup, script]",
                              fix="write the job and the keys as a list")
    items = loader.construct_sequence(node, deep=True)
    if not items or not all(isinstance(i, str) for i in items):
        raise ValidationError(f"{loader.source}:{line}: !reference {items!r} must name a job and keys",
                              fix="e.g. !reference [.setup, script]")
    return Reference(tuple(items), loader.source, line)


_Loader.add_constructor("!reference", _reference)


def _lines(node: yaml.Node | None, path: KeyPath, out: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else repr(key)
            out[path + (k,)] = key.start_mark.line + 1
            _lines(value, path + (k,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _lines(item, path + (i,), out)


@dataclass
class Document:
    data: Any
    lines: dict[KeyPath, int]
    start: int


def load_documents(path: Path, shown: str | None = None) -> list[Document]:
    """Every document of a file with the line of each key; errors name the file and line."""
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{shown}: no such file", fix="check the path") from None
    loader_cls = type("Loader", (_Loader,), {"source": shown})
    try:
        nodes = list(yaml.compose_all(text, Loader=loader_cls))
        docs = []
        for node in nodes:
            if node is None:
                continue
            loader = loader_cls("")
            data = loader.construct_document(node)
            lines: dict[KeyPath, int] = {}
            _lines(node, (), lines)
            docs.append(Document(data, lines, node.start_mark.line + 1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ValidationError(f"{shown}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})",
                              fix="fix the syntax at that line") from None
    return docs or [Document({}, {}, 1)]
