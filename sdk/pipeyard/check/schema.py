"""Validation against GitLab's own CI schema, offline.

The schema is the one check-jsonschema vendors (`vendor.gitlab-ci`). It does not
look inside hidden jobs, so those are validated as the jobs they become once
extended: a typo in `.maven-build` is reported, not silently inherited.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from pipeyard_kit.errors import ValidationError

# Keys of a hidden mapping that mark it as a job template rather than a plain YAML anchor.
_JOB_HINTS = {"script", "image", "stage", "extends", "rules", "variables", "before_script", "after_script",
              "artifacts", "cache", "tags", "needs", "services", "trigger", "when", "environment"}


@cache
def gitlab_schema() -> dict[str, Any]:
    ref = resources.files("check_jsonschema").joinpath("builtin_schemas/vendor/gitlab-ci.json")
    return json.loads(ref.read_text(encoding="utf-8"))


@cache
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(gitlab_schema())


def looks_like_job(value: Any) -> bool:
    return isinstance(value, dict) and bool(_JOB_HINTS & set(value))


def unhide(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with hidden job templates renamed into visible jobs."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(key, str) and key.startswith(".") and looks_like_job(value):
            out[f"hidden-job{key}"] = value
        else:
            out[key] = value
    return out


def _where(error: jsonschema.ValidationError) -> str:
    parts = [str(p).replace("hidden-job.", ".") for p in error.absolute_path]
    return ": ".join(parts) if parts else "(top level)"


def _allowed(error: jsonschema.ValidationError) -> list[str]:
    schema = error.schema
    if "properties" in schema:
        return sorted(schema["properties"])
    return []


def located(error: jsonschema.ValidationError) -> list[tuple[tuple[object, ...], str]]:
    """(key path, message) of every problem in one error: each unknown key on its own."""
    path = tuple(str(p).replace("hidden-job.", ".") if isinstance(p, str) else p for p in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = _allowed(error)
        extras = [k for k in error.instance if k not in allowed and not str(k).startswith(".")]
        where = _where(error)
        out = []
        for bad in extras:
            guess = difflib.get_close_matches(str(bad), allowed, n=1)
            hint = f"did you mean '{guess[0]}'?" if guess else f"allowed keys: {', '.join(allowed)}"
            out.append((path + (bad,), f"{where}: unknown key '{bad}': {hint}"))
        if out:
            return out
    return [(path, explain(error))]


def explain(error: jsonschema.ValidationError) -> str:
    where = _where(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = _allowed(error)
        extras = [k for k in error.instance if k not in allowed and not str(k).startswith(".")]
        if extras:
            bad = extras[0]
            guess = difflib.get_close_matches(str(bad), allowed, n=1)
            hint = f"did you mean '{guess[0]}'?" if guess else f"allowed keys: {', '.join(allowed)}"
            return f"{where}: unknown key '{bad}': {hint}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not allowed: use one of {', '.join(map(str, error.validator_value))}"
    return f"{where}: {error.message}"


def deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    # anyOf/oneOf errors hide the useful one (e.g. an unknown key) in their context.
    best = jsonschema.exceptions.best_match([error])
    while best.context:
        nxt = jsonschema.exceptions.best_match(best.context)
        if nxt is best:
            break
        best = nxt
    return best


def schema_problems(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return ["(top level): a pipeline must be a mapping of keywords and jobs"]
    errors = sorted(validator().iter_errors(unhide(doc)), key=lambda e: list(map(str, e.absolute_path)))
    problems = []
    for error in errors:
        message = explain(deepest(error))
        if message not in problems:
            problems.append(message)
    return problems


def validate(doc: Any, name: str) -> None:
    problems = schema_problems(doc)
    if problems:
        raise ValidationError(f"{name}: " + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""),
                              fix="fix the key against GitLab's CI/CD YAML reference")
