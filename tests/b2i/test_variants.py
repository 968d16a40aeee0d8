"""The B2I base variants for the maven provider's JDKs: jdk_of takes a maven variant's JDK package, pin
and Debian suite, so an app runs on the JDK it was built with. The image checks build each such base
(`make test-variants`; `make test` keeps to the bases test_image.py builds)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from pipeyard.b2i import spec as spec_mod
from pipeyard.model import tools
from pipeyard.model.provider import load_provider
from pipeyard_kit.errors import ConfigError
from tests.fixtures import ROOT, all_variants

from .conftest import b2i, podman

JDK_OF_MAVEN = ["8-trixie", "11-trixie", "25-trixie"]


def test_jdk_of_takes_the_maven_variants_jdk_pin_and_suite():
    spec = spec_mod.load(ROOT / "b2i" / "b2i.yaml")
    maven = load_provider(ROOT, "maven")
    for name in JDK_OF_MAVEN:
        variant = spec.variants[name]
        jdk = maven.variant(variant.jdk).tools["jdk"]
        assert variant.packages == (tools.apt_spec(jdk),)
        assert variant.suites == ((jdk["suite"],) if jdk.get("suite") else ())
    assert spec_mod.apt_sources(("bookworm-security", "sid")) == ("bookworm", "bookworm-security", "sid")


def test_a_jdk_of_naming_no_variant_is_refused_with_the_key(tmp_path: Path):
    data = yaml.safe_load((ROOT / "b2i" / "b2i.yaml").read_text())
    data["variants"]["9-trixie"] = {"release": "trixie", "jdk": "9", "jdk_of": "maven"}
    path = tmp_path / "b2i.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        spec_mod.load(path)
    assert "variants.9-trixie.jdk_of: maven has no variant '9'" in str(err.value)


@pytest.mark.images
@pytest.mark.skipif(not all_variants(), reason="every B2I variant is built in `make test-variants`")
@pytest.mark.parametrize("variant", JDK_OF_MAVEN)
def test_the_base_runs_its_jdk_as_a_non_root_user(variant, spec_path, podman_env, tmp_path):
    built = b2i("base", "--config", str(spec_path), "--variant", variant)
    assert built.returncode == 0, built.stderr[-3000:]
    ref = f"localhost/pipeyard/b2i-java:{variant}"
    jdk = variant.split("-")[0]
    version = podman(podman_env, "run", "--rm", ref, "java", "-version").stderr
    assert version.startswith(f'openjdk version "{"1.8.0" if jdk == "8" else jdk}'), version
    assert podman(podman_env, "run", "--rm", ref, "id", "-u").stdout.strip() == "10001"
    # A Java 8 class runs on every one of them.
    source = tmp_path / "Hi.java"
    source.write_text('public class Hi { public static void main(String[] a) { System.out.println("hi " + '
                      'System.getProperty("java.specification.version")); } }\n')
    subprocess.run(["javac", "--release", "8", "-d", str(tmp_path), str(source)], check=True)
    # The image's user (10001) reads the class through the bind mount; pytest makes tmp_path 0700.
    tmp_path.chmod(0o755)
    (tmp_path / "Hi.class").chmod(0o644)
    out = podman(podman_env, "run", "--rm", "-v", f"{tmp_path}:/classes:ro,z", ref, "java", "-cp", "/classes", "Hi")
    assert out.stdout.strip() == f"hi {'1.8' if jdk == '8' else jdk}"
    labels = podman(podman_env, "image", "inspect", ref, "--format", "{{json .Config.Labels}}").stdout
    assert spec_mod.load(spec_path).variants[variant].packages[0] in labels
