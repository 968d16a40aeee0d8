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

from pipeyard_kit import yamlio
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
    """Every document of a file with the line of each key; errors name the file and line.

    Each document is measured before it is built (pipeyard_kit.yamlio): an alias bomb, a nesting
    deeper than GitLab's limit or an alias inside its own anchor is one error, as GitLab refuses them.
    """
    shown = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{shown}: no such file", fix="check the path") from None
    except IsADirectoryError:
        raise ValidationError(f"{shown}: is a folder, not a pipeline file", fix="include a file") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{shown}: not UTF-8 text (byte {exc.start})",
                              fix="save the file as UTF-8, as GitLab reads it") from None
    except OSError as exc:
        raise ValidationError(f"{shown}: cannot be read ({exc.strerror})", fix="check its permissions") from None
    loader_cls = type("Loader", (_Loader,), {"source": shown})
    docs = []
    for node, data in yamlio.documents(text, shown, loader=loader_cls, error=ValidationError, column=False):
        if node is None:
            continue
        lines: dict[KeyPath, int] = {}
        _lines(node, (), lines)
        docs.append(Document(data, lines, node.start_mark.line + 1))
    return docs or [Document({}, {}, 1)]
