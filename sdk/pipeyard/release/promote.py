"""Releasing pipeyard's images from its own pipeline: per-pipeline pushes, promotion by digest and
the Harbor policies (the templates' catalog release is in release.catalog).

    push_ci        build job: the local image goes up by digest under one per-pipeline tag (with the
                   variant's suffix: ci-123-jdk17), and its digest is written to
                   <digests>/<provider>[-<variant>].json for the jobs after it
    promote        release job: the digests the build jobs pushed (and the test jobs tested) get the
                   version, major and major.minor tags; manifests are copied byte for byte, nothing is
                   rebuilt or re-uploaded
    apply_policies the project's tag retention, immutable release tags and GC schedule in Harbor
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeyard_kit import __version__
from pipeyard_kit.errors import ConfigError, RemoteError, UsageError
from pipeyard_kit.registry import RegistryClient, Target
from pipeyard_kit.registry.oci import INDEX_TYPES

Echo = Callable[[str], None]
SEMVER = re.compile(r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
                    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?\Z")
RELEASE_FILE = "release.json"


# -- versions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Version:
    text: str  # without a leading v
    major: str
    minor: str
    prerelease: str | None

    @property
    def tags(self) -> list[str]:
        """1.4.2 -> 1.4.2, 1, 1.4; a prerelease moves only its own tag."""
        if self.prerelease:
            return [self.text]
        return [self.text, self.major, f"{self.major}.{self.minor}"]


def parse_version(tag: str, *, option: str = "--version") -> Version:
    m = SEMVER.match(tag.strip())
    if not m:
        raise UsageError(f"{option} {tag!r} is not a semantic version",
                         fix="tag releases as MAJOR.MINOR.PATCH, e.g. v1.4.2 or 1.4.2 (a -rc.1 suffix is a prerelease)")
    text = tag.strip().removeprefix("v")
    return Version(text, m["major"], m["minor"], m["pre"])


def release_version(tag: str, package_version: str = __version__) -> Version:
    """The tag's version, which must be the one the templates pin their images and components to."""
    version = parse_version(tag)
    if version.text != package_version:
        raise ConfigError(
            f"tag {tag} releases {version.text}, but the templates pin pipeyard {package_version} "
            "(pyproject.toml version)",
            fix=f'set version = "{version.text}" in pyproject.toml, run `make render`, commit, and tag that commit',
        )
    return version


# -- per-pipeline pushes -----------------------------------------------------------------------------
@dataclass
class ImageRecord:
    """What a build job pushed: the exact image the test job tested and the release promotes."""

    provider: str
    registry: str
    repository: str
    digest: str
    tag: str
    tags: list[str] = field(default_factory=list)
    variant: str = ""  # jdk17; "" for a provider without variants
    plain: bool = True  # the site's default variant: the release tags it without the suffix too

    @property
    def reference(self) -> str:
        return f"{self.registry}/{self.repository}@{self.digest}"

    @property
    def image(self) -> str:
        """provider[-variant]: the record's file name and what messages call it."""
        return f"{self.provider}-{self.variant}" if self.variant else self.provider

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.image}.json"
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path


