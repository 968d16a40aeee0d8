"""What the variants render to: an input and a classic variable per provider with variants, a
Dockerfile per variant, and README tables that say where each variant's tools come from."""

from __future__ import annotations

import yaml

from pipeyard.model.provider import load_provider, load_providers
from pipeyard.model.site import Site, load_site
from pipeyard.render.outputs import build_outputs, dockerfiles
from pipeyard_kit import __version__
from tests.fixtures import ROOT


def _outputs(site: Site | None = None):
    providers = load_providers(ROOT)
    return build_outputs(ROOT, providers, site or load_site(ROOT / "pipeyard.site.yaml", providers))


def test_the_component_offers_the_variants_and_names_the_image_by_the_variable():
    out = _outputs()
    header, body = yaml.safe_load_all(out.templates["templates/maven.yml"])
    jdk = header["spec"]["inputs"]["jdk"]
    assert (jdk["options"], jdk["default"]) == (["8", "11", "17", "21", "25"], "21")
    assert header["spec"]["inputs"]["provider-image"]["default"] == f"$PIPEYARD_REGISTRY/maven:{__version__}-jdk$MAVEN_JDK"
    for job in body.values():
        assert job["variables"]["MAVEN_JDK"] == "$[[ inputs.jdk ]]"
        assert job["image"] == "$[[ inputs.provider-image ]]"
    header, body = yaml.safe_load_all(out.templates["templates/npm.yml"])
    inputs = header["spec"]["inputs"]
    assert inputs["node"]["options"] == ["20", "22", "24", "26"] and "20 (end of life" in inputs["node"]["description"]
    assert inputs["package-manager"]["options"] == ["auto", "npm", "yarn", "pnpm"]
    assert body["$[[ inputs.job-prefix ]]build"]["script"] == ["package-manager install",
                                                             "package-manager run build --if-present"]


def test_the_classic_include_reads_the_variable_with_the_sites_default():
    site = Site(variants={"maven": {"default": "17", "only": ["8", "17"]}})
    out = _outputs(site)
    classic = yaml.safe_load(out.templates["maven.gitlab-ci.yml"])
    for job in classic.values():
        assert job["image"] == f"$PIPEYARD_REGISTRY/maven:{__version__}-jdk$MAVEN_JDK"
        assert job["variables"]["MAVEN_JDK"] == "17"
    header, _ = yaml.safe_load_all(out.templates["templates/maven.yml"])
    assert header["spec"]["inputs"]["jdk"]["options"] == ["8", "17"]
    assert header["spec"]["inputs"]["jdk"]["default"] == "17"
    # The plain tag is the site's default variant's.
    assert f"`maven:{__version__}-jdk17`, `maven:{__version__}`" in out.files["providers/maven/README.md"]


def test_every_variant_has_its_dockerfile_and_readme_row():
    out = _outputs()
    maven = load_provider(ROOT, "maven")
    rendered = dockerfiles(maven)
    assert sorted(rendered) == ["Dockerfile", "Dockerfile.jdk11", "Dockerfile.jdk17", "Dockerfile.jdk25",
                                "Dockerfile.jdk8"]
    assert 'dev.pipeyard.variant="jdk21"' in rendered["Dockerfile"]
    assert "openjdk-8-jdk-headless=8u504-ga-1" in rendered["Dockerfile.jdk8"]
    assert "Suites: %s" in rendered["Dockerfile.jdk8"] and '"$uri" sid' in rendered["Dockerfile.jdk8"]
    assert "Provides: java7-runtime-headless" in rendered["Dockerfile.jdk25"]
    readme = out.files["providers/npm/README.md"]
    assert "| `node20` **end of life** | `20` |" in readme and "reached its end of life" in readme
    assert "| `node24` (default) | `24` | `npm:1.0.0-node24`, `npm:1.0.0` |" in readme
    assert "## Toolchain variants" in out.templates["README.md"]
