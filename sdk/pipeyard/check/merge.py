"""The merged view of a consumer pipeline, as GitLab builds it, offline.

Resolves `include:` (local files, and pipeyard's own component project by
component or by project/file), interpolates inputs and resolves `extends:`, so
the schema sees every job as GitLab would, hidden templates included.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeyard.check.interpolate import interpolate, resolve_inputs
from pipeyard_kit.errors import ValidationError

MAX_EXTENDS_DEPTH = 11  # GitLab's own limit


@dataclass(frozen=True)
class TemplateSource:
    """Where includes of pipeyard's component project are found offline."""

    root: Path               # the rendered pipeline-templates/ folder
    component_project: str   # host/group/project, as consumers write it

    @property
    def project_path(self) -> str:
        return self.component_project.split("/", 1)[1]

    def available(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "templates").glob("*.yml"))


@dataclass
class Merged:
    config: dict[str, Any]
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_documents(path: Path) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None] or [{}]
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file", fix="check the path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ValidationError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})",
                              fix="fix the syntax at that line") from None


def split_header(docs: list[Any], where: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    if len(docs) == 1:
        body = docs[0]
        header = None
    elif len(docs) == 2 and isinstance(docs[0], dict) and set(docs[0]) == {"spec"}:
        header, body = docs
    else:
        raise ValidationError(f"{where}: expected one document, or a spec: header, --- and a body",
                              fix="remove the extra --- separators")
    if not isinstance(body, dict):
        raise ValidationError(f"{where}: the pipeline must be a mapping of keywords and jobs")
    return header, body


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _normalise_includes(raw: Any) -> list[dict[str, Any]]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"remote": item} if item.startswith(("http://", "https://")) else {"local": item})
        elif isinstance(item, dict):
            out.append(item)
        else:
            raise ValidationError(f"include: {item!r} is not a file or a mapping")
    return out


class Merger:
    def __init__(self, project_dir: Path, source: TemplateSource):
        self.project_dir = project_dir
        self.source = source
        self.notes: list[str] = []
        self.sources: list[str] = []

    def load(self, path: Path, inputs: dict[str, Any] | None, where: str, depth: int = 0) -> dict[str, Any]:
        if depth > 100:
            raise ValidationError(f"{where}: includes nest too deeply", fix="remove the include cycle")
        header, body = split_header(load_documents(path), where)
        self.sources.append(where)
        if header is not None:
            values = resolve_inputs(header.get("spec") or {}, inputs, where)
            body = interpolate(body, values, where)
        elif inputs:
            raise ValidationError(f"{where}: takes no inputs (it has no spec:inputs header)",
                                  fix="remove inputs from this include")
        merged: dict[str, Any] = {}
        for inc in _normalise_includes(body.pop("include", [])):
            for sub_path, sub_inputs, sub_where in self._resolve(inc, where):
                merged = deep_merge(merged, self.load(sub_path, sub_inputs, sub_where, depth + 1))
        return deep_merge(merged, body)

    def _resolve(self, inc: dict[str, Any], where: str) -> list[tuple[Path, dict[str, Any] | None, str]]:
        inputs = inc.get("inputs")
        if "local" in inc:
            path = self.project_dir / str(inc["local"]).lstrip("/")
            if not path.is_file():
                raise ValidationError(f"{where}: include local '{inc['local']}' does not exist",
                                      fix="fix the path (relative to the project root)")
            return [(path, inputs, str(inc["local"]))]
        if "component" in inc:
            found = self._component(str(inc["component"]), inputs, where)
            return [found] if found else []
        if "project" in inc:
            if str(inc["project"]).strip("/") != self.source.project_path:
                self.notes.append(f"{where}: include of project {inc['project']} is not checked offline")
                return []
            files = inc.get("file")
            out = []
            for f in files if isinstance(files, list) else [files]:
                path = self.source.root / str(f).lstrip("/")
                if not path.is_file():
                    known = ", ".join(sorted(p.name for p in self.source.root.glob("*.gitlab-ci.yml")))
                    raise ValidationError(f"{where}: include of {inc['project']}:{f}, a template that doesn't exist",
                                          fix=f"use one of {known}")
                out.append((path, inputs, f"{inc['project']}:{f}"))
            return out
        kind = next(iter(inc), "?")
        self.notes.append(f"{where}: include {kind} is not checked offline")
        return []

    def _component(self, ref: str, inputs: dict[str, Any] | None, where: str) -> tuple[Path, Any, str] | None:
        if "@" not in ref:
            raise ValidationError(f"{where}: component {ref} has no version",
                                  fix="append @<version>, e.g. @1.0.0")
        location, _version = ref.rsplit("@", 1)
        project, _, name = location.rpartition("/")
        if project != self.source.component_project:
            self.notes.append(f"{where}: component {ref} is not pipeyard's and is not checked offline")
            return None
        path = self.source.root / "templates" / f"{name}.yml"
        if not path.is_file():
            known = ", ".join(self.source.available())
            guess = difflib.get_close_matches(name, self.source.available(), n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            raise ValidationError(f"{where}: include of component '{name}', a template that doesn't exist",
                                  fix=f"{hint}available components: {known}")
        return path, inputs, f"component {name}"


# Keys whose nested lists GitLab flattens, as `!reference` and array inputs produce them
# (lib/gitlab/ci/config/entry/rules.rb `[super].flatten`, and the script entries' nested arrays).
FLATTENED = ("rules", "script", "before_script", "after_script")


def _flat(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    out: list[Any] = []
    for item in items:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return out


def flatten_nested(config: dict[str, Any]) -> dict[str, Any]:
    """The config with nested rules and scripts flattened, as GitLab reads them."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            value = {k: _flat(v) if k in FLATTENED else v for k, v in value.items()}
        out[key] = value
    return out


def resolve_extends(config: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}

    def job(name: str, chain: tuple[str, ...]) -> dict[str, Any]:
        if name in resolved:
            return resolved[name]
        if name in chain:
            raise ValidationError(f"{name}: extends forms a cycle ({' -> '.join(chain + (name,))})",
                                  fix="remove one of the extends")
        if len(chain) > MAX_EXTENDS_DEPTH:
            raise ValidationError(f"{name}: extends nests deeper than {MAX_EXTENDS_DEPTH}")
        body = config[name]
        parents = body.get("extends")
        if not parents:
            resolved[name] = body
            return body
        merged: dict[str, Any] = {}
        for parent in parents if isinstance(parents, list) else [parents]:
            if parent not in config or not isinstance(config[parent], dict):
                candidates = [k for k in config if isinstance(config[k], dict)]
                guess = difflib.get_close_matches(str(parent), candidates, n=1)
                hint = f"did you mean '{guess[0]}'?" if guess else "include the template that defines it"
                raise ValidationError(f"{name}: extends '{parent}', which is not defined", fix=hint)
            merged = deep_merge(merged, job(parent, chain + (name,)))
        own = {k: v for k, v in body.items() if k != "extends"}
        resolved[name] = deep_merge(merged, own)
        return resolved[name]

    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and "extends" in value:
            out[key] = job(key, ())
        else:
            out[key] = value
    return out


def merged_view(path: Path, source: TemplateSource, project_dir: Path | None = None) -> Merged:
    merger = Merger(project_dir or path.parent, source)
    config = merger.load(path, None, path.name)
    return Merged(config=flatten_nested(resolve_extends(config)), sources=merger.sources, notes=merger.notes)
