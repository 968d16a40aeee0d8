"""The merged view of a consumer pipeline, as GitLab builds it, offline.

GitLab's order (lib/gitlab/ci/config.rb, build_config): includes are merged first (local
files, wildcards among them, with their own spec:inputs; pipeyard's component project by
component or by project/file), then `!reference` tags are resolved against the merged
whole, then `extends:` (lib/gitlab/ci/config/extendable). This module does the same, and
remembers for every key the file and line it came from, so a problem found in the merged
view points at the line a person has to edit.
"""

from __future__ import annotations

import copy
import difflib
import glob
import re
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeyard.check.interpolate import interpolate, resolve_inputs
from pipeyard.check.yamlload import Document, KeyPath, Reference, load_documents
from pipeyard_kit.errors import ValidationError

MAX_EXTENDS_DEPTH = 11  # GitLab's own limit
MAX_REFERENCE_DEPTH = 10  # lib/gitlab/ci/config/yaml/tags/resolver.rb
MAX_INCLUDES = 150  # GitLab's default ci_max_includes

Where = tuple[str, int]


# Which @version of a component GitLab resolves (lib/gitlab/ci/components/instance_path.rb): `~latest`
# (the newest catalog version), a shorthand `1` or `1.2` (the newest catalog version of that major or
# minor: SHORTHAND_SEMVER_PATTERN), a released tag, else any ref (a branch, a commit). pipeyard's
# component project is released only as semantic-version tags (pipeyard release catalog), so a
# consumer pins one of those; a branch name or `latest` is no version of it.
LATEST = "~latest"
SHORTHAND = re.compile(r"^\d+(\.\d+)?$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
_STAMP = re.compile(r"^# pipeyard [\w-]+(?: component)? (\S+?):", re.M)


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

    @cached_property
    def versions(self) -> list[str]:
        """The versions of the component project known offline: the one its templates were rendered as
        (each carries `# pipeyard <name> component <version>:`), and the version tags of the component
        project when the templates folder is a git checkout of it."""
        found = set()
        for path in sorted((self.root / "templates").glob("*.yml")):
            with path.open(encoding="utf-8", errors="replace") as f:
                match = _STAMP.search(f.read(2048))
            if match and SEMVER.match(match.group(1)):
                found.add(match.group(1))
        if (self.root / ".git").exists():
            try:
                tags = subprocess.run(["git", "-C", str(self.root), "tag", "--list"], capture_output=True,
                                      text=True, timeout=30, check=False).stdout.split()
            except (OSError, subprocess.SubprocessError):
                tags = []
            found.update(t for t in tags if SEMVER.match(t))
        return sorted(found, key=_semver_key)

    def version_problem(self, version: str) -> str | None:
        """Why `version` names no version of the component project, or None (also when none is known)."""
        known = self.versions
        shown = ", ".join(known) or "none known"
        if version == LATEST or COMMIT.match(version):
            return None
        if SHORTHAND.match(version):
            if known and not any(v == version or v.startswith(version + ".") for v in known):
                return f"has no version {version}.x (versions: {shown})"
            return None
        if SEMVER.match(version):
            if known and version not in known:
                return f"has no version {version} (versions: {shown})"
            return None
        return f"@{version} is not a version (versions: {shown})"


def _semver_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("-")[0].split("+")[0])[:3])


