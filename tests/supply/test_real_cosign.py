"""The whole supply chain on real provider images, checked by the real cosign (Debian unstable's 3.1),
then carried by a bundle into a second registry and used by a provider job in gitlab-ci-local.

Heavy (real builds, a cosign image, a pipeline run): `make test-supply` runs it, with the images built
first; the plain `make test` skips it unless PIPEYARD_TEST_SUPPLY=1.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.supply import signatures as sig
from pipeyard_kit.registry import RegistryClient
from tests.fixtures import ROOT
from tests.publish.conftest import invoke, new_registry
from tests.tools.cosign import Cosign, CosignUnavailable, ensure_image

pytestmark = pytest.mark.skipif(os.environ.get("PIPEYARD_TEST_SUPPLY") != "1",
                                reason="heavy: run by `make test-supply` (PIPEYARD_TEST_SUPPLY=1)")
IMAGES = ("npm", "sendmail")
PASSWORD = "cosign-test-pw"


@pytest.fixture(scope="module")
def eng() -> Iterator:
    from pipeyard.images.containers import engine

    with engine() as e:
        yield e


@pytest.fixture(scope="module")
def cosign(eng, tmp_path_factory: pytest.TempPathFactory) -> Cosign:
    try:
        ensure_image(eng)
    except CosignUnavailable as exc:
        pytest.fail(str(exc))
    work = tmp_path_factory.mktemp("cosign")
    tool = Cosign(eng, work)
    code, out = tool("generate-key-pair", env={"COSIGN_PASSWORD": PASSWORD})
    assert code == 0, out
    return tool


@pytest.fixture
def source(tmp_path: Path) -> Iterator[LocalRegistry]:
    with new_registry(tmp_path / "source") as reg:
        yield reg


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LocalRegistry]:
    with new_registry(tmp_path / "site") as reg:
        yield reg


def cosign_verify(cosign: Cosign, ref: str, *extra: str) -> tuple[int, str]:
    return cosign(*extra or ("verify",), "--key", "cosign.pub", "--insecure-ignore-tlog", "--allow-http-registry", ref)


def test_real_images_signed_by_pipeyard_pass_cosign_and_travel_in_a_bundle(
        eng, cosign: Cosign, source: LocalRegistry, site: LocalRegistry, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The commands use this test's engine: a second podman service on the same socket would stop
    # the first one when its command ends.
    from contextlib import contextmanager

    from pipeyard.cli import publish as publish_cmd

    @contextmanager
    def same_engine() -> Iterator:
        yield eng.client

    monkeypatch.setattr(publish_cmd, "docker_client", same_engine)
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    monkeypatch.setenv("PIPEYARD_CACHE_DIR", str(tmp_path / "cache"))
    key = str(cosign.work / "cosign.key")  # cosign's own encrypted key, opened with COSIGN_PASSWORD
    code, out, err = invoke(capsys, "publish", *IMAGES, "--registry", f"{source.address}/pipeyard", "--no-latest",
                            "--sign", "--key", key)
    assert code == 0, err

    for name in IMAGES:
        ref = f"{source.address}/pipeyard/{name}:1.0.0"
        code, out = cosign_verify(cosign, ref)
        assert code == 0, out
        code, out = cosign_verify(cosign, ref, "verify-attestation", "--type", "cyclonedx")
        assert code == 0, out
        code, out = cosign("tree", "--allow-http-registry", ref)
        assert "application/vnd.cyclonedx+json artifacts via OCI referrer" in out, out

    # Re-tagged: sendmail's tag moved onto npm's digest, and npm's signature put where sendmail's
    # would be. cosign refuses both; so does pipeyard verify.
    client = RegistryClient(source.address, scheme="http")
    npm = client.manifest_digest("pipeyard/npm", "1.0.0")
    data, media_type = client.get_manifest("pipeyard/npm", npm)
    doc = json.loads(data)
    for d in [doc["config"], *doc["layers"]]:
        client.mount_blob("pipeyard/sendmail", d["digest"], "pipeyard/npm")
    client.put_manifest("pipeyard/sendmail", "retagged", data, media_type)
    code, out = cosign_verify(cosign, f"{source.address}/pipeyard/sendmail:retagged")
    assert code != 0 and "no signatures found" in out, out
    sendmail = client.manifest_digest("pipeyard/sendmail", "1.0.0")
    sig_data, sig_type = client.get_manifest("pipeyard/npm", sig.tag_for(npm, "sig"))
    sig_doc = json.loads(sig_data)
    for d in [*sig_doc["layers"], sig_doc["config"]]:
        client.mount_blob("pipeyard/sendmail", d["digest"], "pipeyard/npm")
    client.put_manifest("pipeyard/sendmail", sig.tag_for(sendmail, "sig"), sig_data, sig_type)
    code, out = cosign_verify(cosign, f"{source.address}/pipeyard/sendmail:1.0.0")
    assert code != 0 and "invalid or missing digest in claim" in out, out
    code, out, _ = invoke(capsys, "verify", f"{source.address}/pipeyard/sendmail:1.0.0", "--key",
                          str(cosign.work / "cosign.pub"))
    assert code == 1 and "NOT verified" in out

    # The air-gap kit: made from the local store, loaded into the site's empty registry.
    bundle = tmp_path / "pipeyard-1.0.0.tar"
    code, out, err = invoke(capsys, "bundle", "create", *IMAGES, "-o", str(bundle), "--no-b2i", "--sign", "--key", key)
    assert code == 0, err
    code, out, err = invoke(capsys, "bundle", "verify", str(bundle), "--key", str(cosign.work / "cosign.pub"))
    assert code == 0, err
    target = f"{site.address}/platform"
    load = ("bundle", "load", str(bundle), "--registry", target, "--out", str(tmp_path / "offline"))
    code, out, err = invoke(capsys, *load)
    assert code == 0, err
    before = site.log_offset()
    code, out, err = invoke(capsys, *load)
    assert code == 0 and "nothing uploaded" in out, err
    assert site.blob_uploads(since=before) == 0
    for name in IMAGES:
        code, out = cosign_verify(cosign, f"{target}/{name}:1.0.0")
        assert code == 0, out

    # A provider job from the loaded image, through the rewritten classic template.
    from rich.console import Console

    from pipeyard.demo.helper_image import container_args, ensure_helper_image
    from pipeyard.demo.localci import stage_project

    templates = tmp_path / "offline" / "pipeline-templates"
    assert f"PIPEYARD_REGISTRY: {target}" in (templates / "npm.gitlab-ci.yml").read_text()
    consumer = tmp_path / "consumer-src"
    consumer.mkdir()
    (consumer / ".gitlab-ci.yml").write_text(
        "include:\n  - project: platform/pipeyard\n    ref: 1.0.0\n    file: /npm.gitlab-ci.yml\n"
        "offline-check:\n  extends: .npm-build\n  script:\n    - node --version\n    - echo \"ran in $PIPEYARD_REGISTRY\"\n"
        "  artifacts: {paths: [package.json]}\n")
    (consumer / "package.json").write_text('{"name": "offline-check", "version": "1.0.0"}\n')
    pulled = subprocess.run(["podman", "pull", "--tls-verify=false", f"{target}/npm:1.0.0"], env={**os.environ, **eng.podman_env()},
                            capture_output=True, text=True, timeout=600)
    assert pulled.returncode == 0, pulled.stderr
    helper = ensure_helper_image(eng, Console(stderr=True))
    project = stage_project(consumer, tmp_path / "consumer", templates, "gitlab.example.com/platform/pipeyard",
                            root=ROOT)
    run = project.run(*container_args(helper), "offline-check", env=eng.podman_env(), timeout=600)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert f"ran in {target}" in log and f"{target}/npm:1.0.0" in log
