"""`$[[ inputs.x ]]` interpolation, with the checks GitLab makes at pipeline creation.

gitlab-ci-local skips some of them (unknown input names), so pipeyard lint does
them itself: unknown inputs, missing required inputs, types and options.
"""

from __future__ import annotations

import re
from typing import Any

from pipeyard_kit.errors import ValidationError

_WHOLE = re.compile(r"^\$\[\[\s*inputs\.([\w-]+)\s*(?:\|[^\]]*)?\]\]$")
_PART = re.compile(r"\$\[\[\s*inputs\.([\w-]+)\s*(?:\|[^\]]*)?\]\]")
_TYPES = {"string": str, "number": (int, float), "boolean": bool, "array": list}


def resolve_inputs(spec: dict[str, Any], given: dict[str, Any] | None, where: str) -> dict[str, Any]:
    declared = (spec or {}).get("inputs") or {}
    given = dict(given or {})
    problems = []
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(f"unknown input '{name}' (this template's inputs: {known})")
    values: dict[str, Any] = {}
    for name, decl in declared.items():
        decl = decl or {}
        kind = decl.get("type", "string")
        if name in given:
            value = given[name]
        elif "default" in decl:
            value = decl["default"]
        else:
            problems.append(f"input '{name}' is required: add it under inputs")
            continue
        if kind == "number" and isinstance(value, bool) or not isinstance(value, _TYPES[kind]):
            problems.append(f"input '{name}' must be a {kind}, got {value!r}")
            continue
        if "options" in decl and value not in decl["options"]:
            problems.append(f"input '{name}'={value!r} is outside its options: use one of "
                            f"{', '.join(map(str, decl['options']))}")
        if "regex" in decl and isinstance(value, str) and not re.search(decl["regex"].strip("/"), value):
            problems.append(f"input '{name}'={value!r} does not match {decl['regex']}")
        values[name] = value
    if problems:
        raise ValidationError(f"{where}: " + "; ".join(problems), fix="fix the inputs of this include")
    return values


def interpolate(node: Any, values: dict[str, Any], where: str) -> Any:
    if isinstance(node, dict):
        return {interpolate(k, values, where): interpolate(v, values, where) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, values, where) for v in node]
    if isinstance(node, str) and "$[[" in node:
        whole = _WHOLE.match(node)
        if whole:
            return _value(whole.group(1), values, where)

        def sub(m: re.Match[str]) -> str:
            v = _value(m.group(1), values, where)
            return str(v).lower() if isinstance(v, bool) else str(v)

        return _PART.sub(sub, node)
    return node


def _value(name: str, values: dict[str, Any], where: str) -> Any:
    if name not in values:
        raise ValidationError(f"{where}: unknown interpolation key inputs.{name}",
                              fix="declare it under spec:inputs or fix the name")
    return values[name]
