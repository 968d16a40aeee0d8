"""`pipeyard base bootstrap`: a Debian base image from debootstrap, so nothing needs Docker Hub.

The rootfs is cleaned the way docker-library's debuerreotype cleans the official
images (no apt lists, caches, logs or docs; dpkg told to skip docs from then on),
then imported through the engine API as localhost/pipeyard/debian:<release>.
Dockerfiles say `FROM ${BASE_REGISTRY}/debian:<release>`, so production points
BASE_REGISTRY at Harbor's proxy cache and builds unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker.errors
from rich.console import Console

from pipeyard.images.containers import Engine
from pipeyard.images.debian_mirror import debian_mirror, security_mirror
from pipeyard.images.debian_releases import DEFAULT_RELEASE, RELEASES
from pipeyard.images.progress import status
from pipeyard_kit.errors import BuildError, UsageError

BASE_REPOSITORY = "localhost/pipeyard/debian"
LOCAL_BASE_REGISTRY = "localhost/pipeyard"


def base_ref(release: str) -> str:
    return f"{BASE_REPOSITORY}:{release}"


@dataclass(frozen=True)
class BaseResult:
    ref: str
    image_id: str
    cached: bool
    seconds: float
    mirror: str | None = None


# What debuerreotype-minimizing-config and the official images add to /etc.
DPKG_SLIM = """\
# Docs, man pages and translations are never read inside a CI image.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""
APT_CLEAN = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
APT_NO_LANGUAGES = 'Acquire::Languages "none";\n'
APT_NO_RECOMMENDS = 'APT::Install-Recommends "false";\nAPT::AutoRemove::SuggestsImportant "false";\n'
POLICY_RC_D = "#!/bin/sh\n# Services never start during image builds.\nexit 101\n"


def _sources(release: str, mirror: str) -> str:
    return (f"Types: deb\nURIs: {mirror}\nSuites: {release} {release}-updates\nComponents: main\n"
            f"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {security_mirror(mirror)}\nSuites: {release}-security\nComponents: main\n"
            f"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")


def _empty_dir(path: Path) -> None:
    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def clean_rootfs(root: Path, release: str, mirror: str) -> None:
    """Slim the tree as the official images are slimmed, and configure apt for later layers."""
    for d in ("var/lib/apt/lists", "var/cache/apt", "tmp", "var/tmp"):
        _empty_dir(root / d)
    # Files go, folders stay: apt and dpkg expect their log folders, and update-alternatives
    # fails (JDK postinst) when /usr/share/man/man1 is missing.
    for d in ("var/log", "usr/share/man", "usr/share/info", "usr/share/groff", "usr/share/lintian"):
        for f in (root / d).rglob("*"):
            if f.is_file() or f.is_symlink():
                f.unlink()
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    for doc in (root / "usr/share/doc").glob("*"):
        if doc.is_dir() and not doc.is_symlink():
            for f in doc.iterdir():
                if f.name != "copyright":
                    shutil.rmtree(f) if f.is_dir() and not f.is_symlink() else f.unlink()
    for f in [*root.glob("var/lib/dpkg/*-old"), *root.glob("var/cache/debconf/*-old")]:
        f.unlink()
    locale = root / "usr/share/locale"
    if locale.is_dir():
        for child in locale.iterdir():
            if child.name != "locale.alias":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    # The engine provides these per container; baked values would go stale.
    (root / "etc/machine-id").write_text("")
    for f in ("etc/resolv.conf", "etc/hostname"):
        (root / f).unlink(missing_ok=True)
    (root / "etc/hostname").write_text("localhost\n")
    conf = {
        "etc/dpkg/dpkg.cfg.d/docker": DPKG_SLIM,
        "etc/apt/apt.conf.d/docker-clean": APT_CLEAN,
        "etc/apt/apt.conf.d/docker-no-languages": APT_NO_LANGUAGES,
        "etc/apt/apt.conf.d/docker-no-recommends": APT_NO_RECOMMENDS,
        "etc/apt/sources.list.d/debian.sources": _sources(release, mirror),
    }
    for rel, text in conf.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)


def _find_image(eng: Engine, ref: str) -> str | None:
    try:
        return eng.client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None


