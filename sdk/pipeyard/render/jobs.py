"""From the provider model to GitLab job definitions (plain data, no YAML text).

Both renderings share this: a component job is the classic hidden job plus the
inputs layer, so the two can never drift apart.

Every job has the same controls, named the same way in every component (a provider
with one job drops the `<job>-` part, as it does for `stage`):

    <job>-enabled   false switches the job off
    <job>-rules     rules evaluated before the provider's own; end them with `- when: never`
                    to replace those entirely (the design's "develop only" build job)
    <job>-changes   paths the provider's own rules require a change in (default: any file)
    <job>-needs     the jobs whose artifacts this one takes (default: provider.yaml's, optional)
    provider-image  the image of every job (default: the provider image released with them)

A provider with variants (maven's JDKs, npm's Node lines) has one more input, named by
provider.yaml's variants.input (jdk, node): its value becomes the job variable
<PREFIX>_<INPUT> (MAVEN_JDK), which the default image names, `maven:1.0.0-jdk$MAVEN_JDK`. GitLab
expands a job's variables in `image:`, so the choice composes with provider-image: an explicit
image still wins. A classic include takes the same variable.

A classic include offers what GitLab lets variables do: <PREFIX>_<JOB>_DISABLED=true and
<PREFIX>_<JOB>_CHANGES=<glob>; rules, needs and image are the extending job's own keys.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pipeyard.model.provider import Job, Provider, Setting, job_control_variable
from pipeyard.model.site import Site
from pipeyard_kit import __version__

NOT_ON_SCHEDULES = {"if": '$CI_PIPELINE_SOURCE == "schedule"', "when": "never"}

# GitLab's template rules: `rules:` only, and $CI_DEFAULT_BRANCH rather than a branch name. Which
# pipelines exist at all (merge-request pipelines instead of branch pipelines for a branch with an
# open merge request) is the workflow component's business, not a job's.
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
# rules:changes matching any file: GitLab counts it true where a pipeline has no diff (tags,
# schedules, new branches), and on a push or a merge request whenever anything changed.
ANY_CHANGE = "**/*"


def image_ref(provider: Provider, registry: str, site: Site) -> str:
    # Pinned to the template release: a template and its image are released together. The variant
    # comes from the job's variable, so the image follows the jdk/node input or variable.
    variable = provider.variant_variable()
    suffix = f"-{provider.variant_input}${variable}" if variable else ""
    return f"{registry}/{site.image_of(provider)}:{__version__}{suffix}"


def variant_input_spec(provider: Provider, site: Site) -> dict[str, Any]:
    """The input that picks the variant: its values are the site's variants, its default the site's."""
    offered = site.variants_of(provider)
    lines = [f"{v.value}{' (end of life: migration only)' if v.eol else ''}" for v in offered]
    return {"default": site.default_variant(provider).value, "options": [v.value for v in offered],
            "description": f"Which {provider.variant_input} variant of the image every job runs in ({', '.join(lines)}): "
                           f"the default image is tagged <version>-{provider.variant_input}<value>, and the jobs see "
                           f"the value as {provider.variant_variable()}."}


def hidden_job_name(provider: Provider, job: Job) -> str:
    return f".{provider.job_prefix}-{job.name}"


def job_name(provider: Provider, job: Job) -> str:
    """The job's name as the examples, `pipeyard init` and the components' default prefix give it."""
    return f"{provider.job_prefix}-{job.name}"


def control_input(provider: Provider, job: Job, control: str) -> str:
    return control if len(provider.jobs) == 1 else f"{job.name}-{control}"


def stage_input(provider: Provider, job: Job) -> str:
    return control_input(provider, job, "stage")


def referenced_vars(data: Any) -> set[str]:
    text = repr(data)
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text))


def needs(provider: Provider, job: Job) -> list[dict[str, Any]]:
    """provider.yaml's needs as GitLab's, optional: a job switched off (or left out) breaks nothing."""
    own = {j.name for j in provider.jobs}
    return [{"job": f"{provider.job_prefix}-{n}" if n in own else n, "optional": True} for n in job.needs]


def provider_rules(job: Job, changes: Any) -> list[dict[str, Any]]:
    """The provider's rules for the job, each rule that runs it narrowed by `changes`."""
    out = []
    for rule in RULES[job.when]:
        rule = dict(rule)
        if rule.get("when") != "never":
            rule["changes"] = copy.deepcopy(changes)  # never shared: the dumper would write an alias
        out.append(rule)
    return out


