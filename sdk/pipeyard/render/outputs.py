"""`pipeyard render`: write pipeline-templates/ and the other generated files.

Everything here is derived from providers/*/provider.yaml and the site file.
Output is deterministic (sorted keys, no timestamps) and written to a temporary
folder that is swapped in whole, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from pipeyard.model import tools as tools_mod
from pipeyard.model.provider import Provider, Variant, job_control_variable
from pipeyard.model.site import Site
from pipeyard.release.pipeline import render_self_pipeline
from pipeyard.render import stamps, workflow
from pipeyard.render.contracts import CONTRACTS_FILE, import_contracts
from pipeyard.render.jobs import (
    REGISTRY_VAR,
    RULES_SUMMARY,
    classic_job,
    component_inputs,
    component_job,
    control_input,
    hidden_job_name,
    image_ref,
    needs,
    secrets,
)
from pipeyard.render.provider_json import provider_json
from pipeyard_kit import __version__
from pipeyard_kit.errors import ModelError
from pipeyard_kit.yamlio import dump_yaml

TEMPLATES_DIR = "pipeline-templates"
SELF_PIPELINE = ".gitlab-ci.yml"
README_BEGIN = "<!-- BEGIN GENERATED: settings (make render) -->"
README_END = "<!-- END GENERATED: settings -->"
VARIANTS_BEGIN = "<!-- BEGIN GENERATED: variants (make render) -->"
VARIANTS_END = "<!-- END GENERATED: variants -->"
TABLE_BEGIN = "<!-- BEGIN GENERATED: providers (make render) -->"
TABLE_END = "<!-- END GENERATED: providers -->"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("pipeyard.render", "templates"), autoescape=False,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    # A TOML basic string: JSON's escapes are TOML's, and non-ASCII text stays readable.
    env.filters["toml"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    return env


def project_path(site: Site) -> str:
    return site.component_project.split("/", 1)[1]


def render_component(provider: Provider, site: Site) -> str:
    header = dump_yaml({"spec": {"description": provider.description[:256],
                                 "inputs": component_inputs(provider, site)}})
    body = dump_yaml({f"$[[ inputs.job-prefix ]]{job.name}": component_job(provider, job, site)
                      for job in provider.jobs})
    return _env().get_template("component.yml.j2").render(
        stamp=stamps.of(provider), provider=provider, version=__version__, site=site, header=header, body=body,
        image=_shown_image(provider, site), secrets=secrets(provider)).rstrip() + "\n"


def _shown_image(provider: Provider, site: Site) -> str:
    """The image as the header names it: <registry>/maven:1.0.0-jdk<jdk>."""
    shown = image_ref(provider, "<registry>", site)
    variable = provider.variant_variable()
    return shown.replace(f"${variable}", f"<{provider.variant_input}>") if variable else shown


def render_classic(provider: Provider, site: Site) -> str:
    body = dump_yaml({hidden_job_name(provider, job): classic_job(provider, job, site) for job in provider.jobs})
    return _env().get_template("classic.gitlab-ci.yml.j2").render(
        stamp=stamps.of(provider), provider=provider, version=__version__, project_path=project_path(site),
        first_job=hidden_job_name(provider, provider.jobs[0]), registry_var=REGISTRY_VAR, body=body,
        secrets=secrets(provider), controls=classic_controls(provider)).rstrip() + "\n"


def classic_controls(provider: Provider) -> list[tuple[str, str, str]]:
    """(job, DISABLED variable, CHANGES variable) for the header of a classic include."""
    return [(hidden_job_name(provider, j), job_control_variable(provider.job_prefix, j.name, "disabled"),
             job_control_variable(provider.job_prefix, j.name, "changes")) for j in provider.jobs]


def render_dockerfile(provider: Provider, variant: Variant | None = None) -> str:
    """Every provider image has the same layers; only provider.yaml's data (and the variant's tools) differ."""
    variant = variant or provider.default_variant
    text = f"pipeyard {provider.name} provider image. {provider.description}"
    if variant.name:
        text = f"pipeyard {provider.name} provider image, variant {variant.name}. {variant.description or ''}"
    shared = [n for n in variant.tools if n not in variant.own_tools]
    downloads = {"shared": _downloads(variant, shared), "variant": _downloads(variant, variant.own_tools)}
    stages = [{"name": f"{part}-downloads", "folder": part, "tools": tools,
               "what": "every variant shares" if part == "shared" and variant.name else
                       (f"of the {variant.name} variant" if variant.name else "")}
              for part, tools in downloads.items() if tools]
    return _env().get_template("Dockerfile.j2").render(
        stamp=stamps.of(provider), description=textwrap.wrap(text.strip(), width=100), name=provider.name,
        package=provider.package, user=provider.user, release=provider.base.split(":", 1)[1], variant=variant,
        apt=_apt(provider, variant), download_stages=stages, shared_downloads=bool(downloads["shared"]),
        variant_downloads=bool(downloads["variant"]), setup=provider.image.get("setup", []),
        env=sorted(provider.image.get("env", {}).items()), warm_up=provider.image.get("warm_up"),
        labels=sorted((name, tools_mod.label_version(tool)) for name, tool in variant.tools.items()))


def dockerfiles(provider: Provider) -> dict[str, str]:
    """File name in the provider's folder -> text: `Dockerfile`, and `Dockerfile.<variant>` for every other variant."""
    return {v.dockerfile: render_dockerfile(provider, v) for v in provider.variants}