def _debootstrap(release: str, mirror: str, target: Path, console: Console) -> None:
    exe = shutil.which("debootstrap")
    if exe is None:
        raise BuildError("debootstrap is not installed", fix="apt-get install debootstrap (scripts/setup-system.sh does it)")
    if os.geteuid() != 0:
        raise BuildError("debootstrap needs root to build the Debian base",
                         fix="run `pipeyard base bootstrap` as root, or push a Debian image to the registry "
                             "BASE_REGISTRY points at")
    log_path = target.with_suffix(".log")
    cmd = [exe, "--variant=minbase", release, str(target), mirror]
    with open(log_path, "w") as log, status(console, f"debootstrap {release} from {mirror}") as update:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "LC_ALL": "C"})
        assert proc.stdout is not None
        phases: set[str] = set()
        for line in proc.stdout:
            log.write(line)
            words = line.split()
            # One line per phase in a log (Retrieving, Validating, Unpacking...), every line on a terminal.
            if console.is_terminal:
                update(line.strip())
            elif len(words) > 1 and words[0] == "I:" and words[1] not in phases:
                phases.add(words[1])
                update(line.strip())
        rc = proc.wait()
    if rc != 0:
        tail = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()][-3:]
        raise BuildError(f"debootstrap {release} from {mirror} failed (exit {rc}): {' / '.join(tail)}",
                         fix=f"check that the mirror serves {release} (--mirror or PIPEYARD_DEBIAN_MIRROR); "
                             f"full log: {log_path}")
    log_path.unlink(missing_ok=True)


def _tar_stream(root: Path) -> Iterator[bytes]:
    # --numeric-owner keeps the uids debootstrap set; `buildah copy` would make everything root's.
    proc = subprocess.Popen(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-c", "."],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 20):
        yield chunk
    if proc.wait() != 0:
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        raise BuildError(f"tar of the Debian rootfs {root} failed: {err[:300]}")


def _imported_id(response: str) -> str | None:
    # Docker answers {"status": "sha256:..."}, podman adds "id": the digest is the last status.
    image_id = None
    for line in response.splitlines():
        try:
            status = json.loads(line).get("status", "")
        except ValueError:
            continue
        if isinstance(status, str) and status.startswith("sha256:"):
            image_id = status
    return image_id


def import_rootfs(eng: Engine, root: Path, ref: str) -> str:
    repository, tag = ref.rsplit(":", 1)
    try:
        # Podman ignores the tag parameter of an import; tagging by id afterwards works on both.
        response = eng.client.api.import_image(src=_tar_stream(root), repository=ref, changes=['CMD ["bash"]'],
                                               stream_src=True)
        image_id = _imported_id(response) or _find_image(eng, ref)
        if image_id is None:
            raise BuildError(f"importing {ref} into the engine at {eng.url} returned no image id ({response[:200]})",
                             fix="rerun with --debug; check the engine's storage")
        eng.client.images.get(image_id).tag(repository, tag)
    except docker.errors.APIError as exc:
        raise BuildError(f"importing {ref} into the engine at {eng.url} failed: {exc.explanation or exc}") from None
    return image_id


def bootstrap(eng: Engine, release: str = DEFAULT_RELEASE, *, mirror: str | None = None, force: bool = False,
              console: Console) -> BaseResult:
    if release not in RELEASES:
        raise UsageError(f"unknown Debian release '{release}'", fix=f"use one of: {', '.join(RELEASES)}")
    ref = base_ref(release)
    started = time.monotonic()
    existing = _find_image(eng, ref)
    if existing and not force:
        return BaseResult(ref, existing, cached=True, seconds=time.monotonic() - started)
    mirror = debian_mirror(mirror)
    work = eng.config.tmp_dir / f"debootstrap-{release}-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.parent.mkdir(parents=True, exist_ok=True)
    try:
        _debootstrap(release, mirror, work, console)
        clean_rootfs(work, release, mirror)
        with status(console, f"importing {ref}"):
            image_id = import_rootfs(eng, work, ref)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BaseResult(ref, image_id, cached=False, seconds=time.monotonic() - started, mirror=mirror)
