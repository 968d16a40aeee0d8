"""`pipeyard b2i build` with no engine, against real registries (Debian's docker-registry, the CNCF
distribution inside Harbor): what goes over the wire, counted from the registry's own access log.

A stand-in base (one small layer, a B2I-shaped config) is enough for the wire: nothing here runs the
image. test_image.py and the no-engine test at the end run images built this way on the real base.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from pipeyard.images.containers.registry_server import LocalRegistry
from tests.fixtures import VENV_BIN, free_port

from . import standins
from .conftest import b2i, pinned, podman, pull
from .standins import wait_http

# One access-log line of docker-registry (distribution's gorilla/handlers combined log format).
ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>/v2/\S*) HTTP/[\d.]+" (?P<status>\d{3}) ')
EPOCH = "1717243200"  # 2024-06-01T12:00:00Z


@dataclass
class Wire:
    """The requests a registry logged, sorted into what moved."""

    lines: list[tuple[str, str, int]]

    @property
    def blob_uploads(self) -> int:
        # A finished upload is the PUT that closes its session (?digest=...).
        return sum(1 for m, p, s in self.lines if m == "PUT" and "/blobs/uploads/" in p and s == 201)

    @property
    def mounts(self) -> int:
        return sum(1 for m, p, s in self.lines if m == "POST" and "mount=" in p and s == 201)

    def manifest_puts(self, reference: str | None = None) -> int:
        return sum(1 for m, p, s in self.lines if m == "PUT" and "/manifests/" in p and s == 201
                   and (reference is None or p.endswith(f"/manifests/{reference}")))

    @property
    def writes(self) -> int:
        return sum(1 for m, _, _ in self.lines if m in ("PUT", "POST", "PATCH", "DELETE"))


def wire(reg: LocalRegistry, since: int) -> Wire:
    with open(reg.log_path, "rb") as f:
        f.seek(since)
        text = f.read().decode("utf-8", "replace")
    return Wire([(m["method"], m["path"], int(m["status"])) for m in ACCESS.finditer(text)])


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory):
    with LocalRegistry(tmp_path_factory.mktemp("registry"), port=free_port()) as r:
        yield r


@pytest.fixture(scope="module")
def other_reg(tmp_path_factory: pytest.TempPathFactory):
    with LocalRegistry(tmp_path_factory.mktemp("other-registry"), port=free_port()) as r:
        yield r


@pytest.fixture(scope="module")
def base(reg: LocalRegistry) -> str:
    return standins.tiny_base(reg.address, "apps/b2i-java")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("daemonless")


_compiled: dict[tuple[Path, str], Path] = {}
_made = itertools.count()


def jar_of(work: Path, shape: str, label: str, **kw) -> Path:
    """A jar of the given shape whose app code says `label`; the same label gives the same classes."""
    if (work, label) not in _compiled:
        _compiled[work, label] = standins.compile_all(work / f"classes-{label}", label)
    classes = _compiled[work, label]
    folder = work / f"{shape}-{label}-{next(_made)}"
    if shape == "layered":
        return standins.layered_jar(classes, folder / "app.jar", **kw)
    if shape == "thin":
        return standins.thin_jar(classes, folder / "target", **kw)
    return standins.fat_jar(classes, folder / "app.jar", **kw)


def build(jar: Path, name: str, registry: str, *extra: str, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full = {"SOURCE_DATE_EPOCH": EPOCH, "CI_COMMIT_SHORT_SHA": "c0ffee12", **(env or {})}
    result = b2i("build", "--jar", str(jar), "--name", name, "--registry", registry, *extra, env=full)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def digest_of(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.strip().rsplit("@", 1)[1]


def test_a_code_only_change_uploads_one_layer_the_config_and_the_manifest(reg, base, work) -> None:
    first = reg.log_offset()
    build(jar_of(work, "layered", "v1", dependency_bytes=300_000), "orders", f"{reg.address}/apps")
    full = wire(reg, first)
    # The four app layers and the config went up; the base's layer was mounted from apps/b2i-java.
    assert (full.blob_uploads, full.mounts) == (5, 1)
    second = reg.log_offset()
    v2 = build(jar_of(work, "layered", "v2", dependency_bytes=300_000), "orders", f"{reg.address}/apps",
               env={"CI_COMMIT_SHORT_SHA": "c0ffee34", "SOURCE_DATE_EPOCH": str(int(EPOCH) + 60)})
    change = wire(reg, second)
    assert change.blob_uploads == 2, "the application layer and the config"
    assert change.mounts == 0
    assert change.manifest_puts(digest_of(v2)) == 1
    assert "blobs uploaded (application, config;" in v2.stderr
    # The tags moved after the manifest: the commit, the content tag and latest, each a PUT of the same bytes.
    assert change.manifest_puts() == 1 + 3


def test_the_same_jar_again_uploads_nothing(reg, base, work) -> None:
    jar = jar_of(work, "layered", "again")
    build(jar, "again", f"{reg.address}/apps")
    offset = reg.log_offset()
    again = build(jar, "again", f"{reg.address}/apps")
    assert wire(reg, offset).writes == 0, "not a blob, not a manifest, not a tag"
    assert "nothing changed: 0 blobs uploaded" in again.stderr


def test_a_new_commit_with_the_same_jar_uploads_only_the_metadata(reg, base, work) -> None:
    jar = jar_of(work, "fat", "commit")
    first = build(jar, "commit", f"{reg.address}/apps")
    offset = reg.log_offset()
    later = build(jar, "commit", f"{reg.address}/apps",
                  env={"CI_COMMIT_SHORT_SHA": "c0ffee99", "SOURCE_DATE_EPOCH": str(int(EPOCH) + 3600)})
    # `created` names the commit, so the config is new; no layer is.
    assert wire(reg, offset).blob_uploads == 1 and "(config;" in later.stderr
    assert digest_of(later) != digest_of(first)
    content_tag = re.search(r"content tag (\w+)", first.stderr).group(1)
    assert re.search(r"content tag (\w+)", later.stderr).group(1) == content_tag, "what the image holds is the same"


@pytest.mark.parametrize("kw, bump, uploaded", [
    # Run with -cp app.jar:lib/*, a plain jar needs no Class-Path: a release bump is its layer alone.
    ({"class_path": False}, {"greeting": "1.1"}, "dependencies, config"),
    ({}, {"util": b"util=1.1-SNAPSHOT built later\n"}, "snapshot-dependencies, config"),
    # maven-jar-plugin's addClasspath writes the versions into the app's manifest: the jar changes too.
    ({}, {"greeting": "1.1"}, "dependencies, application, config"),
])
def test_a_dependency_bump_uploads_the_dependency_layer_and_the_metadata(reg, base, work, kw, bump, uploaded) -> None:
    name = f"deps-{next(_made)}"
    build(jar_of(work, "thin", "v1", **kw), name, f"{reg.address}/apps")
    offset = reg.log_offset()
    bumped = build(jar_of(work, "thin", "v1", **kw, **bump), name, f"{reg.address}/apps",
                   env={"SOURCE_DATE_EPOCH": str(int(EPOCH) + 60)})
    assert wire(reg, offset).blob_uploads == len(uploaded.split(", "))
    assert f"blobs uploaded ({uploaded};" in bumped.stderr


def test_a_spring_boot_snapshot_bump_uploads_its_layer_and_the_metadata(reg, base, work) -> None:
    build(jar_of(work, "layered", "v1"), "boot-snap", f"{reg.address}/apps")
    offset = reg.log_offset()
    later = jar_of(work, "layered", "v1")
    # util-1.1-SNAPSHOT.jar built again with new content: same name, so BOOT-INF/classpath.idx is unchanged.
    rebuilt = later.parent / "rebuilt.jar"
    import zipfile

    with zipfile.ZipFile(later) as src, zipfile.ZipFile(rebuilt, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "BOOT-INF/lib/util-1.1-SNAPSHOT.jar":
                inner = later.parent / "util.jar"
                standins._zip(inner, {"util.properties": b"util=1.1-SNAPSHOT, a later build\n"})
                data = inner.read_bytes()
            out.writestr(info, data, compress_type=info.compress_type)
    bumped = build(rebuilt, "boot-snap", f"{reg.address}/apps", env={"SOURCE_DATE_EPOCH": str(int(EPOCH) + 60)})
    assert wire(reg, offset).blob_uploads == 2
    assert "blobs uploaded (snapshot-dependencies, config;" in bumped.stderr


def test_two_builds_in_fresh_folders_with_other_clocks_give_one_digest(reg, base, work, tmp_path) -> None:
    """Nothing shared but the jar's bytes: two folders, two caches, two clocks years apart (libfaketime
    makes every clock call of the second build lie), other time zones, umasks and file times."""
    if shutil.which("faketime") is None:
        pytest.fail("faketime is not installed: run scripts/setup-system.sh (apt-get install faketime)")
    jar = jar_of(work, "layered", "repro", dependency_bytes=100_000)
    digests, created = [], []
    for n, (clock, tz, umask) in enumerate((("", "UTC", "022"), ("2031-05-01 10:00:00", "Asia/Shanghai", "077"))):
        folder = tmp_path / f"fresh-{n}"
        folder.mkdir()
        copy = folder / "orders.jar"
        shutil.copyfile(jar, copy)
        os.utime(copy, (1_000_000_000 + n * 77_777_777,) * 2)
        env = {**os.environ, "PIPEYARD_CACHE_DIR": str(folder / "cache"), "TZ": tz, "SOURCE_DATE_EPOCH": EPOCH}
        env.pop("CI_COMMIT_SHORT_SHA", None)
        clock_cmd = ["faketime", "-f", f"@{clock}"] if clock else []
        result = subprocess.run(["sh", "-c", f'umask {umask}; exec "$@"', "sh", *clock_cmd, str(VENV_BIN / "pipeyard"),
                                 "b2i", "build", "--jar", str(copy), "--name", "repro",
                                 "--registry", f"{reg.address}/{['one', 'two'][n]}",
                                 "--base", f"{reg.address}/apps/b2i-java:21-trixie"],
                                capture_output=True, text=True, env=env, cwd=folder, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        digests.append(digest_of(result))
        created.append(re.search(r"created (\S+)", result.stderr).group(1))
    assert digests[0] == digests[1]
    assert created == ["2024-06-01T12:00:00Z"] * 2
    # The second build really ran under the other clock.
    assert subprocess.run(["faketime", "-f", "@2031-05-01 10:00:00", "date", "+%Y"], capture_output=True,
                          text=True).stdout.strip() == "2031"


def test_the_config_and_layers_are_what_the_launcher_reads(reg, base, work) -> None:
    result = build(jar_of(work, "thin", "cfg"), "cfg", f"{reg.address}/apps", "--tz", "Asia/Shanghai", "--port", "9090")
    ref = result.stdout.strip()
    repo, digest = ref.split("@")[0].split("/", 1)[1].rsplit(":", 1)[0], digest_of(result)
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    manifest = requests.get(f"{reg.url}/v2/{repo}/manifests/{digest}", headers=accept, timeout=5).json()
    config = requests.get(f"{reg.url}/v2/{repo}/blobs/{manifest['config']['digest']}", timeout=5).json()
    env = dict(item.split("=", 1) for item in config["config"]["Env"])
    assert env["JAVA_HOME"] == "/usr/lib/jvm/b2i-jdk", "the base's environment stays"
    assert {k: env[k] for k in ("B2I_APP_NAME", "B2I_MAIN_CLASS", "B2I_CLASSPATH", "TZ", "B2I_APP_PORT",
                                "B2I_CLASS_COUNT")} == {
        "B2I_APP_NAME": "cfg", "B2I_MAIN_CLASS": "com.example.demo.Hello", "B2I_CLASSPATH": "/app/app.jar:/app/lib/*",
        "TZ": "Asia/Shanghai", "B2I_APP_PORT": "9090", "B2I_CLASS_COUNT": "2"}
    assert re.fullmatch(r"[0-9a-f]{16}", env["B2I_APP_ID"])
    assert config["config"]["User"] == "10001:10001" and config["config"]["ExposedPorts"] == {"9090/tcp": {}}
    assert config["created"] == "2024-06-01T12:00:00Z"
    labels = config["config"]["Labels"]
    assert labels["io.pipeyard.b2i.layout"] == "thin" and labels["io.pipeyard.b2i.variant"] == "21-trixie"
    assert labels["org.opencontainers.image.base.digest"] == base
    assert len(manifest["layers"]) == 1 + 3 and len(config["rootfs"]["diff_ids"]) == 4
    assert [h["created_by"] for h in config["history"][1:]] == [
        "pipeyard b2i: dependencies layer", "pipeyard b2i: snapshot-dependencies layer", "pipeyard b2i: application layer"]


def test_a_base_in_another_registry_is_copied_once(reg, base, other_reg, work) -> None:
    jar = jar_of(work, "fat", "copy")
    base_ref = f"{reg.address}/apps/b2i-java:21-trixie"
    offset = other_reg.log_offset()
    first = build(jar, "copied", f"{other_reg.address}/apps", "--base", base_ref)
    assert "base layers (1): 1 copied from " + f"{reg.address}/apps/b2i-java" in first.stderr
    assert wire(other_reg, offset).blob_uploads == 1 + 2  # the base's layer once, the app's layer and config
    offset = other_reg.log_offset()
    again = build(jar_of(work, "fat", "copy-v2"), "copied", f"{other_reg.address}/apps", "--base", base_ref)
    assert "base layers (1): 1 already there" in again.stderr
    assert wire(other_reg, offset).blob_uploads == 2


def test_a_base_in_the_same_registry_is_mounted(reg, base, work) -> None:
    offset = reg.log_offset()
    result = build(jar_of(work, "fat", "mount"), "mounted", f"{reg.address}/apps")
    assert "base layers (1): 1 mounted from apps/b2i-java (same registry: no bytes moved)" in result.stderr
    assert wire(reg, offset).mounts == 1


def test_the_previous_image_spares_a_fresh_runner_the_compression(reg, base, work, tmp_path) -> None:
    """A CI pod has no cache: the layers the app's previous image has are named by their diff_ids in its
    config, so they are hashed but neither compressed nor uploaded again."""
    jar = jar_of(work, "layered", "fresh", dependency_bytes=200_000)
    build(jar, "fresh", f"{reg.address}/apps", env={"PIPEYARD_CACHE_DIR": str(tmp_path / "one")})
    result = build(jar, "fresh", f"{reg.address}/apps", env={"PIPEYARD_CACHE_DIR": str(tmp_path / "two")})
    assert result.stderr.count("in the registry)") == 4
    assert not list((tmp_path / "two").rglob("*.tar.gz")), "nothing was compressed"


def test_bad_input_is_one_line_before_any_registry_call(tmp_path, work) -> None:
    not_a_jar = tmp_path / "x.jar"
    not_a_jar.write_text("nope")
    result = b2i("build", "--jar", str(not_a_jar), "--name", "Bad_Name", "--registry", "127.0.0.1:1/apps")
    assert result.returncode == 1
    assert result.stderr.startswith("error: 2 configuration problems:")
    assert "unreachable" not in result.stderr and "Traceback" not in result.stderr
    down = b2i("build", "--jar", str(jar_of(work, "fat", "down")), "--name", "down", "--registry", "127.0.0.1:9/apps",
               env={"PIPEYARD_RETRIES": "1"})
    assert down.returncode == 1
    assert down.stderr.strip().splitlines()[-1].startswith("error: registry 127.0.0.1:9 is unreachable")


# -- no engine at all, on the real base: build, push, pull, run --------------------------------------------
class Tripwire:
    """A unix socket at DOCKER_HOST that records every connection, and podman, buildah, docker and
    skopeo executables that record every call: the build must touch none of them."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.calls = root / "calls.log"
        self.calls.touch()
        self.bin = root / "bin"
        self.bin.mkdir()
        for tool in ("docker", "podman", "buildah", "skopeo", "runc", "crun"):
            (self.bin / tool).write_text(f"#!/bin/sh\necho \"{tool} $*\" >> {self.calls}\nexit 99\n")
            (self.bin / tool).chmod(0o755)
        self.path = root / "docker.sock"
        self.connections = 0
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(str(self.path))
        self.server.listen()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": f"unix://{self.path}", "CONTAINER_HOST": f"unix://{self.path}",
                "PATH": f"{self.bin}:{os.environ['PATH']}", "PIPEYARD_CONTAINERS_ROOT": str(self.root / "no-store")}

    def close(self) -> None:
        self.server.close()


