"""`pipeyard publish`: provider images from the local store to a registry, by digest, tags last.

Images leave the local store through the Docker API's export (docker-archive), become OCI images
with deterministically gzipped layers, and go up blob by blob: a blob the registry already has is
skipped, one another repository of the same registry holds is mounted. Only when every blob and
the manifest are in place do the tags move: the version, the major version, the git sha, any
release tag, and `latest` on the default branch. A variant's image gets each of them with its
suffix (1.0.0-jdk17, 1-jdk17, latest-jdk17); the site's default variant gets the plain ones too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeyard.publish.archive import LayerCache, oci_image
from pipeyard_kit import __version__
from pipeyard_kit.errors import BuildError, RemoteError
from pipeyard_kit.registry import PushStats, RegistryClient, Target, push_image

LOCAL_REGISTRY = "localhost/pipeyard"
EMBEDDED = "127.0.0.1:5000/pipeyard"

Echo = Callable[[str], None]


def local_ref(image_name: str, version: str = __version__, variant: str = "") -> str:
    """Where `pipeyard build` leaves an image in the local store (a variant's ends in -<variant>)."""
    return f"{LOCAL_REGISTRY}/{image_name}:{version}{f'-{variant}' if variant else ''}"


# -- which tags ------------------------------------------------------------------------------------
def git_sha(root: Path | None = None, env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    if env.get("CI_COMMIT_SHORT_SHA"):
        return env["CI_COMMIT_SHORT_SHA"]
    if env.get("CI_COMMIT_SHA"):
        return env["CI_COMMIT_SHA"][:8]
    return _git(root, "rev-parse", "--short=8", "HEAD")


def on_default_branch(root: Path | None = None, env: dict[str, str] | None = None) -> bool:
    """In GitLab CI: the branch is CI_DEFAULT_BRANCH. Locally: the checked-out branch is main or master."""
    env = dict(os.environ) if env is None else env
    if env.get("CI_DEFAULT_BRANCH"):
        return env.get("CI_COMMIT_BRANCH") == env["CI_DEFAULT_BRANCH"]
    default = (_git(root, "symbolic-ref", "--short", "refs/remotes/origin/HEAD") or "").split("/")[-1]
    branches = {"main", "master"} | ({default} if default else set())
    return _git(root, "rev-parse", "--abbrev-ref", "HEAD") in branches


def _git(root: Path | None, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def plan_tags(version: str, *, sha: str | None, latest: bool, release: str | None = None,
              extra: tuple[str, ...] = ()) -> list[str]:
    """Version, major version, git sha, the release tag (CI_COMMIT_TAG), extras, then latest."""
    tags = [version]
    major = version.lstrip("v").split(".")[0]
    if major.isdigit() and major != version:
        tags.append(major)
    for t in (sha, release, *extra):
        if t and t not in tags:
            tags.append(t)
    if latest and "latest" not in tags:
        tags.append("latest")
    return tags


def variant_tags(tags: list[str], variant: str, *, plain: bool) -> list[str]:
    """A variant image's tags: each of `tags` with the variant's suffix (1.0.0-jdk17, latest-jdk17), then
    the plain ones when it is the site's default variant (or the provider has none)."""
    if not variant:
        return list(tags)
    suffixed = [f"{t}-{variant}" for t in tags]
    return suffixed + (list(tags) if plain else [])


# -- the push --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalImage:
    name: str  # the repository name under the target project, e.g. "maven"
    ref: str  # where it is in the local store
    variant: str = ""  # jdk17; "" for a provider without variants
    tags: tuple[str, ...] = ()  # its own tags, else the ones publish_images is given

    @property
    def label(self) -> str:
        return f"{self.name} ({self.variant})" if self.variant else self.name


@dataclass
class Published:
    name: str
    reference: str
    digest: str
    tags: list[str]
    moved: list[str]
    size: int
    stats: PushStats = field(default_factory=PushStats)
    variant: str = ""


def _delta(after: PushStats, before: PushStats) -> PushStats:
    return PushStats(**{k: getattr(after, k) - getattr(before, k) for k in vars(after)})


def resolve(docker_client: Any, images: list[LocalImage]) -> list[tuple[LocalImage, Any]]:
    """Every image must be in the local store before anything is pushed."""
    import docker.errors

    found, missing = [], []
    for image in images:
        try:
            found.append((image, docker_client.images.get(image.ref)))
        except docker.errors.ImageNotFound:
            missing.append(image)
        except docker.errors.APIError as exc:
            raise RemoteError(f"the container engine failed to look up {image.ref}: {exc.explanation or exc}",
                              fix="check the engine (DOCKER_HOST or the podman service)") from None
    if missing:
        names = " ".join(dict.fromkeys(m.name for m in missing))
        variants = "".join(f" --variant {m.variant}" for m in missing if m.variant)
        raise BuildError(f"not in the local image store: {', '.join(m.ref for m in missing)}",
                         fix=f"build them first: pipeyard build {names}{variants}")
    return found


# Called after each image is pushed (the supply chain attaches its SBOM and signature there);
# what it returns is printed under the image's line.
AfterPush = Callable[[LocalImage, Any, "Published"], str | None]
# What a guard sees before anything is pushed: (repository, digest of the image it would get, the tags
# it would get: a variant's own, else the publish's).
Planned = list[tuple[str, str, list[str]]]


def publish_images(docker_client: Any, images: list[LocalImage], target: Target, client: RegistryClient,
                   tags: list[str], *, cache: LayerCache | None = None, echo: Echo = print,
                   guard: Callable[[Planned], None] | None = None,
                   after: AfterPush | None = None) -> list[Published]:
    """Every image is exported first and `guard` sees the whole plan, so a refusal (an immutable tag
    that would move) comes before a single blob is uploaded."""
    cache = cache or LayerCache()
    found = resolve(docker_client, images)
    client.ping()
    planned = [(image, local, target.repository(image.name), oci_image(local, cache)) for image, local in found]
    if guard is not None:
        guard([(repo, oci.digest, list(image.tags) or tags) for image, _, repo, oci in planned])
    mount_from: dict[str, str] = {}
    results = []
    for image, local, repo, oci in planned:
        before = copy(client.stats)
        image_tags = list(image.tags) or tags
        moved = push_image(client, repo, oci, image_tags, mount_from)
        result = Published(image.name, f"{target.host}/{repo}", oci.digest, image_tags, moved, oci.size,
                           _delta(client.stats, before), image.variant)
        echo(describe(result))
        if after is not None:
            note = after(image, local, result)
            if note:
                echo(note)
        results.append(result)
    echo(summary(results, target))
    return results


def describe(p: Published) -> str:
    s = p.stats
    moved = f"tags {', '.join(p.moved)} moved" if p.moved else "tags already in place"
    return (f"{p.reference}@{p.digest[:19]} [{', '.join(p.tags)}]: {s.uploaded} blobs uploaded "
            f"({_mb(s.uploaded_bytes)} of {_mb(p.size)}), {s.skipped} already there, {s.mounted} mounted; "
            f"{moved}")


def summary(results: list[Published], target: Target) -> str:
    total = PushStats()
    for r in results:
        total.add(r.stats)
    if total.uploaded == 0 and total.mounted == 0 and not any(r.moved for r in results):
        return (f"nothing changed: 0 blobs uploaded; {target} already has all {len(results)} images "
                f"and their tags")
    retries = f", {total.retries} retried calls" if total.retries else ""
    return (f"published {len(results)} images to {target}: {total.uploaded} blobs uploaded "
            f"({_mb(total.uploaded_bytes)}), {total.skipped} skipped, {total.mounted} mounted{retries}")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def start_embedded(target: Target, root: Path | None = None, echo: Echo = print) -> None:
    """Start the embedded registry for the default target; reuse one that already answers."""
    from pipeyard.images.containers.registry_server import LocalRegistry, default_root

    host, _, port = target.host.partition(":")
    registry = LocalRegistry(root or default_root(), host=host, port=int(port or 5000))
    if registry.running:
        return
    registry.start()
    echo(f"started the embedded registry on {registry.address} (data and log in {registry.root}; "
         "stop it with `pipeyard registry stop`)")
