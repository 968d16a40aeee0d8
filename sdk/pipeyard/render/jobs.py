"""From the provider model to GitLab job definitions (plain data, no YAML text).

Both renderings share this: a component job is the classic hidden job plus the
inputs layer, so the two can never drift apart.
"""

from __future__ import annotations

import re
from typing import Any

from pipeyard.model.provider import Job, Provider, Setting
from pipeyard.model.site import Site
from pipeyard_kit import __version__

NOT_ON_SCHEDULES = {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}

# GitLab's template rules: `rules:` only, and $CI_DEFAULT_BRANCH rather than a branch name.
RULES: dict[str, list[dict[str, str]]] = {
    "default": [NOT_ON_SCHEDULES, {"when": "on_success"}],
    "release": [NOT_ON_SCHEDULES, {"if": "$CI_COMMIT_TAG"}, {"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}],
    "tags": [NOT_ON_SCHEDULES, {"if": "$CI_COMMIT_TAG"}],
    "schedule": [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}],
}

RULES_SUMMARY = {
    "default": "every pipeline except schedules",
    "release": "the default branch and tags",
    "tags": "tags only",
    "schedule": "scheduled pipelines only",
}

REGISTRY_VAR = "PIPEYARD_REGISTRY"


def image_ref(provider: Provider, registry: str) -> str:
    # Pinned to the template release: a template and its image are released together.
    return f"{registry}/{provider.image_name}:{__version__}"


def hidden_job_name(provider: Provider, job: Job) -> str:
    return f".{provider.job_prefix}-{job.name}"


def stage_input(provider: Provider, job: Job) -> str:
    return "stage" if len(provider.jobs) == 1 else f"{job.name}-stage"


def referenced_vars(data: Any) -> set[str]:
    text = repr(data)
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text))


def _body(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key in ("before_script", "cache", "artifacts", "coverage", "allow_failure", "interruptible"):
        if key in job.extra:
            body[key] = job.extra[key]
    body["script"] = list(job.script)
    body["rules"] = [dict(r) for r in RULES[job.when]]
    return body


def _setting_default_value(site: Site, provider: Provider, s: Setting) -> Any:
    value = site.default(provider, s.env)
    return "" if value is None else value


def classic_job(provider: Provider, job: Job, site: Site) -> dict[str, Any]:
    """The hidden job of the classic include, configured by CI/CD variables."""
    data = {"image": image_ref(provider, f"${REGISTRY_VAR}"), "stage": job.stage, "tags": list(site.runner_tags)}
    data.update(_body(job))
    variables: dict[str, Any] = {REGISTRY_VAR: site.registry}
    # Only the settings the job's own YAML expands need a default here (e.g. artifact
    # paths); the image applies every other default itself, so a project-level CI/CD
    # variable or the extending job can override any of them.
    used = referenced_vars({k: v for k, v in data.items() if k != "image"})
    for s in provider.settings:
        if s.env in used and not s.secret:
            value = _setting_default_value(site, provider, s)
            if value != "":
                variables[s.env] = value
    variables.update(job.extra.get("variables", {}))
    data["variables"] = variables
    return data


def component_inputs(provider: Provider, site: Site) -> dict[str, dict[str, Any]]:
    inputs: dict[str, dict[str, Any]] = {
        "job-prefix": {"default": f"{provider.job_prefix}-",
                       "description": "Prefix of the job names, so a pipeline can include the component twice."},
        "registry": {"default": site.registry,
                     "description": f"Registry prefix of the provider images (the {REGISTRY_VAR} of classic includes)."},
        "tags": {"type": "array", "default": list(site.runner_tags),
                 "description": "Runner tags of every job of this component."},
    }
    for job in provider.jobs:
        inputs[stage_input(provider, job)] = {"default": job.stage, "description": f"Stage of the {job.name} job."}
    for s in provider.settings:
        if not s.input:
            continue
        spec: dict[str, Any] = {"description": s.description}
        if s.input_type != "string":
            spec["type"] = s.input_type
        default = site.default(provider, s.env)
        if default is not None:
            spec["default"] = default
        elif not s.required:
            spec["default"] = ""
        if s.options:
            spec["options"] = list(s.options)
        inputs[s.input] = spec
    return inputs


def component_job(provider: Provider, job: Job, site: Site) -> dict[str, Any]:
    data = {"image": image_ref(provider, "$[[ inputs.registry ]]"),
            "stage": f"$[[ inputs.{stage_input(provider, job)} ]]",
            "tags": "$[[ inputs.tags ]]"}
    data.update(_body(job))
    variables = {s.env: f"$[[ inputs.{s.input} ]]" for s in provider.settings if s.input}
    variables.update(job.extra.get("variables", {}))
    data["variables"] = variables
    return data


def secrets(provider: Provider) -> list[Setting]:
    return [s for s in provider.settings if s.secret]