def read_records(directory: Path, providers: list[str] | None = None) -> list[ImageRecord]:
    files = sorted(p for p in directory.glob("*.json") if p.name != RELEASE_FILE) if directory.is_dir() else []
    records = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = ImageRecord(**{k: data[k] for k in ("provider", "registry", "repository", "digest", "tag")},
                                 tags=list(data.get("tags", [])), variant=str(data.get("variant", "")),
                                 plain=bool(data.get("plain", True)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is not a digest record of `pipeyard release push` ({type(exc).__name__})",
                              fix="let the release job take the build jobs' artifacts (needs: build-<provider>)") from None
        if providers is None or record.provider in providers:
            records.append(record)
    if providers:
        missing = sorted(set(providers) - {r.provider for r in records})
        if missing:
            raise ConfigError(f"no digest record for {', '.join(missing)} in {directory}",
                              fix="the release needs every build job's artifacts; check the release job's needs")
    if not records:
        raise ConfigError(f"no digest records in {directory}",
                          fix="run `pipeyard release push` in the build jobs and pass their artifacts to this job")
    return records


def check_tag(tag: str) -> str:
    from pipeyard_kit.refs import TAG

    if not TAG.match(tag):
        raise UsageError(f"--tag {tag!r} is not a valid image tag",
                         fix="use letters, digits, '_', '.' and '-' (e.g. ci-$CI_PIPELINE_ID)")
    return tag


@dataclass(frozen=True)
class CiImage:
    """One image a build job pushes: its provider, repository name, variant and whether it is the default."""

    provider: str
    image: str
    variant: str = ""
    plain: bool = True


def push_ci(docker_client: Any, images: list[CiImage], target: Target, client: RegistryClient,
            tag: str, digests: Path, *, version: str = __version__, echo: Echo = print) -> list[ImageRecord]:
    """Push images from the local store under exactly one tag each (tag, or tag-<variant>), by digest."""
    from pipeyard.publish import images as pub

    check_tag(tag)
    local = [pub.LocalImage(i.image, pub.local_ref(i.image, version, i.variant), i.variant,
                            (f"{tag}-{i.variant}" if i.variant else tag,)) for i in images]
    published = pub.publish_images(docker_client, local, target, client, [tag], echo=echo)
    records = []
    for image, result in zip(images, published, strict=True):
        record = ImageRecord(image.provider, target.host, target.repository(result.name), result.digest,
                             result.tags[0], list(result.tags), variant=image.variant, plain=image.plain)
        record.write(digests)
        records.append(record)
    return records


def push_bases(docker_client: Any, releases: list[str], target: Target, client: RegistryClient, *,
               echo: Echo = print) -> list[str]:
    """The locally bootstrapped Debian bases, as <target>/debian:<release>."""
    from pipeyard.images.base import RELEASES, base_ref
    from pipeyard.publish import images as pub

    unknown = [r for r in releases if r not in RELEASES]
    if unknown:
        raise UsageError(f"unknown Debian release {', '.join(unknown)}", fix=f"use one of: {', '.join(RELEASES)}")
    if target.host == "localhost":
        raise ConfigError(f"{target} is the local image store, not a registry, so the bases cannot be pushed there",
                          fix="set base_registry in the site file to a Harbor project, or set "
                              "PIPEYARD_BOOTSTRAP_BASES=false when it is a proxy cache")
    refs = []
    for release in releases:
        result = pub.publish_images(docker_client, [pub.LocalImage("debian", base_ref(release))], target, client,
                                    [release], echo=echo)[0]
        refs.append(f"{result.reference}:{release}@{result.digest}")
    return refs


# -- promotion -------------------------------------------------------------------------------------
@dataclass
class Promoted:
    provider: str
    reference: str  # host/repository
    digest: str
    moved: list[str]
    unchanged: list[str]
    variant: str = ""
    tags: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = []
        if self.moved:
            parts.append(f"tagged {', '.join(self.moved)}")
        if self.unchanged:
            parts.append(f"{', '.join(self.unchanged)} already there")
        return f"{self.reference}@{self.digest[:19]}: {'; '.join(parts)}"


def _blobs_of(manifest: bytes) -> list[str]:
    doc = json.loads(manifest)
    return [d["digest"] for d in [doc.get("config") or {}, *(doc.get("layers") or [])] if d.get("digest")]


def promote(client: RegistryClient, target: Target, records: list[ImageRecord], version: Version, *,
            echo: Echo = print) -> list[Promoted]:
    """Give each recorded digest the release tags, copying the manifest bytes; no blob is uploaded.

    Into another repository of the same registry (a CI project -> the release project), blobs are
    mounted across repositories; a different registry is refused, since that would be a copy.
    """
    results = []
    for record in records:
        if record.registry != target.host:
            raise UsageError(f"{record.provider} was pushed to {record.registry}, not to {target.host}",
                             fix="promote within the registry the build jobs pushed to (--registry)")
    for record in records:
        repo = target.repository(record.repository.rsplit("/", 1)[-1])
        data, media_type = client.get_manifest(record.repository, record.digest)
        if media_type in INDEX_TYPES:
            raise UsageError(f"{record.reference} is a multi-platform index", fix="promote single-platform images")
        if repo != record.repository:
            for digest in _blobs_of(data):
                if not client.blob_exists(repo, digest) and not client.mount_blob(repo, digest, record.repository):
                    raise RemoteError(f"registry {target.host} would not mount {digest[:19]} from {record.repository} "
                                      f"into {repo}", fix="give the push account pull rights on both projects")
        if client.manifest_digest(repo, record.digest) is None:
            client.put_manifest(repo, record.digest, data, media_type)
        from pipeyard.publish.images import variant_tags

        tags = variant_tags(version.tags, record.variant, plain=record.plain)
        moved, unchanged = [], []
        for tag in tags:
            if client.manifest_digest(repo, tag) == record.digest:
                unchanged.append(tag)
                continue
            client.put_manifest(repo, tag, data, media_type)
            moved.append(tag)
        result = Promoted(record.provider, f"{target.host}/{repo}", record.digest, moved, unchanged, record.variant,
                          tags)
        echo(result.line())
        results.append(result)
    return results


def write_release(directory: Path, version: Version, promoted: list[Promoted]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / RELEASE_FILE
    data = {"version": version.text, "images": [
        {"provider": p.provider, "variant": p.variant, "reference": p.reference, "digest": p.digest,
         "tags": p.tags or version.tags}
        for p in promoted]}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# -- Harbor ----------------------------------------------------------------------------------------
def apply_policies(client: Any, project: str, *, gc: bool = True) -> Any:
    """Retention, immutable release tags and GC for an existing project; robots are left alone.

    Robot secrets are shown once, at creation, and a CI log is the wrong place for them: accounts are
    created with `pipeyard publish --harbor --setup-only` by a person.
    """
    from pipeyard.publish.harbor import policies
    from pipeyard.publish.harbor.provision import Summary, apply_policies

    policies.validate_project_name(project)
    if not client.project_exists(project):
        raise ConfigError(f"Harbor {client.url} has no project {project}",
                          fix=f"create it and its robots once with `pipeyard publish --harbor {client.url} "
                              f"--registry {client.host}/{project} --setup-only`")
    summary = Summary(client.url, project)
    apply_policies(client, project, client.project(project), summary, gc=gc)
    return summary
