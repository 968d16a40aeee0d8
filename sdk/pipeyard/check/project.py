"""What `make check` verifies: models, skeleton, render drift, schema, examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipeyard.check.interpolate import interpolate
from pipeyard.check.lint import lint_offline
from pipeyard.check.merge import TemplateSource, flatten_nested
from pipeyard.check.schema import schema_problems
from pipeyard.model.provider import Provider, load_provider, missing_skeleton, provider_names
from pipeyard.release.pipeline import pipeline_problems
from pipeyard.render.outputs import SELF_PIPELINE, TEMPLATES_DIR, Outputs
from pipeyard_kit.errors import ModelError

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
    for folder in sorted(p for p in (root / "providers").iterdir() if p.is_dir() and not p.name.startswith(".")):
        missing = missing_skeleton(folder)
        if missing:
            problems.append(f"providers/{folder.name} lacks {', '.join(missing)}: every provider folder has the "
                            f"same skeleton (`pipeyard provider new NAME` makes one; `make render` writes the "
                            f"generated files)")
    return problems


def ownership_problems(providers: list[Provider]) -> list[str]:
    """A console script belongs to one provider, and its code lies in that provider's own package (a
    copied provider.yaml that still names another provider's CLI fails here)."""
    problems = []
    owner: dict[str, str] = {}
    for p in providers:
        for script, entry in p.console_scripts.items():
            if script in owner:
                problems.append(f"providers/{p.name}/provider.yaml: cli {script} is also declared by providers/"
                                f"{owner[script]}: give the command a name of its own")
            owner.setdefault(script, p.name)
            module = entry.split(":", 1)[0]
            source = p.path / (module.replace(".", "/") + ".py")
            package_init = p.path / module.replace(".", "/") / "__init__.py"
            if not source.is_file() and not package_init.is_file():
                problems.append(f"providers/{p.name}/provider.yaml: cli {script} runs {entry}, but providers/"
                                f"{p.name}/ has no module {module}: write it, or fix the entry point")
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
            body = flatten_nested(interpolate(body, _default_inputs(header), where))
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
