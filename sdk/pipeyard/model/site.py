"""The site file: a platform team's non-secret defaults, in one place.

`pipeyard build` bakes them into the images (/etc/pipeyard/site.json) and
`pipeyard render` makes them the template defaults, so a consumer job needs no
variables at all. Secrets are refused here: they only ever come from CI/CD variables.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from pipeyard.model.provider import Provider, Setting, Variant, _best_error, _describe
from pipeyard_kit import settings
from pipeyard_kit.errors import ModelError
from pipeyard_kit.yamlio import load_yaml

SITE_ENV = "PIPEYARD_SITE"
DEFAULT_SITE_NAME = "pipeyard.site.yaml"
EMBEDDED_REGISTRY = "127.0.0.1:5000/pipeyard"


@cache
def site_schema() -> dict[str, Any]:
    return json.loads(resources.files("pipeyard.model").joinpath("schemas/site.schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Site:
    path: Path | None = None
    registry: str = EMBEDDED_REGISTRY
    base_registry: str = "localhost/pipeyard"
    component_project: str = "gitlab.example.com/platform/pipeyard"
    runner_tags: tuple[str, ...] = ("k8s-runner",)
    defaults: dict[str, Any] = field(default_factory=dict)
    ca_certificates: tuple[str, ...] = ()
    # What the images are called under `registry`: a pattern over the provider's name, and names for
    # single providers that win over it. Unset, each image keeps provider.yaml's image.name.
    image_name: str | None = None
    image_names: dict[str, str] = field(default_factory=dict)
    # Per provider with variants: {"default": "17", "only": ["8", "17", "21"]}.
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    npm_registry: str | None = None
    # Harbor's supply-chain settings (scan_on_push, prevent_vulnerable, require_signatures,
    # generate_sbom), read by pipeyard.publish.harbor.security.
    harbor: dict[str, Any] = field(default_factory=dict)

    def variants_of(self, provider: Provider) -> list[Variant]:
        """The variants this site builds and offers: provider.yaml's, narrowed by the site's `only`."""
        only = self.variants.get(provider.name, {}).get("only")
        if not only:
            return list(provider.variants)
        return [provider.variant(v) for v in only]

    def default_variant(self, provider: Provider) -> Variant:
        """The site's default variant of the provider: the template default and the plain tags."""
        chosen = self.variants.get(provider.name, {}).get("default")
        return provider.variant(chosen) if chosen else provider.default_variant

    def image_of(self, provider: Provider) -> str:
        """The provider's image name at this site: render, build, publish, mirror and the templates use it."""
        if provider.name in self.image_names:
            return self.image_names[provider.name]
        if self.image_name:
            return self.image_name.format(provider=provider.name)
        return provider.image_name

    def defaults_for(self, provider: Provider) -> dict[str, Any]:
        declared = {s.env for s in provider.settings if not s.secret}
        return {k: v for k, v in sorted(self.defaults.items()) if k in declared}

    def default(self, provider: Provider, env: str) -> Any:
        """The effective template default: the site's, else provider.yaml's."""
        site = self.defaults_for(provider)
        if env in site:
            return site[env]
        return provider.setting(env).default

    def baked_json(self, provider: Provider) -> str:
        return json.dumps({"defaults": self.defaults_for(provider)}, indent=2, sort_keys=True) + "\n"


def _read_pem(base: Path, item: str) -> str:
    if "-----BEGIN CERTIFICATE-----" in item:
        return item.strip() + "\n"
    path = (base / item).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"site ca_certificates: {path} cannot be read ({exc.strerror})",
                         fix="fix the path (relative to the site file) or inline the PEM block") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ModelError(f"site ca_certificates: {path} holds no PEM certificate", fix="point it at a PEM file")
    return text.strip() + "\n"


def find_site(root: Path | None = None) -> Path | None:
    """--site, else $PIPEYARD_SITE, else pipeyard.site.yaml in the checkout."""
    env = os.environ.get(SITE_ENV)
    if env:
        if not Path(env).is_file():
            raise ModelError(f"{SITE_ENV}={env} names no site file",
                             fix=f"point {SITE_ENV} at a site file (see examples/site/acme.site.yaml), or unset it")
        return Path(env)
    if root is not None and (root / DEFAULT_SITE_NAME).is_file():
        return root / DEFAULT_SITE_NAME
    return None