def _body(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key in ("before_script", "cache", "artifacts", "coverage", "allow_failure", "interruptible",
                "environment", "resource_group"):
        if key in job.extra:
            # A copy each time: provider.yaml's YAML anchors share objects, and a shared object
            # would come out of the dumper as an &id001 alias.
            body[key] = copy.deepcopy(job.extra[key])
    body["script"] = list(job.script)
    return body


def _setting_default_value(site: Site, provider: Provider, s: Setting) -> Any:
    value = site.default(provider, s.env)
    return "" if value is None else value


def classic_job(provider: Provider, job: Job, site: Site) -> dict[str, Any]:
    """The hidden job of the classic include, configured by CI/CD variables."""
    disabled = job_control_variable(provider.job_prefix, job.name, "disabled")
    changes = job_control_variable(provider.job_prefix, job.name, "changes")
    data = {"image": image_ref(provider, f"${REGISTRY_VAR}", site), "stage": job.stage,
            "tags": list(site.runner_tags), "needs": needs(provider, job)}
    data.update(_body(job))
    # GitLab's own templates switch a job off the same way (SAST_DISABLED and friends).
    data["rules"] = [{"if": f'${disabled} == "true" || ${disabled} == "1"', "when": "never"},
                     *provider_rules(job, [f"${changes}"])]
    variables: dict[str, Any] = {REGISTRY_VAR: site.registry, changes: ANY_CHANGE}
    if provider.has_variants:
        variables[provider.variant_variable()] = site.default_variant(provider).value
    # Only the settings the job's own YAML expands need a default here (e.g. artifact
    # paths); the image applies every other default itself, so a project-level CI/CD
    # variable or the extending job can override any of them.
    used = referenced_vars({k: v for k, v in data.items() if k not in ("image", "rules")})
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
                       "description": "Prefix of the job names, so a pipeline can include the component twice "
                                      "(then set the needs inputs that name its jobs too)."},
        "registry": {"default": site.registry,
                     "description": f"Registry prefix of the provider images (the jobs' {REGISTRY_VAR})."},
        "provider-image": {"default": image_ref(provider, f"${REGISTRY_VAR}", site),
                  "description": "The image of every job of this component; the default is the provider image "
                                 "released with these templates."},
        "tags": {"type": "array", "default": list(site.runner_tags),
                 "description": "Runner tags of every job of this component."},
    }
    if provider.has_variants:
        inputs[provider.variant_input] = variant_input_spec(provider, site)
    for job in provider.jobs:
        name = job_name(provider, job)
        inputs[stage_input(provider, job)] = {"default": job.stage, "description": f"Stage of the {job.name} job."}
        inputs[control_input(provider, job, "enabled")] = {
            "type": "boolean", "default": True, "description": f"false switches the {job.name} job off."}
        inputs[control_input(provider, job, "rules")] = {
            "type": "array", "default": [],
            "description": f"Rules of the {job.name} job evaluated before the provider's own ({RULES_SUMMARY[job.when]}"
                           "); end them with `- when: never` to replace those."}
        inputs[control_input(provider, job, "changes")] = {
            "type": "array", "default": [ANY_CHANGE],
            "description": f"Paths the provider's rules of the {job.name} job require a change in (rules:changes)."}
        inputs[control_input(provider, job, "needs")] = {
            "type": "array", "default": needs(provider, job),
            "description": f"needs of the {name} job: the jobs whose artifacts it takes ([] starts at once)."}
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
    def inp(control: str) -> str:
        return f"$[[ inputs.{control_input(provider, job, control)} ]]"

    data = {"image": "$[[ inputs.provider-image ]]", "stage": inp("stage"), "tags": "$[[ inputs.tags ]]",
            "needs": inp("needs")}
    data.update(_body(job))
    # The input's rules come as a nested list; GitLab flattens rules (Entry::Rules#value).
    data["rules"] = [{"if": f'"{inp("enabled")}" != "true"', "when": "never"}, inp("rules"),
                     *provider_rules(job, inp("changes"))]
    variables = {REGISTRY_VAR: "$[[ inputs.registry ]]"}
    if provider.has_variants:
        variables[provider.variant_variable()] = f"$[[ inputs.{provider.variant_input} ]]"
    variables.update({s.env: f"$[[ inputs.{s.input} ]]" for s in provider.settings if s.input})
    variables.update(job.extra.get("variables", {}))
    data["variables"] = variables
    return data


def secrets(provider: Provider) -> list[Setting]:
    return [s for s in provider.settings if s.secret]