def _apt(provider: Provider, variant: Variant) -> dict[str, Any]:
    """The tool stage's apt-get installs: the variant's own Debian tools first, so their Provides already
    satisfy what the others depend on (maven's `default-jre-headless | java7-runtime-headless` takes the
    variant's JDK, not Debian's default one), then image.packages and the shared tools. Pinned tools go
    in as package=version."""
    debian = {n: t for n, t in variant.tools.items() if t["source"] == "debian"}
    own = [tools_mod.apt_spec(t) for n, t in sorted(debian.items()) if n in variant.own_tools]
    rest = [*provider.image.get("packages", []),
            *(tools_mod.apt_spec(t) for n, t in sorted(debian.items()) if n not in variant.own_tools)]
    groups = [g for g in (own, list(dict.fromkeys(p for p in rest if p not in own))) if g]
    suites = sorted({t["suite"] for t in debian.values() if t.get("suite")})
    sources = []
    for suite in suites:
        # A security suite's packages need their release's main archive too.
        if suite.endswith("-security"):
            sources += [("$uri", suite.removesuffix("-security")), ("${uri}-security", suite)]
        else:
            sources.append(("$uri", suite))
    sources = list(dict.fromkeys(sources))
    standins = [{"name": f"pipeyard-{name}-provides", "package": t["package"], "version": t["version"],
                 "provides": t["provides"]}
                for name, t in sorted(debian.items()) if t.get("provides")]
    return {"groups": groups, "packages": [p for g in groups for p in g], "suites": suites, "sources": sources,
            "pins": [s for _, s in sources], "standins": standins}


def _downloads(variant: Variant, names) -> list[dict[str, Any]]:
    out = []
    for name in names:
        tool = variant.tools[name]
        if tool["source"] != "npm":
            continue
        out.append({"name": name, "file": f"{name}.tgz", "into": tool["into"],
                    "links": sorted(tool.get("links", {}).items())})
    return out


def render_pyproject(provider: Provider) -> str:
    """The provider's own distribution: pipeyard-kit, its third-party requirements, its console scripts."""
    return _env().get_template("pyproject.toml.j2").render(
        stamp=stamps.of(provider), provider=provider, version=__version__,
        description=f"pipeyard {provider.name} provider: {provider.description}"[:200],
        requires=[f"pipeyard-kit=={__version__}", *provider.python_requires])


def settings_table(provider: Provider, site: Site) -> str:
    defaults = {s.env: site.default(provider, s.env) for s in provider.settings}
    return _env().get_template("settings_table.md.j2").render(provider=provider, defaults=defaults).strip()


def render_readme(providers: list[Provider], site: Site) -> str:
    tables = {p.name: settings_table(p, site) for p in providers}
    text = _env().get_template("README.md.j2").render(
        stamp=stamps.ALL_PROVIDERS, version=__version__, site=site, providers=providers, tables=tables,
        project_path=project_path(site), rules_summary=RULES_SUMMARY, image_of=site.image_of,
        control_input=control_input, needs=needs, job_control_variable=job_control_variable, workflow=workflow.NAME)
    return text.rstrip() + "\n"


def _between(text: str, begin: str, end: str, body: str) -> str | None:
    """text with what stands between the markers replaced by body; None without the markers."""
    if begin not in text or end not in text:
        return None
    before, rest = text.split(begin, 1)
    return f"{before}{begin}\n{body}\n{end}{rest.split(end, 1)[1]}"


