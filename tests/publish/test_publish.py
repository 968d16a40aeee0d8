"""`pipeyard publish`: local images -> a registry by digest, tags last, idempotent, clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.model.provider import load_provider, provider_names
from pipeyard.publish import images as pub
from pipeyard.publish.archive import LayerCache
from pipeyard_kit import __version__
from pipeyard_kit.errors import BuildError
from pipeyard_kit.registry import RegistryClient, Target
from tests.fixtures import ROOT, free_port, run_cli

from .conftest import PASSWORD, USER, invoke
from .fake_harbor import FakeHarbor
from .imagefactory import FakeDockerClient, noise
from .registry_proxy import RegistryProxy


def add_provider_image(store: FakeDockerClient, name: str, app: bytes = b"#!/bin/sh\necho v1\n",
                       variant: str | None = None):
    """The image `pipeyard build NAME` leaves: the provider's default variant unless `variant` names another
    ("" for none: the library tests publish plain local refs)."""
    base = {"usr/lib/os.bin": noise("os", 120_000)}
    chosen = load_provider(ROOT, name).variant(variant).name if name in PROVIDERS and variant != "" else ""
    return store.add(pub.local_ref(name, __version__, chosen),
                     [base, {f"usr/lib/{name}{chosen}.bin": noise(name + chosen, 40_000)},
                      {f"usr/local/bin/{name}-entry": app}])


PROVIDERS = provider_names(ROOT)


def tags_of(reg_url: str, repo: str) -> list[str]:
    """The image's tags; not the OCI referrers fallback tag (sha256-<hex>) its SBOM is listed under."""
    r = requests.get(f"{reg_url}/v2/{repo}/tags/list", timeout=5)
    tags = r.json().get("tags") or [] if r.status_code == 200 else []
    return sorted(t for t in tags if not t.startswith("sha256-"))




# -- tags ------------------------------------------------------------------------------------------
def test_tags_version_major_sha_release_then_latest() -> None:
    assert pub.plan_tags("1.4.2", sha="0a1b2c3d", latest=True) == ["1.4.2", "1", "0a1b2c3d", "latest"]
    assert pub.plan_tags("1.4.2", sha="0a1b2c3d", latest=False, release="v1.4.2") == ["1.4.2", "1", "0a1b2c3d",
                                                                                       "v1.4.2"]
    assert pub.plan_tags("2", sha=None, latest=False) == ["2"]
    assert pub.plan_tags("1.0.0", sha=None, latest=True, extra=("stable", "1")) == ["1.0.0", "1", "stable", "latest"]


