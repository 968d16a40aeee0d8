"""provider.yaml's variants: one image per toolchain, each pinned, each saying where its tools come from;
a mistake gets one message naming the file, the key and the fix."""

from __future__ import annotations

import pytest

from pipeyard.images.build import select_variants
from pipeyard.model import tools
from pipeyard.model.provider import load_provider, load_providers
from pipeyard.model.site import Site, load_site
from pipeyard_kit.errors import ModelError, UsageError
from tests.fixtures import ROOT
from tests.model.provider_edits import edit_provider


def test_maven_and_npm_declare_the_issues_toolchains():
    maven, npm = load_provider(ROOT, "maven"), load_provider(ROOT, "npm")
    assert [v.name for v in maven.variants] == ["jdk8", "jdk11", "jdk17", "jdk21", "jdk25"]
    assert maven.default_variant.name == "jdk21" and maven.variant_variable() == "MAVEN_JDK"
    assert [v.name for v in npm.variants] == ["node20", "node22", "node24", "node26"]
    assert npm.default_variant.name == "node24" and npm.variant_variable() == "NPM_NODE"
    assert npm.variant("20").eol and not npm.variant("node24").eol  # Node 20 is kept for migration only
    for provider in (maven, npm):
        for v in provider.variants:
            assert len(v.reason) > 40, f"{v.name}: say why its tools come from where they come from"
            for name, tool in v.tools.items():
                assert tools.is_pinned(tool), f"{provider.name} {v.name} {name} is not pinned exactly"
    # The shared tools are in every variant; a variant's own win.
    assert all(v.tools["maven"] == maven.tools["maven"] for v in maven.variants)
    assert {v.tools["jdk"].get("suite") for v in maven.variants} == {"sid", "bookworm-security", None}
    assert all(isinstance(v.tools["node"]["sha256"], dict) for v in npm.variants)  # one per architecture


def test_a_provider_without_variants_has_one_unnamed():
    sonar = load_provider(ROOT, "sonar")
    assert not sonar.has_variants and [v.name for v in sonar.variants] == [""]
    assert sonar.default_variant.dockerfile == "Dockerfile" and sonar.variant(None).suffix == ""
    with pytest.raises(UsageError, match="sonar has no variants"):
        sonar.variant("jdk17")


def test_variants_are_found_by_name_or_value_and_each_has_its_dockerfile():
    maven = load_provider(ROOT, "maven")
    assert maven.variant("17") is maven.variant("jdk17")
    assert maven.variant("jdk21").dockerfile == "Dockerfile" and maven.variant("jdk8").dockerfile == "Dockerfile.jdk8"
    assert maven.variant("jdk8").suffix == "-jdk8"
    with pytest.raises(UsageError) as err:
        maven.variant("jdk9")
    assert err.value.render() == "maven has no variant 'jdk9': use one of: jdk8, jdk11, jdk17, jdk21, jdk25"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["variants"].update(default="9"), "variants.default: '9' is not one of 8, 11, 17, 21, 25"),
    (lambda d: d["variants"]["values"]["8"]["tools"]["jdk"].update(version="8"),
     "variants.values.8.tools.jdk.version: '8' is a release line: pin the exact Debian version"),
    (lambda d: d["variants"]["values"]["8"].pop("reason"), "variants.values.8: missing required key 'reason'"),
    (lambda d: d["variants"].update(input="tags"), "variants.input: 'tags' is taken by another input"),
    (lambda d: d["variants"]["values"]["25"]["tools"]["jdk"].update(source="npm", sha256="0" * 64, into="/opt/x"),
     "suite and provides are for Debian packages only"),
    (lambda d: d["tools"]["maven"].update(suite="sid", version="3.9"),
     "tools.maven: a package from another suite or standing in for others must be pinned"),
])
def test_bad_variants_get_one_clear_message(scratch_repo, change, expected):
    path = edit_provider(scratch_repo, "maven", change)
    with pytest.raises(ModelError) as err:
        load_provider(scratch_repo, "maven")
    assert str(path) in err.value.render() and expected in err.value.render()


