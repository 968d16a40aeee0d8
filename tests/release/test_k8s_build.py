"""The generated build and test jobs, for real, in the mode a Kubernetes runner allows.

`build-npm-node24` (npm's default variant) runs in gitlab-ci-local (the shell executor stands in for the job's builder image): its
script starts a Podman service inside the job and builds through the Docker API, with the pipeline's
own STORAGE_DRIVER=vfs, BUILDAH_ISOLATION=chroot and BUILDAH_LAYERS=false, then pushes by digest to a
per-pipeline tag in a registry. `test-npm-node24`'s script then runs inside the pushed image, pulled from that
registry, with no entrypoint and as the image's user, as GitLab's Kubernetes executor runs it.

Minutes, not seconds: vfs copies every layer. Marked `images`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pipeyard.cli.main import COMMANDS
from pipeyard.demo.localci import gitlab_ci_local
from pipeyard.images.containers import podman_config
from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.model.provider import load_provider
from pipeyard_kit.registry import RegistryClient
from tests.fixtures import ROOT, VENV_BIN, free_port

from .conftest import stage_repo

pytestmark = pytest.mark.images

BASE = "localhost/pipeyard/debian:trixie"
# npm's default variant: its build and test jobs and its digest record are named after it (npm-node24).
IMAGE = f"npm{load_provider(ROOT, 'npm').default_variant.suffix}"
ISOLATION_NEEDED = ("pipeyard build ignored BUILDAH_ISOLATION=chroot: Podman's Docker-compatible build endpoint "
                    "always isolates RUN steps with runc (OCI), which an unprivileged pod does not allow; "
                    "pipeyard.images.build.run_build must call Podman's /libpod/build with isolation and layers")


def _env_for(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERS_", "STORAGE_", "BUILDAH_"))}
    env.pop("DOCKER_HOST", None)
    env.update(podman_config(root).env())
    env.update(extra)
    return env


def _run(cmd: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def vfs_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh vfs store, as in a new pod, holding the Debian base the nightly job would have pushed."""
    default = podman_config()
    source_env = _env_for(default.root)
    if _run(["podman", "image", "exists", BASE], source_env).returncode != 0:
        boot = _run([str(VENV_BIN / "pipeyard"), "base", "bootstrap"], source_env, timeout=1200)
        if boot.returncode != 0:
            pytest.skip(f"no Debian base to build on: `pipeyard base bootstrap` failed: {boot.stderr.strip()[-300:]}")
    root = tmp_path_factory.mktemp("k8s-pod") / "containers"
    podman_config(root).write()
    archive = root.parent / "base.tar"
    # Read the shared store read-only through its own config, write the new one as vfs.
    out = _run(["skopeo", "copy", "--quiet", f"containers-storage:{BASE}", f"oci-archive:{archive}"], source_env)
    assert out.returncode == 0, out.stderr
    out = _run(["skopeo", "copy", "--quiet", f"oci-archive:{archive}", f"containers-storage:{BASE}"],
               _env_for(root, STORAGE_DRIVER="vfs"))
    assert out.returncode == 0, out.stderr
    archive.unlink()
    yield root
    _run(["podman", "system", "reset", "-f"], _env_for(root, STORAGE_DRIVER="vfs"), timeout=300)
    if (root.parent / "node").is_dir():
        _run(["podman", "system", "reset", "-f"], _env_for(root.parent / "node"), timeout=300)
    shutil.rmtree(root.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with LocalRegistry(tmp_path_factory.mktemp("harbor"), port=free_port()) as reg:
        yield reg


def _pipeyard_on_path(bin_dir: Path) -> str:
    """The job finds `pipeyard` on PATH, as in the builder image; until the CLI root lists `release`,
    a shim sends `pipeyard release ...` to the module."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    if "release" not in COMMANDS:
        shim = bin_dir / "pipeyard"
        shim.write_text("#!/bin/sh\ncase \"$1\" in release|updates) exec "
                        f"{VENV_BIN / 'python'} -m pipeyard.cli.main \"$@\";; esac\n"
                        f"exec {VENV_BIN / 'pipeyard'} \"$@\"\n")
        shim.chmod(0o755)
    return f"{bin_dir}:{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"


class RunWatcher(threading.Thread):
    """Which buildah runtime ran the RUN steps of builds under one store: chroot or OCI (runc)."""

    def __init__(self, root: Path):
        super().__init__(daemon=True)
        self.root = str(root)
        self.seen: set[str] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            out = subprocess.run(["ps", "-eww", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
            procs = {}
            for line in out.splitlines():
                parts = line.split(None, 2)
                if len(parts) == 3:
                    procs[parts[0]] = (parts[1], parts[2])
            for pid, (ppid, args) in procs.items():
                if args.startswith(("buildah-chroot-runtime", "buildah-oci-runtime")):
                    parent = procs.get(ppid, ("", ""))[1]
                    if self.root in parent:
                        self.seen.add(args.split()[0])
            time.sleep(0.2)


@pytest.fixture(scope="module")
def built(tmp_path_factory, vfs_root: Path, registry: LocalRegistry, pipeline_text: str):
    repo = stage_repo(tmp_path_factory.mktemp("pipeyard") / "pipeyard", pipeline_text)
    env = _env_for(vfs_root)  # only where the store lives; the job's variables set vfs and chroot
    env.update({"PATH": _pipeyard_on_path(repo.parent / "bin"), "PIPEYARD_CONTAINERS_ROOT": str(vfs_root),
                "PIPEYARD_CACHE_DIR": str(vfs_root.parent / "cache")})
    for var in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF"):
        env.pop(var, None)
    watcher = RunWatcher(vfs_root)
    watcher.start()
    started = time.monotonic()
    cmd = [str(gitlab_ci_local(ROOT)), f"build-{IMAGE}", "--force-shell-executor", "--no-color",
           "--variable", f"PIPEYARD_REGISTRY={registry.address}/pipeyard"]
    job = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=3000)
    watcher.done.set()
    watcher.join()
    overlay_images = vfs_root / "storage" / "overlay-images" / "images.json"
    return {"repo": repo, "job": job, "seconds": time.monotonic() - started, "runtimes": watcher.seen,
            "vfs_layers": len(list((vfs_root / "storage" / "vfs" / "dir").iterdir())),
            "overlay_images": json.loads(overlay_images.read_text() or "[]") if overlay_images.is_file() else []}


def test_the_build_job_builds_and_pushes_in_kubernetes_mode(built, registry: LocalRegistry):
    job = built["job"]
    assert job.returncode == 0, (job.stdout + job.stderr)[-3000:]
    log = job.stdout
    assert "pipeyard build npm" in log and "pipeyard release push npm" in log
    record = json.loads((built["repo"] / ".pipeyard-ci" / f"{IMAGE}.json").read_text())
    assert record["repository"] == "pipeyard/npm" and record["tag"].startswith("ci-")
    client = RegistryClient(registry.address, scheme="http")
    assert client.manifest_digest("pipeyard/npm", record["tag"]) == record["digest"]
    # The job's own store: vfs (no overlay mounts), as the pipeline's STORAGE_DRIVER says.
    assert built["vfs_layers"] > 1 and built["overlay_images"] == []
    print(f"build-{IMAGE} took {built['seconds']:.0f} s; RUN steps ran with {sorted(built['runtimes'])}")


def test_the_build_ran_run_steps_with_chroot_isolation(built):
    assert built["job"].returncode == 0
    if built["runtimes"] == {"buildah-oci-runtime"}:
        pytest.xfail(ISOLATION_NEEDED)
    assert built["runtimes"] == {"buildah-chroot-runtime"}


def _test_job(repo: Path, registry: LocalRegistry, record: dict, vfs_root: Path, user: str | None = None):
    doc = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
    job = doc[f"test-{IMAGE}"]
    assert job["image"]["entrypoint"] == [""]
    # The record's tag is ci-<pipeline id>-<variant>; the job names its image the same way.
    pipeline_id = record["tag"].removeprefix("ci-").split("-", 1)[0]
    image = job["image"]["name"].replace("$PIPEYARD_REGISTRY", f"{registry.address}/pipeyard") \
        .replace("$CI_PIPELINE_ID", pipeline_id)
    assert image.endswith(f":{record['tag']}"), image
    conf = vfs_root.parent / "registries.conf"
    conf.write_text(f'unqualified-search-registries = []\n[[registry]]\nlocation = "{registry.address}"\n'
                    "insecure = true\n")
    # The node's container runtime pulls and runs the job image (overlayfs), not the build job's vfs store.
    node = vfs_root.parent / "node"
    podman_config(node).write()
    env = _env_for(node, CONTAINERS_REGISTRIES_CONF=str(conf))
    pull = _run(["podman", "pull", "--quiet", image], env)
    assert pull.returncode == 0, pull.stderr
    cmd = ["podman", "run", "--rm", "--network", "host", "--entrypoint", "", "-v",
           f"{repo}:/builds/platform/pipeyard:ro", "-w", "/builds/platform/pipeyard",
           "-e", f"PIPEYARD_REGISTRY={registry.address}/pipeyard", "-e", f"CI_PIPELINE_ID={pipeline_id}"]
    if user:
        cmd += ["--user", user]
    script = "set -e\n" + "\n".join(job["script"]) + "\n"
    return _run([*cmd, image, "sh", "-c", script], env)


def test_the_test_job_passes_inside_the_pushed_image(built, registry: LocalRegistry, vfs_root: Path):
    assert built["job"].returncode == 0
    record = json.loads((built["repo"] / ".pipeyard-ci" / f"{IMAGE}.json").read_text())
    out = _test_job(built["repo"], registry, record, vfs_root)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "as uid 10001" in out.stdout
    assert "npm smoke: ok" in out.stdout  # providers/npm/tests/smoke.sh ran
    assert "npm-configure, version" in out.stdout or "version" in out.stdout


def test_the_test_job_fails_an_image_that_runs_as_root(built, registry: LocalRegistry, vfs_root: Path):
    assert built["job"].returncode == 0
    record = json.loads((built["repo"] / ".pipeyard-ci" / f"{IMAGE}.json").read_text())
    out = _test_job(built["repo"], registry, record, vfs_root, user="0")
    assert out.returncode != 0
    assert "the image runs as root" in out.stderr