def test_sha_and_default_branch_come_from_gitlab_ci_variables() -> None:
    ci = {"CI_COMMIT_SHORT_SHA": "deadbeef", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_BRANCH": "main"}
    assert pub.git_sha(env=ci) == "deadbeef"
    assert pub.on_default_branch(env=ci)
    assert not pub.on_default_branch(env={**ci, "CI_COMMIT_BRANCH": "feature/x"})
    assert not pub.on_default_branch(env={"CI_DEFAULT_BRANCH": "main", "CI_COMMIT_TAG": "v1.0.0"})


def test_sha_from_git_outside_ci(repo_root: Path) -> None:
    sha = pub.git_sha(repo_root, env={})
    assert sha is not None and len(sha) == 8


# -- the library ----------------------------------------------------------------------------------
def test_publish_then_republish_uploads_nothing_and_says_so(registry: LocalRegistry, store: FakeDockerClient,
                                                            cache: LayerCache) -> None:
    for name in ("maven", "npm"):
        add_provider_image(store, name, variant="")
    images = [pub.LocalImage(n, pub.local_ref(n)) for n in ("maven", "npm")]
    target = Target.parse(f"{registry.address}/pipeyard")
    tags = pub.plan_tags("1.0.0", sha="abcdef12", latest=True)
    lines: list[str] = []
    first = pub.publish_images(store, images, target, RegistryClient(registry.address, scheme="http"), tags,
                               cache=cache, echo=lines.append)
    assert tags_of(registry.url, "pipeyard/maven") == ["1", "1.0.0", "abcdef12", "latest"]
    # The base layer is shared: uploaded for maven, mounted into npm.
    assert (first[0].stats.uploaded, first[1].stats.uploaded, first[1].stats.mounted) == (4, 3, 1)
    assert lines[-1].startswith(f"published 2 images to {registry.address}/pipeyard: 7 blobs uploaded")

    before = registry.log_offset()
    lines.clear()
    second = pub.publish_images(store, images, target, RegistryClient(registry.address, scheme="http"), tags,
                                cache=cache, echo=lines.append)
    assert registry.blob_uploads(since=before) == 0
    assert [r.stats.uploaded for r in second] == [0, 0]
    assert [r.digest for r in second] == [r.digest for r in first]
    assert lines[-1] == f"nothing changed: 0 blobs uploaded; {registry.address}/pipeyard already has all 2 images and their tags"
    assert "tags already in place" in lines[0]
    assert all(store.images.get(i.ref).saves == 1 for i in images), "an unchanged image is not exported again"


def test_missing_local_images_are_named_with_the_build_command(registry: LocalRegistry,
                                                               store: FakeDockerClient, cache: LayerCache) -> None:
    add_provider_image(store, "maven", variant="")
    images = [pub.LocalImage(n, pub.local_ref(n)) for n in ("maven", "npm", "sonar")]
    with pytest.raises(BuildError) as e:
        pub.publish_images(store, images, Target.parse(f"{registry.address}/p"),
                           RegistryClient(registry.address, scheme="http"), ["1"], cache=cache, echo=lambda _: None)
    assert str(e.value) == (f"not in the local image store: localhost/pipeyard/npm:{__version__}, "
                            f"localhost/pipeyard/sonar:{__version__}: build them first: pipeyard build npm sonar")
    assert tags_of(registry.url, "p/maven") == [], "nothing is pushed when an image is missing"


def test_the_default_target_starts_the_embedded_registry_once(tmp_path: Path) -> None:
    target = Target.parse(f"127.0.0.1:{free_port()}/pipeyard")
    said: list[str] = []
    pub.start_embedded(target, root=tmp_path / "embedded", echo=said.append)
    reg = LocalRegistry(tmp_path / "embedded", port=int(target.host.split(":")[1]))
    try:
        assert reg.running
        assert said and said[0].startswith(f"started the embedded registry on {target.host}")
        pub.start_embedded(target, root=tmp_path / "embedded", echo=said.append)
        assert len(said) == 1, "a running registry is reused silently"
    finally:
        reg.stop()


# -- the command -----------------------------------------------------------------------------------
def test_cli_publishes_and_a_second_run_says_nothing_changed(registry: LocalRegistry, cli_store: FakeDockerClient,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_COMMIT_SHORT_SHA", "c0ffee00")
    add_provider_image(cli_store, "maven")
    args = ("publish", "maven", "--registry", f"{registry.address}/pipeyard", "--no-latest")
    code, out, err = invoke(capsys, *args)
    assert code == 0, err
    # The default variant (jdk21) gets every tag plain and with its suffix.
    assert tags_of(registry.url, "pipeyard/maven") == sorted(["1", __version__, "c0ffee00", "1-jdk21",
                                                              f"{__version__}-jdk21", "c0ffee00-jdk21"])
    assert f"{registry.address}/pipeyard/maven@sha256:" in out

    code, out, err = invoke(capsys, *args)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("nothing changed: 0 blobs uploaded")

    # One line of the entrypoint changes: only that layer and the config go up (and the new image's SBOM).
    add_provider_image(cli_store, "maven", app=b"#!/bin/sh\necho v2\n")
    before = registry.log_offset()
    code, out, err = invoke(capsys, *args)
    assert code == 0, err
    assert registry.blob_uploads(since=before) == 3
    assert "2 blobs uploaded" in out


def test_cli_publish_json_is_one_document_on_stdout(registry: LocalRegistry, cli_store: FakeDockerClient,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_COMMIT_SHORT_SHA", "c0ffee01")
    add_provider_image(cli_store, "maven")
    code, out, err = invoke(capsys, "publish", "maven", "--registry", f"{registry.address}/pipeyard", "--no-latest",
                            "--no-sbom", "--json")
    assert code == 0, err
    doc = json.loads(out)  # the progress lines went to stderr
    assert doc["schema"] == "pipeyard.publish/v1" and doc["registry"] == f"{registry.address}/pipeyard"
    [image] = doc["images"]
    assert image["name"] == "maven" and image["reference"] == f"{registry.address}/pipeyard/maven"
    assert {"1", __version__, "c0ffee01"} <= set(image["tags"]) and image["digest"].startswith("sha256:")
    assert image["uploaded"] >= 2 and image["uploaded_bytes"] > 0 and image["size"] > 0
    assert "blobs uploaded" in err
    tag = requests.head(f"{registry.url}/v2/pipeyard/maven/manifests/{__version__}", timeout=5, headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert tag.headers["Docker-Content-Digest"] == image["digest"]


def test_cli_publishes_to_harbor_through_its_token_auth(harbor: FakeHarbor, registry: LocalRegistry,
                                                        cli_store: FakeDockerClient, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARBOR_USERNAME", "admin")
    monkeypatch.setenv("HARBOR_PASSWORD", "Harbor12345")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    add_provider_image(cli_store, "npm")
    code, out, err = invoke(capsys, "publish", "npm", "--harbor", harbor.url, "--latest", "--tag", "stable")
    assert code == 0, err
    assert f"Harbor {harbor.url}, project pipeyard:" in out
    assert f"{harbor.address}/pipeyard/npm@sha256:" in out
    assert {"latest", "stable", "latest-node24", "stable-node24"} <= set(tags_of(registry.url, "pipeyard/npm"))
    assert harbor.registry and harbor.registry.token_requests, "the push went through Harbor's token service"
    assert "Harbor12345" not in out + err


def test_cli_publishes_the_variants_asked_for_with_their_suffix(registry: LocalRegistry, cli_store: FakeDockerClient,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI_COMMIT_SHORT_SHA", "c0ffee00")
    for variant in ("jdk8", "jdk17"):
        add_provider_image(cli_store, "maven", variant=variant)
    args = ("publish", "maven", "--registry", f"{registry.address}/pipeyard", "--no-latest")
    code, out, err = invoke(capsys, *args, "--variant", "jdk8", "--variant", "17")
    assert code == 0, err
    # Not the default variant: no plain tag moves.
    assert tags_of(registry.url, "pipeyard/maven") == sorted([f"{v}-{s}" for v in ("1", __version__, "c0ffee00")
                                                              for s in ("jdk8", "jdk17")])
    # Every variant the site builds: the ones not built yet are named, with the command that builds them.
    code, out, err = invoke(capsys, *args, "--all-variants")
    assert code == 1
    assert f"localhost/pipeyard/maven:{__version__}-jdk11" in err
    assert "pipeyard build maven --variant jdk11 --variant jdk21 --variant jdk25" in err
    code, out, err = invoke(capsys, *args, "--variant", "node22")
    assert code == 2 and "--variant node22: no variant of the providers built here is called so" in err


def test_cli_unreachable_registry(tmp_path: Path) -> None:
    port = free_port()
    r = run_cli("pipeyard", "publish", "maven", "--registry", f"127.0.0.1:{port}/pipeyard",
                env={"PIPEYARD_RETRIES": "2", "PIPEYARD_RETRY_BACKOFF": "0.01"})
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == (
        f"error: registry 127.0.0.1:{port} is unreachable (connection refused): check the host and port; the "
        "embedded registry (127.0.0.1:5000) starts with `pipeyard registry start`, or by `pipeyard publish` "
        "without --registry")
    assert "Traceback" not in r.stderr


def test_cli_registry_answers_401(auth_registry: LocalRegistry) -> None:
    r = run_cli("pipeyard", "publish", "maven", "--registry", f"{auth_registry.address}/pipeyard",
                env={"PIPEYARD_REGISTRY_USERNAME": "", "PIPEYARD_REGISTRY_PASSWORD": ""})
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"error: registry {auth_registry.address} answered 401 Unauthorized to GET /v2/: set "
        "PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD (or PIPEYARD_REGISTRY_PASSWORD_FILE), "
        f"or log in with `docker login {auth_registry.address}`")


def test_cli_registry_refuses_wrong_credentials(auth_registry: LocalRegistry, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEYARD_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("PIPEYARD_REGISTRY_PASSWORD", "guess-123")
    code, out, err = invoke(capsys, "publish", "maven", "--registry", f"{auth_registry.address}/pipeyard")
    assert code == 1
    assert "check PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD" in err and "refused" in err
    assert "guess-123" not in out + err


def test_cli_with_credentials_pushes_to_an_htpasswd_registry(auth_registry: LocalRegistry,
                                                             cli_store: FakeDockerClient,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEYARD_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("PIPEYARD_REGISTRY_PASSWORD", PASSWORD)
    add_provider_image(cli_store, "sonar")
    code, out, err = invoke(capsys, "publish", "sonar", "--registry", f"{auth_registry.address}/pipeyard")
    assert code == 0, err
    assert PASSWORD not in out + err
    r = requests.get(f"{auth_registry.url}/v2/pipeyard/sonar/tags/list", auth=(USER, PASSWORD), timeout=5)
    assert __version__ in r.json()["tags"]


def test_cli_5xx_in_the_middle_of_a_push(registry: LocalRegistry, proxy: RegistryProxy,
                                         cli_store: FakeDockerClient, capsys: pytest.CaptureFixture[str]) -> None:
    add_provider_image(cli_store, "maven")
    proxy.fail("PUT", r"/blobs/uploads/", status=503, times=1)  # passes with a retry
    proxy.fail("POST", r"/blobs/uploads/", status=500, times=None)  # then the registry stays broken
    original = proxy.injected
    seen = {"n": 0}

    def after_two_blobs(method: str, path: str) -> int | None:
        if method == "POST" and "/blobs/uploads/" in path:
            seen["n"] += 1
            if seen["n"] <= 3:  # the first POST, its retry after the 503 PUT, and the second blob's POST pass
                return None
        return original(method, path)

    proxy.injected = after_two_blobs  # type: ignore[method-assign]
    code, out, err = invoke(capsys, "publish", "maven", "--registry", f"{proxy.address}/pipeyard")
    assert code == 1 and "moved" not in out
    assert err.strip().splitlines()[-1].startswith(f"error: registry {proxy.address} kept failing with 500")
    assert "no tag was moved to a partial image" in err
    assert tags_of(registry.url, "pipeyard/maven") == []
    assert registry.blob_uploads() == 2, "two blobs made it before the registry broke"


def test_cli_pushes_with_a_docker_login_alone(auth_registry: LocalRegistry, cli_store: FakeDockerClient,
                                              capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    import base64
    import json

    docker = tmp_path / "docker"
    docker.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {f"https://{auth_registry.address}": {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker))
    add_provider_image(cli_store, "sonar")
    code, out, err = invoke(capsys, "publish", "sonar", "--registry", f"{auth_registry.address}/pipeyard")
    assert code == 0, err
    assert PASSWORD not in out + err and auth not in out + err
    r = requests.get(f"{auth_registry.url}/v2/pipeyard/sonar/tags/list", auth=(USER, PASSWORD), timeout=5)
    assert __version__ in r.json()["tags"]


def test_cli_a_broken_docker_config_is_one_line(auth_registry: LocalRegistry, tmp_path: Path) -> None:
    docker = tmp_path / "docker"
    docker.mkdir()
    (docker / "config.json").write_text("{\"auths\": ")
    r = run_cli("pipeyard", "publish", "maven", "--registry", f"{auth_registry.address}/pipeyard",
                env={"DOCKER_CONFIG": str(docker), "PIPEYARD_REGISTRY_USERNAME": "", "PIPEYARD_REGISTRY_PASSWORD": ""})
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: {docker / 'config.json'} is not valid JSON (Expecting value, line 1): repair it (docker login "
        "rewrites it), or remove it"]