def test_an_npm_tool_per_architecture_needs_a_digest_per_architecture(scratch_repo):
    def one_digest(d):
        d["variants"]["values"]["24"]["tools"]["node"]["sha256"] = "0" * 64

    edit_provider(scratch_repo, "npm", one_digest)
    with pytest.raises(ModelError, match=r"names \{arch\} takes one sha256 per architecture"):
        load_provider(scratch_repo, "npm")


def test_the_site_picks_its_default_and_the_variants_it_builds(tmp_path):
    providers = load_providers(ROOT)
    path = tmp_path / "acme.site.yaml"
    path.write_text('variants:\n  maven: {default: "17", only: ["8", jdk17, "21"]}\n')
    site = load_site(path, providers)
    maven = next(p for p in providers if p.name == "maven")
    assert site.default_variant(maven).name == "jdk17"
    assert [v.name for v in site.variants_of(maven)] == ["jdk8", "jdk17", "jdk21"]
    npm = next(p for p in providers if p.name == "npm")
    assert site.default_variant(npm).name == "node24" and len(site.variants_of(npm)) == 4


@pytest.mark.parametrize("text, says", [
    ('variants: {maven: {default: "9"}}\n', "variants.maven.default: '9' is no variant of maven"),
    ('variants: {sonar: {default: "21"}}\n', "variants.sonar: sonar is no provider with variants (those are: "
                                             "maven, npm)"),
    ('variants: {maven: {default: "25", only: ["8", "17"]}}\n', "the default jdk25 is not in `only`"),
])
def test_bad_site_variants_are_refused_with_the_key(tmp_path, text, says):
    path = tmp_path / "bad.site.yaml"
    path.write_text(text)
    with pytest.raises(ModelError) as err:
        load_site(path, load_providers(ROOT))
    assert says in str(err.value)


def test_build_selects_defaults_named_variants_or_all():
    providers = load_providers(ROOT, ["maven", "npm", "sonar"])
    site = Site()

    def names(*args, **kwargs):
        return [f"{p.name}{v.suffix}" for p, v in select_variants(providers, site, *args, **kwargs)]

    assert names() == ["maven-jdk21", "npm-node24", "sonar"]
    assert names(("jdk8", "jdk17")) == ["maven-jdk8", "maven-jdk17", "npm-node24", "sonar"]
    assert names(all_variants=True) == ["maven-jdk8", "maven-jdk11", "maven-jdk17", "maven-jdk21", "maven-jdk25",
                                        "npm-node20", "npm-node22", "npm-node24", "npm-node26", "sonar"]
    with pytest.raises(UsageError, match="--variant jdk9: no variant of the providers built here"):
        names(("jdk9",))
    with pytest.raises(UsageError, match="exclude each other"):
        names(("jdk8",), all_variants=True)
    only = Site(variants={"maven": {"default": "17", "only": ["17", "21"]}})
    picked = select_variants(providers[:1], only, (), True)
    assert [v.name for _, v in picked] == ["jdk17", "jdk21"]
    with pytest.raises(UsageError, match="leaves it out of variants.maven.only"):
        select_variants(providers[:1], only, ("jdk8",))


def test_every_variant_is_tagged_with_its_suffix_and_the_default_plain_too():
    from pipeyard.images.build import BuildRequest

    maven = load_provider(ROOT, "maven")
    request = BuildRequest(root=ROOT, providers=[maven], site=Site(), tags=("edge",))
    assert request.tags_of(maven, maven.variant("jdk8")) == ["localhost/pipeyard/maven:1.0.0-jdk8",
                                                             "localhost/pipeyard/maven:edge-jdk8"]
    assert request.tags_of(maven, maven.variant("jdk21")) == [
        "localhost/pipeyard/maven:1.0.0-jdk21", "localhost/pipeyard/maven:1.0.0",
        "localhost/pipeyard/maven:edge-jdk21", "localhost/pipeyard/maven:edge"]
    site17 = Site(variants={"maven": {"default": "17"}})
    assert "localhost/pipeyard/maven:1.0.0" in BuildRequest(root=ROOT, providers=[maven], site=site17).tags_of(
        maven, maven.variant("jdk17"))
