"""`pipeyard mirror` between two real registries: names kept, blobs skipped or mounted, digests unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.publish.archive import LayerCache, oci_image
from pipeyard.publish.mirror import Mirror, mirror_images, read_list
from pipeyard_kit.errors import ConfigError, RemoteError
from pipeyard_kit.registry import OciImage, Reference, RegistryClient, Target, push_image
from pipeyard_kit.registry.oci import OCI_INDEX
from tests.fixtures import run_cli

from .conftest import invoke
from .imagefactory import FakeImage, noise


def seed(reg: LocalRegistry, cache: LayerCache) -> dict[str, OciImage]:
    """Two images sharing a base layer, in two projects of the source registry."""
    base = {"os.bin": noise("os", 150_000)}
    images = {
        "library/maven:3.9": oci_image(FakeImage([base, {"mvn": b"maven"}], "x"), cache),
        "vendor/tools/node:20": oci_image(FakeImage([base, {"node": b"node"}], "y"), cache),
    }
    client = RegistryClient(reg.address, scheme="http")
    for name, oci in images.items():
        repo, tag = name.rsplit(":", 1)
        push_image(client, repo, oci, [tag])
    return images


def write_list(path: Path, reg: LocalRegistry, *names: str) -> Path:
    path.write_text("# images the runners need\n\n" + "".join(f"{reg.address}/{n}  # keep\n" for n in names))
    return path


def digest_at(reg: LocalRegistry, repo: str, ref: str) -> str | None:
    r = requests.head(f"{reg.url}/v2/{repo}/manifests/{ref}", timeout=5,
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json, " + OCI_INDEX})
    return r.headers.get("Docker-Content-Digest") if r.status_code == 200 else None


def mirror_for(target: LocalRegistry, prefix: str = "mirror") -> Mirror:
    def source(ref: Reference) -> RegistryClient:
        return RegistryClient(ref.api_host, scheme="http")

    return Mirror(Target.parse(f"{target.address}/{prefix}"), RegistryClient(target.address, scheme="http"), source)


def test_mirror_keeps_names_and_digests_then_skips_everything(registry: LocalRegistry,
                                                              second_registry: LocalRegistry,
                                                              cache: LayerCache, tmp_path: Path) -> None:
    images = seed(registry, cache)
    refs = read_list(write_list(tmp_path / "images.txt", registry, *images))
    lines: list[str] = []
    copied = mirror_images(refs, mirror_for(second_registry), echo=lines.append)
    for name, oci in images.items():
        repo, tag = name.rsplit(":", 1)
        assert digest_at(second_registry, f"mirror/{repo}", tag) == oci.digest
    # The shared base layer went over once; the second repository mounted it.
    assert (copied[0].stats.uploaded, copied[1].stats.uploaded, copied[1].stats.mounted) == (3, 2, 1)
    assert lines[0].startswith(f"copied {registry.address}/library/maven:3.9 -> {second_registry.address}/mirror/library/maven:3.9")

    before = second_registry.log_offset()
    lines.clear()
    again = mirror_images(refs, mirror_for(second_registry), echo=lines.append)
    assert second_registry.blob_uploads(since=before) == 0
    assert [c.stats.skipped for c in again] == [3, 3]
    assert lines[-1] == f"nothing changed: {second_registry.address}/mirror already has all 2 images"


def test_mirror_within_one_registry_mounts_instead_of_copying(registry: LocalRegistry, cache: LayerCache,
                                                              tmp_path: Path) -> None:
    images = seed(registry, cache)
    refs = read_list(write_list(tmp_path / "l.txt", registry, "library/maven:3.9"))
    before = registry.log_offset()
    [c] = mirror_images(refs, mirror_for(registry, "copy"), echo=lambda _: None)
    assert (c.stats.mounted, c.stats.uploaded) == (3, 0)
    assert registry.blob_uploads(since=before) == 0
    assert digest_at(registry, "copy/library/maven", "3.9") == images["library/maven:3.9"].digest


def test_mirror_copies_an_index_and_every_image_it_lists(registry: LocalRegistry, second_registry: LocalRegistry,
                                                         cache: LayerCache, tmp_path: Path) -> None:
    amd = oci_image(FakeImage([{"a": b"amd64"}], "a"), cache)
    arm = oci_image(FakeImage([{"a": b"arm64"}], "b"), cache)
    client = RegistryClient(registry.address, scheme="http")
    for oci in (amd, arm):
        push_image(client, "multi/app", oci, [])
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": amd.media_type, "digest": amd.digest, "size": len(amd.manifest),
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": arm.media_type, "digest": arm.digest, "size": len(arm.manifest),
         "platform": {"architecture": "arm64", "os": "linux"}}]}).encode()
    index_digest = client.put_manifest("multi/app", "1", index, OCI_INDEX)
    refs = read_list(write_list(tmp_path / "l.txt", registry, "multi/app:1"))
    mirror_images(refs, mirror_for(second_registry), echo=lambda _: None)
    assert digest_at(second_registry, "mirror/multi/app", "1") == index_digest
    assert digest_at(second_registry, "mirror/multi/app", arm.digest) == arm.digest


def test_the_list_reports_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "images.txt"
    path.write_text("registry.example.com/library/debian:12\nregistry.example.com/Bad/Name:1\n# fine\n"
                    "registry.example.com/a/b:bad tag\n")
    with pytest.raises(ConfigError) as e:
        read_list(path)
    assert e.value.problems[0].startswith(f"{path}:2: ")
    assert e.value.problems[1].startswith(f"{path}:4: ")


def test_a_missing_source_image_fails_after_the_others_are_copied(registry: LocalRegistry,
                                                                  second_registry: LocalRegistry,
                                                                  cache: LayerCache, tmp_path: Path) -> None:
    seed(registry, cache)
    refs = read_list(write_list(tmp_path / "l.txt", registry, "library/nope:1", "library/maven:3.9"))
    lines: list[str] = []
    with pytest.raises(RemoteError) as e:
        mirror_images(refs, mirror_for(second_registry), echo=lines.append)
    assert f"{registry.address}/library/nope:1 does not exist" in str(e.value)
    assert digest_at(second_registry, "mirror/library/maven", "3.9") is not None


def test_cli_mirror(registry: LocalRegistry, second_registry: LocalRegistry, cache: LayerCache,
                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = seed(registry, cache)
    listing = write_list(tmp_path / "images.txt", registry, *images)
    r = run_cli("pipeyard", "mirror", "--list", str(listing), "--to", second_registry.address)
    assert r.returncode == 0, r.stderr
    assert digest_at(second_registry, "vendor/tools/node", "20") == images["vendor/tools/node:20"].digest
    code, out, err = invoke(capsys, "mirror", "--list", str(listing), "--to", second_registry.address)
    assert code == 0, err
    assert out.splitlines()[-1] == f"nothing changed: {second_registry.address} already has all 2 images"
    code, out, err = invoke(capsys, "mirror", "--list", str(listing), "--to", second_registry.address, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "pipeyard.mirror/v1" and doc["target"] == second_registry.address
    assert {i["destination"]: i["digest"] for i in doc["images"]} == {
        f"{second_registry.address}/{name}": image.digest for name, image in images.items()}
    assert all(i["uploaded"] == 0 for i in doc["images"]) and "nothing changed" in err


def test_cli_mirror_to_an_unreachable_registry(registry: LocalRegistry, tmp_path: Path) -> None:
    from tests.fixtures import free_port

    port = free_port()
    listing = write_list(tmp_path / "images.txt", registry, "library/maven:3.9")
    r = run_cli("pipeyard", "mirror", "--list", str(listing), "--to", f"127.0.0.1:{port}/mirror",
                env={"PIPEYARD_RETRIES": "2", "PIPEYARD_RETRY_BACKOFF": "0.01"})
    assert r.returncode == 1
    assert f"error: registry 127.0.0.1:{port} is unreachable (connection refused)" in r.stderr


# -- pipeyard's own images, under the site's names --------------------------------------------------
def test_cli_mirror_renames_pipeyards_images_as_the_site_names_them(registry: LocalRegistry,
                                                                   second_registry: LocalRegistry,
                                                                   cache: LayerCache, tmp_path: Path) -> None:
    # pipeyard's release: its images under their own names (provider.yaml image.name).
    client = RegistryClient(registry.address, scheme="http")
    released = {}
    for name in ("maven", "sonar", "sendmail"):
        released[name] = oci_image(FakeImage([{name: noise(name, 20_000)}], name), cache)
        variants = [f"1.0.0-jdk{jdk}" for jdk in (8, 11, 17, 21, 25)] if name == "maven" else []
        push_image(client, f"pipeyard/{name}", released[name], ["1.0.0", *variants])
    site = tmp_path / "design.site.yaml"
    site.write_text(f'registry: {second_registry.address}/devops\nimage_name: "{{provider}}-provider"\n'
                    "image_names: {sendmail: sendmail}\n")
    r = run_cli("pipeyard", "mirror", "--providers", "maven,sonar,sendmail", "--from", f"{registry.address}/pipeyard",
                "--to", f"{second_registry.address}/devops", "--site", str(site), "--tag", "1.0.0")
    assert r.returncode == 0, r.stderr
    assert digest_at(second_registry, "devops/maven-provider", "1.0.0") == released["maven"].digest
    assert digest_at(second_registry, "devops/sonar-provider", "1.0.0") == released["sonar"].digest
    assert digest_at(second_registry, "devops/sendmail", "1.0.0") == released["sendmail"].digest
    assert digest_at(second_registry, "devops/maven", "1.0.0") is None
    assert f"-> {second_registry.address}/devops/maven-provider:1.0.0" in r.stdout


def test_cli_mirror_copies_the_variants_the_site_offers(registry: LocalRegistry, second_registry: LocalRegistry,
                                                        cache: LayerCache, tmp_path: Path) -> None:
    """The templates name <version>-jdk<jdk>: each variant the site keeps comes along, the others stay."""
    client = RegistryClient(registry.address, scheme="http")
    released = {}
    for tag in ("1.0.0", "1.0.0-jdk8", "1.0.0-jdk11", "1.0.0-jdk17", "1.0.0-jdk21", "1.0.0-jdk25"):
        released[tag] = oci_image(FakeImage([{tag: noise(tag, 20_000)}], tag), cache)
        push_image(client, "pipeyard/maven", released[tag], [tag])
    site = tmp_path / "site.yaml"
    site.write_text(f"registry: {second_registry.address}/devops\n"
                    "variants: {maven: {default: '17', only: ['8', '17']}}\n")
    r = run_cli("pipeyard", "mirror", "--providers", "maven", "--from", f"{registry.address}/pipeyard",
                "--to", f"{second_registry.address}/devops", "--site", str(site), "--tag", "1.0.0")
    assert r.returncode == 0, r.stderr
    for tag in ("1.0.0", "1.0.0-jdk8", "1.0.0-jdk17"):
        assert digest_at(second_registry, "devops/maven", tag) == released[tag].digest
    assert digest_at(second_registry, "devops/maven", "1.0.0-jdk11") is None


@pytest.mark.parametrize("args, says", [
    (["--to", "127.0.0.1:1/x"], "give either --list FILE or --providers NAMES"),
    (["--providers", "maven", "--list", "x.txt", "--to", "127.0.0.1:1/x"], "give either --list FILE or --providers"),
    (["--providers", "maven", "--to", "127.0.0.1:1/x"], "--providers needs --from"),
    (["--providers", "gradle", "--from", "127.0.0.1:1/p", "--to", "127.0.0.1:1/x"], "gradle"),
    (["--providers", "maven", "--from", "127.0.0.1:1/p", "--tag", "a b", "--to", "127.0.0.1:1/x"], "not a valid tag"),
])
def test_cli_mirror_refuses_a_mixed_or_incomplete_request(args: list[str], says: str) -> None:
    r = run_cli("pipeyard", "mirror", *args)
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and "Traceback" not in r.stderr


def test_a_terminal_gets_a_bar_per_uploaded_blob_and_a_log_gets_none(registry: LocalRegistry,
                                                                     second_registry: LocalRegistry,
                                                                     cache: LayerCache) -> None:
    import io

    from rich.console import Console

    from pipeyard.images.progress import upload_bars

    images = seed(registry, cache)
    refs = [Reference.parse(f"{registry.address}/{name}") for name in images]
    dst = RegistryClient(second_registry.address, scheme="http")
    source = RegistryClient(registry.address, scheme="http")
    seen: list[tuple[str, int, int]] = []
    terminal = io.StringIO()
    with upload_bars(dst, Console(file=terminal, force_terminal=True, width=100)):
        wrapped = dst.progress
        dst.progress = lambda digest, done, size: (seen.append((digest, done, size)), wrapped(digest, done, size))
        mirror_images(refs, Mirror(Target.parse(second_registry.address, need_prefix=False), dst, lambda _: source),
                      echo=lambda _: None)
    assert dst.progress is None
    finished = {digest for digest, done, size in seen if done == size}
    assert len(finished) == dst.stats.uploaded > 0  # every uploaded blob reached its size
    assert "blob " in terminal.getvalue()

    log = io.StringIO()
    plain = RegistryClient(second_registry.address, scheme="http")
    with upload_bars(plain, Console(file=log, force_terminal=False)):
        assert plain.progress is None
    assert log.getvalue() == ""
