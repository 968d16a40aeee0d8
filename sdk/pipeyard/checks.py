"""What `make check` verifies: models, skeleton, render drift, schema, examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ModelError
from .gitlab_schema import schema_problems
from .interpolate import interpolate
from .lint import lint_offline
from .merge import TemplateSource
from .model import Provider, load_provider, missing_skeleton, provider_names
from .render import SELF_PIPELINE, TEMPLATES_DIR, Outputs
from .selfci import pipeline_problems

_PLACEHOLDER = {"string": "example", "number": 1, "boolean": True, "array": ["example"]}


def load_all(root: Path) -> tuple[list[Provider], list[str]]:
    """Every provider that loads, and one problem line per provider that doesn't."""
    providers, problems = [], []
    for name in provider_names(root):
        try:
            providers.append(load_provider(root, name))
        except ModelError as exc:
            problems.append(exc.render())
    return providers, problems


def skeleton_problems(root: Path) -> list[str]:
    problems = []
    for folder in sorted(p for p in (root / "providers").iterdir() if p.is_dir()):
        missing = missing_skeleton(folder)
        if missing:
            problems.append(f"providers/{folder.name} lacks {', '.join(missing)}: every provider folder has the "
                            f"same skeleton (copy the missing files from providers/maven and adapt them)")
    return problems


def _default_inputs(header: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for name, decl in ((header.get("spec") or {}).get("inputs") or {}).items():
        decl = decl or {}
        values[name] = decl["default"] if "default" in decl else _PLACEHOLDER[decl.get("type", "string")]
    return values


def template_problems(outputs: Outputs) -> list[str]:
    """Each rendered document against GitLab's schema: a component's header and its
    body (with default inputs) on their own, and the classic files with hidden jobs."""
    problems = []
    for rel, text in sorted(outputs.templates.items()):
        if not rel.endswith(".yml"):
            continue
        docs = list(yaml.safe_load_all(text))
        where = f"{TEMPLATES_DIR}/{rel}"
        if rel.startswith("templates/"):
            header, body = docs
            problems += [f"{where} (spec header): {p}" for p in schema_problems(header)]
            body = interpolate(body, _default_inputs(header), where)
            problems += [f"{where}: {p}" for p in schema_problems(body)]
        else:
            problems += [f"{where}: {p}" for p in schema_problems(docs[0])]
    problems += pipeline_problems(outputs.files[SELF_PIPELINE])
    return problems


def example_problems(root: Path, source: TemplateSource) -> list[str]:
    problems = []
    for ci in sorted((root / "examples").glob("*/.gitlab-ci.yml")):
        result = lint_offline(ci, source, ci.parent)
        problems += [f"{ci.relative_to(root)}: {p}" for p in result.problems]
    return problems