@pytest.mark.images
def test_no_engine_build_pushes_an_image_podman_runs(base_image, spec_path, jars, project, podman_env, run_app,
                                                     tmp_path) -> None:
    wire_before = tmp_path / "tripwire"
    trip = Tripwire(wire_before)
    try:
        built = b2i("build", "--config", str(spec_path), "--jar", str(jars["thin"]), "--name", "no-engine",
                    "--registry", project, env={**trip.env(), "PIPEYARD_CACHE_DIR": str(tmp_path / "cache")})
    finally:
        trip.close()
    assert built.returncode == 0, built.stderr[-3000:]
    assert trip.connections == 0, "something connected to DOCKER_HOST"
    assert trip.calls.read_text() == "", f"container tools were called: {trip.calls.read_text()}"
    assert not (wire_before / "no-store").exists(), "nothing created a container store"
    image = pull(podman_env, pinned(built))
    port = free_port()
    c = run_app(image, env={"PORT": str(port), "B2I_APP_PORT": str(port), "B2I_METRICS": "off"})
    assert wait_http(f"http://127.0.0.1:{port}/").startswith("hello no-engine build=v1")
    info = json.loads(podman(podman_env, "image", "inspect", image).stdout)[0]
    assert info["Config"]["User"] == "10001:10001" and info["Config"]["Labels"]["io.pipeyard.b2i.layout"] == "thin"
    assert c.exec("id", "-u").stdout.strip() == "10001"


