"""The supply-chain commands as a user runs them: publish --sign, sbom, verify, bundle create|verify|load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.supply import signatures as sig
from pipeyard_kit.registry import RegistryClient
from tests.publish.conftest import invoke
from tests.publish.fake_harbor import FakeHarbor
from tests.publish.imagefactory import FakeDockerClient


def publish(capsys, registry: LocalRegistry, *extra: str) -> tuple[int, str, str]:
    return invoke(capsys, "publish", "maven", "npm", "--registry", f"{registry.address}/pipeyard", "--no-latest",
                  *extra)


def test_sign_without_a_key_is_one_clear_error_before_anything_is_pushed(
        cli_store: FakeDockerClient, registry: LocalRegistry, capsys) -> None:
    code, out, err = publish(capsys, registry, "--sign")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: signing needs a key, and PIPEYARD_SIGNING_KEY is not set")
    assert registry.blob_uploads() == 0
    code, _, err = publish(capsys, registry, "--key", "k.pem")
    assert code == 2 and "--key is the signing key of --sign" in err


def test_publish_signs_and_attests_then_verify_and_sbom_read_them_back(
        cli_store: FakeDockerClient, registry: LocalRegistry, capsys, keypair, other_keypair, tmp_path: Path) -> None:
    code, out, err = publish(capsys, registry, "--sign", "--key", str(keypair[0]))
    assert code == 0, err
    assert "SBOM attached" in out and "signature added" in out and "SBOM attestation added" in out
    code, out, err = publish(capsys, registry, "--sign", "--key", str(keypair[0]))
    assert code == 0, err
    assert out.splitlines()[-1].startswith("nothing changed: 0 blobs uploaded")
    assert "signature already there" in out and "SBOM already attached" in out

    image = f"{registry.address}/pipeyard/maven:1.0.0"
    code, out, err = invoke(capsys, "verify", image, "--key", str(keypair[1]), "--attestation")
    assert code == 0, err
    assert "signature: verified" in out and "SBOM attestation: verified" in out
    code, out, err = invoke(capsys, "verify", image, "--key", str(other_keypair[1]))
    assert code == 1 and "signature: NOT verified: the signature does not match the key" in out
    assert "is not signed by" in err

    code, out, err = invoke(capsys, "sbom", image)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["bomFormat"] == "CycloneDX" and any(c["name"] == "pipeyard-maven" for c in doc["components"])
    code, out, err = invoke(capsys, "sbom", image, "-o", str(tmp_path / "maven.cdx.json"))
    assert code == 0 and json.loads((tmp_path / "maven.cdx.json").read_text()) == doc
    code, out, err = invoke(capsys, "sbom", "localhost/pipeyard/npm:1.0.0", "--summary")
    assert code == 0 and "1 pypi" in out


def test_a_signature_retagged_onto_another_digest_is_refused(
        cli_store: FakeDockerClient, registry: LocalRegistry, capsys, keypair) -> None:
    assert publish(capsys, registry, "--sign", "--key", str(keypair[0]))[0] == 0
    client = RegistryClient(registry.address, scheme="http")
    maven = client.manifest_digest("pipeyard/maven", "1.0.0")
    # npm's signature image, tagged as maven's: its payload names npm's digest.
    npm = client.manifest_digest("pipeyard/npm", "1.0.0")
    data, media_type = client.get_manifest("pipeyard/npm", sig.tag_for(npm, "sig"))
    doc = json.loads(data)
    for d in [doc["config"], *doc["layers"]]:
        client.mount_blob("pipeyard/maven", d["digest"], "pipeyard/npm")
    client.put_manifest("pipeyard/maven", sig.tag_for(maven, "sig"), data, media_type)
    code, out, _ = invoke(capsys, "verify", f"{registry.address}/pipeyard/maven:1.0.0", "--key", str(keypair[1]))
    assert code == 1 and f"the payload signs {npm[:19]}, not {maven[:19]}" in out


def test_harbor_that_requires_signatures_refuses_an_unsigned_publish(
        cli_store: FakeDockerClient, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("harbor:\n  require_signatures: true\n")
    monkeypatch.setenv("HARBOR_USERNAME", "admin")
    monkeypatch.setenv("HARBOR_PASSWORD", "Harbor12345")
    with FakeHarbor() as harbor:
        code, _, err = invoke(capsys, "publish", "maven", "--harbor", harbor.url, "--site", str(site))
        assert code == 2 and "harbor.require_signatures" in err and "--sign" in err
        assert harbor.writes() == []


def test_bundle_create_verify_and_load_twice(cli_store: FakeDockerClient, capsys, keypair, tmp_path: Path,
                                           site_registry: LocalRegistry) -> None:
    bundle = tmp_path / "pipeyard-1.0.0.tar"
    code, out, err = invoke(capsys, "bundle", "create", "maven", "npm", "-o", str(bundle), "--no-b2i",
                            "--sign", "--key", str(keypair[0]))
    assert code == 0, err
    assert "2 images" in out and "shared blobs stored once" in out and "signed" in out
    code, out, err = invoke(capsys, "bundle", "verify", str(bundle), "--key", str(keypair[1]))
    assert code == 0, err
    assert "maven:1.0.0" in out and "signature verified, attestation verified" in out

    args = ("bundle", "load", str(bundle), "--registry", f"{site_registry.address}/platform",
            "--out", str(tmp_path / "site"))
    code, out, err = invoke(capsys, *args)
    assert code == 0, err
    assert "loaded 2 images" in out and f"PIPEYARD_REGISTRY={site_registry.address}/platform" in out
    assert "The component project (gitlab.example.com/platform/pipeyard) needs:" in out
    # The templates name <version>-<variant>: the default variant's tag came along with the plain one.
    client = RegistryClient(site_registry.address, scheme="http")
    assert client.manifest_digest("platform/maven", "1.0.0-jdk21") == client.manifest_digest("platform/maven", "1.0.0")
    assert client.manifest_digest("platform/npm", "1-node24") == client.manifest_digest("platform/npm", "1")
    code, out, err = invoke(capsys, *args)
    assert code == 0, err
    assert "nothing uploaded" in out

    bundle.write_bytes(bundle.read_bytes().replace(b"pipeyard-maven", b"pipeyard-mavem", 1))
    code, out, err = invoke(capsys, "bundle", "verify", str(bundle))
    assert code == 1 and "does not match its sha256" in err


def test_bundle_load_with_harbor_applies_the_site_policy_first(
        cli_store: FakeDockerClient, capsys, keypair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.publish.registry_proxy import RegistryProxy

    bundle = tmp_path / "pipeyard-1.0.0.tar"
    assert invoke(capsys, "bundle", "create", "maven", "-o", str(bundle), "--no-b2i", "--sign", "--key",
                  str(keypair[0]))[0] == 0
    site = tmp_path / "site.yaml"
    site.write_text("harbor:\n  require_signatures: true\n  prevent_vulnerable: high\n")
    monkeypatch.setenv("HARBOR_USERNAME", "admin")
    monkeypatch.setenv("HARBOR_PASSWORD", "Harbor12345")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    from tests.publish.conftest import new_registry

    with new_registry(tmp_path / "harbor-registry") as reg, \
            FakeHarbor(registry=RegistryProxy(reg.address, users={"admin": "Harbor12345"})) as harbor:
        code, out, err = invoke(capsys, "bundle", "load", str(bundle), "--registry", f"{harbor.address}/pipeyard",
                                "--harbor", harbor.url, "--site", str(site), "--out", str(tmp_path / "o"))
        assert code == 0, err
        meta = harbor.projects["pipeyard"]["metadata"]
        assert meta["enable_content_trust_cosign"] == "true" and meta["severity"] == "high"
        assert out.index("cosign signatures") < out.index("loaded 1 images")
        client = RegistryClient(reg.address, scheme="http")
        digest = client.manifest_digest("pipeyard/maven", "1.0.0")
        assert client.manifest_digest("pipeyard/maven", sig.tag_for(digest, "sig")) is not None