@dataclass
class Merged:
    config: dict[str, Any]
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    origins: dict[KeyPath, Where] = field(default_factory=dict)

    def where(self, path: KeyPath) -> Where | None:
        """The file and line of a key path, or of its nearest written ancestor."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.origins:
                return self.origins[path[:n]]
        return None


def split_header(docs: list[Document], where: str) -> tuple[dict[str, Any] | None, Document]:
    if len(docs) == 1:
        body, header = docs[0], None
    elif len(docs) == 2 and isinstance(docs[0].data, dict) and set(docs[0].data) == {"spec"}:
        header, body = docs[0].data, docs[1]
    else:
        raise ValidationError(f"{where}: expected one document, or a spec: header, --- and a body",
                              fix="remove the extra --- separators")
    if not isinstance(body.data, dict):
        raise ValidationError(f"{where}:{body.start}: the pipeline must be a mapping of keywords and jobs")
    return header, body


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _normalise_includes(raw: Any, where: str) -> list[dict[str, Any]]:
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"remote": item} if item.startswith(("http://", "https://")) else {"local": item})
        elif isinstance(item, dict):
            out.append(item)
        else:
            raise ValidationError(f"{where}: include: {item!r} is not a file or a mapping")
    return out


def _interpolated_lines(lines: dict[KeyPath, int], values: dict[str, Any], where: str) -> dict[KeyPath, int]:
    """Key paths after $[[ inputs ]] interpolation (a job called `$[[ inputs.job-prefix ]]build`
    becomes `maven-build`)."""
    out = {}
    for path, line in lines.items():
        out[tuple(interpolate(p, values, where) if isinstance(p, str) else p for p in path)] = line
    return out


class Merger:
    def __init__(self, project_dir: Path, source: TemplateSource):
        self.project_dir = project_dir
        self.source = source
        self.notes: list[str] = []
        self.sources: list[str] = []
        self.origins: dict[KeyPath, Where] = {}
        self.count = 0

    def load(self, path: Path, inputs: dict[str, Any] | None, where: str, depth: int = 0,
             at: str | None = None) -> dict[str, Any]:
        """One file and its includes; `at` is the file:line of the include that asked for it, where
        a wrong input is fixed."""
        self.count += 1
        if depth > 100 or self.count > MAX_INCLUDES:
            raise ValidationError(f"{where}: more than {MAX_INCLUDES} includes, or includes that nest too deeply",
                                  fix="remove the include cycle")
        header, doc = split_header(load_documents(path, where), where)
        body, lines = doc.data, doc.lines
        self.sources.append(where)
        if header is not None:
            values = resolve_inputs(header.get("spec") or {}, inputs,
                                    f"{at}: include of {where}" if at else f"{where}:1")
            body = interpolate(body, values, where)
            lines = _interpolated_lines(lines, values, where)
        elif inputs:
            raise ValidationError(f"{at or where}: {where} takes no inputs (it has no spec:inputs header)",
                                  fix="remove inputs from this include")
        merged: dict[str, Any] = {}
        for i, inc in enumerate(_normalise_includes(body.pop("include", []), where)):
            at = f"{where}:{lines.get(('include', i), lines.get(('include',), doc.start))}"
            for sub_path, sub_inputs, sub_where in self._resolve(inc, at):
                merged = deep_merge(merged, self.load(sub_path, sub_inputs, sub_where, depth + 1, at))
        # What this file writes wins over what it includes, key by key, as in deep_merge.
        for key_path, line in lines.items():
            if key_path and key_path[0] != "include":
                self.origins[key_path] = (where, line)
        return deep_merge(merged, body)

    def _inside(self, rel: str, where: str, written: str) -> Path:
        """The project's file `rel`, refused when it (or a link on the way) leads out of the project:
        GitLab reads a local include from the project's own repository, never from the runner's disk."""
        path = self.project_dir / rel
        root = self.project_dir.resolve()
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:
            how = "through a symbolic link" if ".." not in Path(rel).parts else "with ../"
            raise ValidationError(f"{where}: include local '{written}' leads out of the project ({how})",
                                  fix="include a file of this project, by its path from the project root")
        return path

    def _local(self, inc: dict[str, Any], where: str) -> list[tuple[Path, dict[str, Any] | None, str]]:
        pattern = str(inc["local"]).lstrip("/")
        inputs = inc.get("inputs")
        if any(c in pattern for c in "*?["):
            # GitLab expands wildcards in the project's own files: * within a folder, ** across them.
            found = sorted(glob.glob(pattern, root_dir=self.project_dir, recursive=True))
            found = [f for f in found if f.endswith((".yml", ".yaml"))
                     and self._inside(f, where, str(inc["local"])).is_file()]
            if not found:
                self.notes.append(f"{where}: include local '{inc['local']}' matches no file")
            return [(self.project_dir / f, inputs, f) for f in found]
        path = self._inside(pattern, where, str(inc["local"]))
        if not path.is_file():
            raise ValidationError(f"{where}: include local '{inc['local']}' does not exist",
                                  fix="fix the path (relative to the project root)")
        return [(path, inputs, pattern)]

    def _resolve(self, inc: dict[str, Any], where: str) -> list[tuple[Path, dict[str, Any] | None, str]]:
        inputs = inc.get("inputs")
        # include:rules decide with pipeline variables GitLab knows and lint doesn't: every
        # include is linted as included, so a typo in one that some pipelines skip still shows.
        if "local" in inc:
            return self._local(inc, where)
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
                root = self.source.root.resolve()
                if root not in path.resolve().parents:
                    raise ValidationError(f"{where}: include of {inc['project']}:{f} leads out of the project",
                                          fix="name a file of the component project, e.g. /maven.gitlab-ci.yml")
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
        location, version = ref.rsplit("@", 1)
        project, _, name = location.rpartition("/")
        if project != self.source.component_project:
            self.notes.append(f"{where}: component {ref} is not pipeyard's and is not checked offline")
            return None
        problem = self.source.version_problem(version)
        if problem:
            latest = self.source.versions[-1] if self.source.versions else "1.0.0"
            raise ValidationError(f"{where}: component {name}@{version}: the component project {problem}",
                                  fix=f"pin a released version, e.g. @{latest} (or @{latest.rsplit('.', 1)[0]} "
                                      f"for its newest patch, or @{LATEST})")
        path = self.source.root / "templates" / f"{name}.yml"
        if not path.is_file():
            known = ", ".join(self.source.available())
            guess = difflib.get_close_matches(name, self.source.available(), n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            raise ValidationError(f"{where}: include of component '{name}', a template that doesn't exist",
                                  fix=f"{hint}available components: {known}")
        return path, inputs, f"component {name}"


def resolve_references(config: dict[str, Any]) -> dict[str, Any]:
    """Every `!reference [job, key, ...]` replaced by that value of the merged configuration."""

    def lookup(ref: Reference, depth: int) -> Any:
        if depth > MAX_REFERENCE_DEPTH:
            raise ValidationError(f"{ref.file}:{ref.line}: {ref!r} nests deeper than {MAX_REFERENCE_DEPTH} "
                                  "references", fix="reference the values directly")
        node: Any = config
        for i, key in enumerate(ref.path):
            if not isinstance(node, dict) or key not in node:
                missing = ".".join(ref.path[: i + 1])
                raise ValidationError(f"{ref.file}:{ref.line}: {ref!r}: {missing} is not defined",
                                      fix="reference a job or hidden job and keys that exist")
            node = node[key]
        return walk(copy.deepcopy(node), depth + 1)

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, Reference):
            return lookup(node, depth)
        if isinstance(node, dict):
            return {k: walk(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, depth) for v in node]
        return node

    return walk(config, 0)


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


def resolve_extends(config: dict[str, Any], origins: dict[KeyPath, Where] | None = None) -> dict[str, Any]:
    """extends applied; an inherited key keeps the file and line of the job it came from."""
    resolved: dict[str, Any] = {}
    origins = origins if origins is not None else {}

    def inherit(child: str, parent: str) -> None:
        for path, where in list(origins.items()):
            if path and path[0] == parent and len(path) > 1:
                origins.setdefault((child, *path[1:]), where)

    def job(name: str, chain: tuple[str, ...]) -> dict[str, Any]:
        if name in resolved:
            return resolved[name]
        at = origins.get((name,))
        prefix = f"{at[0]}:{at[1]}: " if at else ""
        if name in chain:
            raise ValidationError(f"{prefix}{name}: extends forms a cycle ({' -> '.join(chain + (name,))})",
                                  fix="remove one of the extends")
        if len(chain) > MAX_EXTENDS_DEPTH:
            raise ValidationError(f"{prefix}{name}: extends nests deeper than {MAX_EXTENDS_DEPTH}")
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
                line = origins.get((name, "extends"), at)
                where = f"{line[0]}:{line[1]}: " if line else ""
                raise ValidationError(f"{where}{name}: extends '{parent}', which is not defined", fix=hint)
            merged = deep_merge(merged, job(parent, chain + (name,)))
            inherit(name, parent)
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


def merged_view(path: Path, source: TemplateSource, project_dir: Path | None = None,
                shown: str | None = None) -> Merged:
    merger = Merger(project_dir or path.parent, source)
    config = merger.load(path, None, shown or path.name)
    config = resolve_references(config)
    config = flatten_nested(resolve_extends(config, merger.origins))
    return Merged(config=config, sources=merger.sources, notes=merger.notes, origins=merger.origins)
