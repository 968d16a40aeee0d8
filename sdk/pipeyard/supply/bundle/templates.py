"""The pipeline templates as the offline site needs them: the registry default rewritten.

The rendered templates carry the site's registry twice over: as the `registry` input's default in
each component (templates/<provider>.yml) and as PIPEYARD_REGISTRY in each classic include's hidden
jobs. Only those values change; the rewritten files are parsed again to prove every one now names
the new registry and no other line still names the old one.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeyard_kit import yamlio
from pipeyard_kit.errors import BuildError


def rewrite(text: str, old: str, new: str) -> str:
    pattern = re.compile(rf"^(\s*(?:default|PIPEYARD_REGISTRY):\s*)['\"]?{re.escape(old)}['\"]?\s*$", re.M)
    return pattern.sub(lambda m: m.group(1) + new, text)


def registry_values(text: str) -> list[str]:
    """Every registry default a template file holds (component input, classic variables)."""
    values = []
    for doc in yamlio.load_all(text, "a template of the bundle"):
        if not isinstance(doc, dict):
            continue
        registry = ((doc.get("spec") or {}).get("inputs") or {}).get("registry")
        if isinstance(registry, dict) and "default" in registry:
            values.append(str(registry["default"]))
        for job in doc.values():
            if isinstance(job, dict) and "PIPEYARD_REGISTRY" in (job.get("variables") or {}):
                value = str(job["variables"]["PIPEYARD_REGISTRY"])
                # A component job hands its `registry` input on as the variable: nothing to rewrite there.
                if not value.startswith("$[["):
                    values.append(value)
    return values


def write(files: dict[str, bytes], dest: Path, old: str, new: str) -> list[Path]:
    """Write the templates under dest with old -> new; returns the files whose registry changed."""
    changed = []
    for rel, data in sorted(files.items()):
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith((".yml", ".yaml")):
            text = rewrite(data.decode(), old, new)
            values = registry_values(text)
            if any(v != new for v in values) or (old != new and old in text):
                raise BuildError(f"{rel}: its registry default could not be rewritten to {new}",
                                 fix="the bundle's templates were edited by hand; rebuild the bundle")
            if values:
                changed.append(path)
            data = text.encode()
        path.write_bytes(data)
    return changed