def test_through_harbor_the_base_is_mounted_across_projects_with_a_token_per_scope(reg, base, work) -> None:
    """Harbor's /v2 (tests/publish's stand-in of its v2auth and token service): the CI account may push
    to apps and pull from pipeyard, where the platform team publishes the base. The cross-project mount
    needs pull on the base's repository, asked for in the same token."""
    from tests.publish.fake_harbor import FakeHarbor
    from tests.publish.registry_proxy import RegistryProxy

    standins.tiny_base(reg.address, "pipeyard/b2i-java")
    with FakeHarbor(registry=RegistryProxy(reg.address)) as harbor:
        harbor.add_project("pipeyard")
        harbor.add_project("apps")
        harbor.add_user("ci-builder", "Builder-Secret-1", apps="developer", pipeyard="guest")
        assert harbor.registry
        # An app of its own: the Harbor's projects are the module's registry, where apps/b2i/orders already
        # holds the base's layer (a blob already there is neither mounted nor copied).
        done = build(jar_of(work, "layered", "harbor"), "billing", f"{harbor.address}/apps",
                     "--base", f"{harbor.address}/pipeyard/b2i-java:21-trixie",
                     env={"PIPEYARD_REGISTRY_USERNAME": "ci-builder", "PIPEYARD_REGISTRY_PASSWORD": "Builder-Secret-1"})
        assert "base layers (1): 1 mounted from pipeyard/b2i-java (same registry: no bytes moved)" in done.stderr
        granted = [r["granted"] for r in harbor.core.tokens.requests]
        assert {"apps/b2i/billing": ["pull", "push"], "pipeyard/b2i-java": ["pull"]} in granted
        writes = [s for s in harbor.registry.seen if s[0] in ("POST", "PUT") and s[1].startswith("/v2/")]
        assert writes and all(status != 401 and scheme == "Bearer" for _, _, scheme, status in writes)
        # A guest of apps cannot push there: one line naming the credentials, nothing pushed.
        harbor.add_user("reader", "Reader-Secret-1", apps="guest", pipeyard="guest")
        refused = b2i("build", "--jar", str(jar_of(work, "fat", "harbor-guest")), "--name", "billing",
                      "--registry", f"{harbor.address}/apps", "--base", f"{harbor.address}/pipeyard/b2i-java:21-trixie",
                      env={"PIPEYARD_REGISTRY_USERNAME": "reader", "PIPEYARD_REGISTRY_PASSWORD": "Reader-Secret-1",
                           "PIPEYARD_RETRIES": "1"})
        assert refused.returncode == 1
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: registry {harbor.address} answered 401 Unauthorized to ")
        assert "check PIPEYARD_REGISTRY_USERNAME and PIPEYARD_REGISTRY_PASSWORD" in last
        assert "Reader-Secret-1" not in refused.stderr


def test_json_describes_the_push_on_stdout(reg, base, work) -> None:
    first = build(jar_of(work, "layered", "described"), "described", f"{reg.address}/apps", "--json")
    doc = json.loads(first.stdout)  # the progress lines went to stderr
    assert doc["schema"] == "pipeyard.b2i-build/v1"
    assert doc["image"] == f"{reg.address}/apps/b2i/described:c0ffee12@{doc['digest']}"
    assert doc["repository"] == f"{reg.address}/apps/b2i/described" and "c0ffee12" in doc["tags"]
    assert doc["base"]["reference"].endswith("b2i-java:21-trixie") and doc["base"]["digest"].startswith("sha256:")
    assert doc["layers"] and all(layer["files"] > 0 for layer in doc["layers"])
    assert doc["uploaded"] and doc["manifest_pushed"] is True
    again = json.loads(build(jar_of(work, "layered", "described"), "described", f"{reg.address}/apps",
                             "--json").stdout)
    assert again["digest"] == doc["digest"] and again["uploaded"] == [] and again["manifest_pushed"] is False
