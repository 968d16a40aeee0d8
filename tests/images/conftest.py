"""The provider images, built once per session with planted fake secrets, shared by every image test.

The build runs with fake tokens in its environment and in its site file (as secret
defaults, which load_site accepts only without the provider check), so the secret
scan proves that neither path reaches a layer, the config or the history.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

from pipeyard.model.provider import load_providers
from pipeyard.model.site import load_site
from tests.fixtures import all_variants, variants_under_test

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "localhost/pipeyard-test"
PROVIDERS = [p.name for p in load_providers(ROOT)]
SECRET_SETTINGS = sorted({s.env for p in load_providers(ROOT) for s in p.settings if s.secret})


@pytest.fixture(scope="session")
def planted() -> dict[str, str]:
    """Fake secrets, unique to this session so a hit can only come from this build."""
    tag = secrets.token_hex(6)
    values = {name: f"planted-{name.lower()}-{tag}" for name in SECRET_SETTINGS}
    values["AWS_SECRET_ACCESS_KEY"] = f"planted-aws-{tag}"
    return values


def _make_ca(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cert = folder / "test-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(folder / "test-ca.key"), "-out", str(cert),
                    "-subj", "/CN=pipeyard image tests CA",
                    # What a company CA carries, and what Python 3.13's strict verification requires of one.
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                    "-addext", "subjectKeyIdentifier=hash"], check=True, capture_output=True)
    return cert


@pytest.fixture(scope="session")
def site_ca(tmp_path_factory) -> Path:
    return _make_ca(tmp_path_factory.mktemp("site-ca"))


# Non-secret site defaults, one or more per provider, baked into /etc/pipeyard/site.json.
SITE_DEFAULTS = {
    "MAVEN_MIRROR_URL": "https://nexus.example.com/repository/maven-public",
    "NPM_REGISTRY_URL": "https://nexus.example.com/repository/npm-group/",
    "SONAR_HOST_URL": "https://sonar.example.com",
    "SMTP_HOST": "smtp.example.com",
    "SMTP_PORT": 587,
    "SCREENSHOT_TIMEOUT": 45,
    "B2I_APP_REGISTRY": "harbor.example.com/apps",
}


@pytest.fixture(scope="session")
def site_file(tmp_path_factory, planted: dict[str, str], site_ca: Path) -> Path:
    import json

    folder = tmp_path_factory.mktemp("site")
    defaults = {**SITE_DEFAULTS, **planted}
    text = ("base_registry: localhost/pipeyard\n"
            f"defaults: {json.dumps(defaults)}\n"
            f"ca_certificates: [{json.dumps(str(site_ca))}]\n")
    path = folder / "planted.site.yaml"
    path.write_text(text)
    return path


def image_key(provider: str, variant: str) -> str:
    """How the image tests name an image: the provider, or provider:variant with PIPEYARD_TEST_VARIANTS=all."""
    return f"{provider}:{variant}" if variant and all_variants() else provider


# Every image under test: each provider's default variant, or every variant of every provider.
IMAGES = [image_key(p.name, v) for p in load_providers(ROOT) for v in variants_under_test(p.name)]


@pytest.fixture(scope="session")
def built(eng, site_file: Path, planted: dict[str, str], console) -> dict[str, object]:
    """Every image under test, built from a checkout with fake tokens in the build's environment."""
    from pipeyard.images.base import bootstrap
    from pipeyard.images.build import BuildRequest, build_images

    providers = load_providers(ROOT)
    for release in sorted({p.base.split(":")[1] for p in providers}):
        bootstrap(eng, release, console=console)
    site = load_site(site_file)  # no provider check: the planted secret defaults stay in
    saved = dict(os.environ)
    os.environ.update(planted)
    try:
        results = build_images(eng, BuildRequest(root=ROOT, providers=providers, site=site, prefix=PREFIX,
                                                 all_variants=all_variants()), console=console)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {image_key(r.provider, r.variant): r for r in results}