def variants_table(provider: Provider, site: Site) -> str:
    return _env().get_template("variants_table.md.j2").render(
        provider=provider, default=site.default_variant(provider), image=site.image_of(provider),
        version=__version__).strip()


def provider_readme(provider: Provider, site: Site) -> str:
    """The provider's README with its settings table (and variants table) regenerated between the markers."""
    path = provider.path / "README.md"
    table = f"{README_BEGIN}\n{settings_table(provider, site)}\n{README_END}"
    if not path.is_file():
        text = f"# {provider.name} provider\n\n{provider.description}\n\n## Configuration\n\n{table}\n"
    else:
        text = path.read_text(encoding="utf-8")
        text = _between(text, README_BEGIN, README_END, settings_table(provider, site)) \
            or text.rstrip() + f"\n\n## Configuration\n\n{table}\n"
    if not provider.has_variants:
        return text
    variants = variants_table(provider, site)
    replaced = _between(text, VARIANTS_BEGIN, VARIANTS_END, variants)
    if replaced is not None:
        return replaced
    section = f"## Variants\n\n{VARIANTS_BEGIN}\n{variants}\n{VARIANTS_END}\n\n"
    return text.replace("## Configuration\n", section + "## Configuration\n", 1)


def providers_table(providers: list[Provider]) -> str:
    return _env().get_template("providers_table.md.j2").render(
        providers=providers, hidden_job_name=hidden_job_name).strip()


def root_readme(root: Path, providers: list[Provider]) -> str | None:
    """README.md with the provider table regenerated between its markers (None: no README there)."""
    path = root / "README.md"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    return _between(text, TABLE_BEGIN, TABLE_END, providers_table(providers)) or text


@dataclass
class Outputs:
    templates: dict[str, str]  # relative to pipeline-templates/
    files: dict[str, str]      # relative to the repository root


def build_outputs(root: Path, providers: list[Provider], site: Site) -> Outputs:
    templates: dict[str, str] = {}
    files: dict[str, str] = {CONTRACTS_FILE: import_contracts(providers)}
    for p in providers:
        folder = p.path.relative_to(root)
        templates[f"templates/{p.name}.yml"] = render_component(p, site)
        templates[f"{p.name}.gitlab-ci.yml"] = render_classic(p, site)
        files[str(folder / "README.md")] = provider_readme(p, site)
        for name, text in dockerfiles(p).items():
            files[str(folder / name)] = text
        files[str(folder / "pyproject.toml")] = render_pyproject(p)
        files[str(folder / p.package / "provider.json")] = provider_json(p)
    readme = root_readme(root, providers)
    if readme is not None:
        files["README.md"] = readme
    templates[f"templates/{workflow.NAME}.yml"] = workflow.render_component(site)
    templates[f"{workflow.NAME}.gitlab-ci.yml"] = workflow.render_classic(site)
    templates["README.md"] = render_readme(providers, site)
    # pipeyard's own pipeline (build, test and release on Kubernetes runners) follows the providers too.
    files[SELF_PIPELINE] = render_self_pipeline(providers, site)
    return Outputs(templates=templates, files=files)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_outputs(root: Path, outputs: Outputs) -> None:
    target = root / TEMPLATES_DIR
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{TEMPLATES_DIR}."))
    try:
        for rel, text in outputs.templates.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text, encoding="utf-8")
        os.chmod(staging, 0o755)
        old = root / f".{TEMPLATES_DIR}.old"
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for rel, text in outputs.files.items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            _write_atomic(path, text)


def drift(root: Path, outputs: Outputs) -> list[str]:
    """Paths whose committed content differs from a fresh render."""
    changed = []
    expected = {f"{TEMPLATES_DIR}/{rel}": text for rel, text in outputs.templates.items()}
    expected.update(outputs.files)
    for rel, text in sorted(expected.items()):
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            changed.append(rel)
    target = root / TEMPLATES_DIR
    if target.is_dir():
        for path in sorted(target.rglob("*")):
            rel = str(path.relative_to(root))
            if path.is_file() and rel not in expected:
                changed.append(f"{rel} (stale)")
    return changed


def ensure_no_collisions(providers: list[Provider]) -> None:
    seen: dict[str, str] = {}
    for p in providers:
        for job in p.jobs:
            name = hidden_job_name(p, job)
            if name in seen:
                raise ModelError(f"providers/{p.name}/provider.yaml: job {name} is also defined by {seen[name]}",
                                 fix="set a distinct job_prefix")
            seen[name] = p.name