def load_site(path: Path | None, providers: list[Provider] | None = None) -> Site:
    if path is None:
        return Site()
    data = load_yaml(path, what="site file") or {}
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a mapping at the top level", fix="see examples/site/acme.site.yaml")
    errors = list(jsonschema.Draft202012Validator(site_schema()).iter_errors(data))
    if errors:
        raise ModelError(f"{path}: {_describe(_best_error(errors))}")
    defaults = dict(data.get("defaults", {}))
    if providers is not None:
        _check_defaults(path, defaults, providers)
    pems = tuple(_read_pem(path.parent, item) for item in data.get("ca_certificates", ()))
    site = Site(path=path, registry=data.get("registry", EMBEDDED_REGISTRY),
                base_registry=data.get("base_registry", "localhost/pipeyard"),
                component_project=data.get("component_project", Site.component_project),
                runner_tags=tuple(data.get("runner_tags", ("k8s-runner",))),
                defaults=defaults, ca_certificates=pems, image_name=data.get("image_name"),
                image_names=dict(data.get("image_names", {})), variants=dict(data.get("variants", {})),
                npm_registry=data.get("npm_registry"), harbor=dict(data.get("harbor") or {}))
    if providers is not None:
        _check_image_names(path, site, providers)
        _check_variants(path, site, providers)
    return site


def _check_variants(path: Path, site: Site, providers: list[Provider]) -> None:
    """The site's variant choices name real variants, and its default is one it builds."""
    by_name = {p.name: p for p in providers}
    problems = []
    for name, choice in sorted(site.variants.items()):
        provider = by_name.get(name)
        if provider is None or not provider.has_variants:
            with_variants = ", ".join(p.name for p in providers if p.has_variants) or "none"
            problems.append(f"variants.{name}: {name} is no provider with variants (those are: {with_variants})")
            continue
        known = {v.value for v in provider.variants} | {v.name for v in provider.variants}
        for key in ("default", *(f"only[{i}]" for i in range(len(choice.get("only", []))))):
            value = choice.get("default") if key == "default" else choice["only"][int(key[5:-1])]
            if value is not None and value not in known:
                problems.append(f"variants.{name}.{key}: '{value}' is no variant of {name} (use one of "
                                f"{', '.join(v.value for v in provider.variants)})")
        if not problems and choice.get("only") and site.default_variant(provider) not in site.variants_of(provider):
            problems.append(f"variants.{name}: the default {site.default_variant(provider).name} is not in `only`: "
                            "add it there or choose another default")
    if problems:
        raise ModelError(f"{path}: " + "; ".join(problems),
                         fix="name variants by value (\"17\") or name (jdk17), as provider.yaml declares them")


_IMAGE_NAME = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


def _check_image_names(path: Path, site: Site, providers: list[Provider]) -> None:
    """Every provider gets a valid repository name of its own; all problems are reported at once."""
    known = {p.name for p in providers}
    problems = [f"image_names.{name}: no provider is called {name}" for name in sorted(site.image_names)
                if name not in known]
    owner: dict[str, str] = {}
    for p in providers:
        name = site.image_of(p)
        if not _IMAGE_NAME.match(name):
            problems.append(f"the image of {p.name} would be called {name!r}, not a valid repository name")
        elif name in owner:
            problems.append(f"{p.name} and {owner[name]} would both be called {name!r}")
        owner.setdefault(name, p.name)
    if problems:
        raise ModelError(f"{path}: " + "; ".join(problems),
                         fix="give image_name a {provider} placeholder and image_names lowercase names, "
                             "one per provider")


def _check_defaults(path: Path, defaults: dict[str, Any], providers: list[Provider]) -> None:
    """Every default names a declared, non-secret setting and holds a value that setting takes (the
    same check a job's variable gets), so a bad default fails at render time, not in every job."""
    declared: dict[str, Setting] = {}
    secret: set[str] = set()
    for p in providers:
        for s in p.settings:
            declared.setdefault(s.env, s)
            if s.secret:
                secret.add(s.env)
    problems = []
    for name, value in defaults.items():
        if name not in declared:
            problems.append(f"defaults.{name}: no provider declares this setting: check the spelling against the "
                            "providers' README tables")
        elif name in secret:
            problems.append(f"defaults.{name} is a secret and is never baked into images or templates: remove it "
                            f"and set {name} as a masked CI/CD variable (group level)")
        else:
            _, problem = settings.convert(declared[name].to_json(), value, "site file")
            if problem:
                problems.append(f"defaults.{problem}")
    if len(problems) == 1:
        raise ModelError(f"{path}: {problems[0]}")
    if problems:
        raise ModelError(f"{path}: {len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))
