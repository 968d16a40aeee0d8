"""YAML in and out, with errors that name the file and line, and no alias bomb.

A YAML alias (*a) repeats the node its anchor (&a) names. PyYAML builds the repeat as a second
reference to the same object, so a "billion laughs" document (ten aliases of ten aliases of ... nine
levels deep) loads in a moment; it is the first walk over the data (a schema check, a merge, a
copy, a dump) that never ends, or a document whose alias refers to itself that recurses for ever.
Every document pipeyard reads from a person or a server (the site file, provider.yaml, a pipeline,
a shots file, a values file) is therefore measured as composed, aliases expanded, before it is
built: more than MAX_NODES nodes, deeper than MAX_DEPTH levels, or an alias inside its own anchor is
one clear error. GitLab bounds a pipeline the same way, by the expanded size and depth of the parsed
document (gitlab lib/gitlab/config/loader/yaml.rb: MAX_YAML_SIZE, MAX_YAML_DEPTH = 100, measured
by Gitlab::Utils::DeepSize), so a file pipeyard accepts is not one GitLab refuses for its size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from pipeyard_kit.errors import ModelError, PipeyardError

# A large pipeline (hundreds of jobs with rules, scripts and variables) is some ten thousand nodes.
MAX_NODES = 200_000
MAX_DEPTH = 100  # GitLab's MAX_YAML_DEPTH
# libyaml's parser where PyYAML has it (Debian's python3-yaml and the PyPI wheels do).
FAST_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ALIAS_FIX = "write the repeated values out, or use fewer aliases of aliases"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def expansion_problem(root: yaml.Node, *, max_nodes: int = MAX_NODES,
                      max_depth: int = MAX_DEPTH) -> tuple[str, yaml.Node] | None:
    """(why the document is refused, the node where it shows) or None, with every alias expanded.

    Each distinct node is visited once (a depth-first walk without recursion, its sizes memoised),
    so measuring a bomb costs as little as reading it.
    """
    memo: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            children = _children(node)
            size = 1 + sum(memo[id(c)][0] for c in children)
            depth = 1 + max((memo[id(c)][1] for c in children), default=0)
            on_path.discard(key)
            if size > max_nodes:
                return (f"it grows to more than {max_nodes:,} values once its aliases are expanded "
                        "(an alias bomb?)", node)
            if depth > max_depth:
                return f"it nests deeper than {max_depth} levels", node
            memo[key] = (size, depth)
            continue
        if key in memo:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                return "an alias refers to the value that holds it, which would repeat for ever", child
            if id(child) not in memo:
                stack.append((child, False))
    return None


def documents(text: str, where: str, *, loader: type = FAST_LOADER, error: type[PipeyardError] = ModelError,
              column: bool = True) -> Iterator[tuple[yaml.Node, Any]]:
    """(node, data) of each document of text, each one measured before it is built.

    Raises `error` naming where:line(:column) for invalid YAML, an alias bomb or a nesting too deep.
    """

    def _where(where: str, mark: Any) -> str:
        if mark is None:
            return where
        return f"{where}:{mark.line + 1}:{mark.column + 1}" if column else f"{where}:{mark.line + 1}"

    reader = loader(text)
    try:
        while True:
            try:
                if not reader.check_node():
                    return
                node = reader.get_node()
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
                raise error(f"{_where(where, mark)}: not valid YAML ({problem})",
                            fix="fix the syntax at that line") from None
            except RecursionError:
                raise error(f"{where}: not valid YAML (it nests deeper than Python can read)",
                            fix="flatten the nesting") from None
            found = expansion_problem(node)
            if found:
                raise error(f"{_where(where, found[1].start_mark)}: {found[0]}", fix=ALIAS_FIX)
            try:
                data = reader.construct_document(node)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                raise error(f"{_where(where, mark)}: not valid YAML ({getattr(exc, 'problem', None) or exc})",
                            fix="fix the value at that line") from None
            yield node, data
    finally:
        reader.dispose()


def load_all(text: str, where: str, *, loader: type = FAST_LOADER,
             error: type[PipeyardError] = ModelError) -> list[Any]:
    """Every document of text, built; see documents()."""
    return [data for _node, data in documents(text, where, loader=loader, error=error)]


def load(text: str, where: str, *, loader: type = FAST_LOADER, error: type[PipeyardError] = ModelError) -> Any:
    """The one document of text (None when it holds none); see documents()."""
    docs = load_all(text, where, loader=loader, error=error)
    if len(docs) > 1:
        raise error(f"{where}: holds {len(docs)} YAML documents, one was expected",
                    fix="remove the extra --- separators")
    return docs[0] if docs else None


def read_text(path: Path, *, what: str = "file", error: type[PipeyardError] = ModelError) -> str:
    """A file's text, or `error` saying why it cannot be read (missing, a folder, not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}", fix="check the path") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}", fix="point it at the file") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})", fix="save the file as UTF-8") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror})", fix="check the file's permissions") from None


def load_yaml(path: Path, *, what: str = "file") -> Any:
    return load(read_text(path, what=what), str(path))


class _Dumper(yaml.SafeDumper):
    """Block-style YAML with indented lists, the way GitLab's docs write it."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):  # noqa: ARG002
        return super().increase_indent(flow, False)


def _str_presenter(dumper: yaml.SafeDumper, data: str):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(data: Any, *, sort_keys: bool = True) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=sort_keys, default_flow_style=False, width=4096, allow_unicode=True)
