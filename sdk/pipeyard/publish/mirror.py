"""`pipeyard mirror`: copy a list of images into a private registry, keeping their names.

`docker.io/library/maven:3.9` mirrored `--to harbor.example.com/mirror` becomes
`harbor.example.com/mirror/library/maven:3.9`. Blobs the target already has are skipped; a blob
copied for one image is mounted, not uploaded again, into the next repository that needs it; and
a source on the target's own host is mounted directly. The manifest goes up byte for byte (its
digest stays the same), the tag last.

pipeyard's own provider images can be mirrored by provider instead of by list: each is taken from
the source under the name pipeyard releases it as (provider.yaml's image.name) and lands under the
name the site file gives it (`image_name`, `image_names`), so a site that calls them
`devops/maven-provider` gets them there from pipeyard's release registry.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from pipeyard.model.provider import Provider
from pipeyard.model.site import Site
from pipeyard_kit.errors import ConfigError, PipeyardError, RemoteError, UsageError
from pipeyard_kit.registry import PushStats, Reference, RegistryClient, Target
from pipeyard_kit.registry.oci import INDEX_TYPES, sha256_digest

Echo = Callable[[str], None]
ClientFor = Callable[[Reference], RegistryClient]
# Blobs a registry may not redistribute (Windows base layers); the manifest points at their URLs.
NON_DISTRIBUTABLE = ("foreign", "nondistributable")


def read_list(path: Path) -> list[Reference]:
    """One image per line; blank lines and `#` comments are ignored. Every bad line is reported."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--list {path}: {exc.strerror}",
                         fix="pass a readable file with one image per line") from None
    refs, problems = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            refs.append(Reference.parse(line))
        except UsageError as exc:
            problems.append(f"{path}:{number}: {exc.render()}")
    if problems:
        raise ConfigError(problems, fix="write one registry/project/repository:tag per line")
    if not refs:
        raise UsageError(f"--list {path} names no image",
                         fix="write one registry/project/repository:tag per line")
    return refs


def provider_images(providers: list[Provider], site: Site, source: Target, tag: str) -> dict[Reference, str]:
    """pipeyard's images in `source` (as pipeyard names them) -> the repository name the site gives each:
    the plain tag, and `<tag>-<variant>` for each variant the site offers (the templates name those)."""
    images = {}
    for p in providers:
        tags = [tag] + [f"{tag}-{v.name}" for v in site.variants_of(p) if v.name]
        for t in tags:
            images[Reference(source.host, source.repository(p.image_name), t, scheme=source.scheme)] = site.image_of(p)
    return images


@dataclass
class Copied:
    source: Reference
    destination: str
    digest: str
    stats: PushStats
    moved: bool = False


class Mirror:
    def __init__(self, target: Target, target_client: RegistryClient, source_client: ClientFor):
        self.target = target
        self.dst = target_client
        self.source_client = source_client
        self.mount_from: dict[str, str] = {}

    def copy(self, ref: Reference, name: str | None = None) -> Copied:
        """Copy one image to the target, under `name` (default: its own repository path) below the prefix."""
        src = self.source_client(ref)
        repo = self.target.repository(name or ref.repository)
        before = copy(self.dst.stats)
        digest, data, media_type = self._manifest(src, ref.repository, ref.reference, repo)
        moved = bool(ref.tag) and self.dst.manifest_digest(repo, ref.tag) != digest
        if moved:
            self.dst.put_manifest(repo, ref.tag, data, media_type)  # type: ignore[arg-type]
        stats = PushStats(**{k: getattr(self.dst.stats, k) - getattr(before, k) for k in vars(before)})
        shown = f"{self.target.host}/{repo}" + (f":{ref.tag}" if ref.tag else f"@{digest}")
        return Copied(ref, shown, digest, stats, moved)

    def _manifest(self, src: RegistryClient, src_repo: str, reference: str,
                  repo: str) -> tuple[str, bytes, str]:
        """Copy a manifest (and for an index, every manifest it lists) by digest."""
        data, media_type = src.get_manifest(src_repo, reference)
        digest = sha256_digest(data)
        doc = json.loads(data)
        if media_type in INDEX_TYPES or "manifests" in doc:
            for child in doc.get("manifests", []):
                self._manifest(src, src_repo, child["digest"], repo)
        else:
            for blob in [doc["config"], *doc.get("layers", [])]:
                if not any(word in blob.get("mediaType", "") for word in NON_DISTRIBUTABLE):
                    self._blob(src, src_repo, blob["digest"], int(blob["size"]), repo)
        if self.dst.manifest_digest(repo, digest) is None:
            self.dst.put_manifest(repo, digest, data, media_type)
        return digest, data, media_type

    def _blob(self, src: RegistryClient, src_repo: str, digest: str, size: int, repo: str) -> None:
        if self.dst.blob_exists(repo, digest):
            self.dst.stats.skipped += 1
        else:
            source = self.mount_from.get(digest)
            if source is None and src.host == self.dst.host:
                source = src_repo
            if source is None or source == repo or not self.dst.mount_blob(repo, digest, source):
                self._transfer(src, src_repo, digest, size, repo)
        self.mount_from.setdefault(digest, repo)

    def _transfer(self, src: RegistryClient, src_repo: str, digest: str, size: int, repo: str) -> None:
        # Spooled through a temporary file: the upload needs its length, and a retry its bytes again.
        with tempfile.NamedTemporaryFile(prefix="pipeyard-blob-") as tmp:
            h = hashlib.sha256()
            for chunk in src.blob_stream(src_repo, digest):
                h.update(chunk)
                tmp.write(chunk)
            tmp.flush()
            if "sha256:" + h.hexdigest() != digest:
                raise RemoteError(f"registry {src.host} sent a blob of {src_repo} not matching {digest}",
                                  fix="the source registry's storage is damaged or a proxy altered the data")
            # The client closes each file it is handed once the request is sent.
            self.dst.upload_blob(repo, digest, size, lambda: open(tmp.name, "rb"))  # noqa: SIM115


def mirror_images(refs: list[Reference], mirror: Mirror, echo: Echo = print,
                  names: dict[Reference, str] | None = None) -> list[Copied]:
    """Copy every image (under names[ref] where given); one failure does not stop the others, but the
    run fails at the end."""
    copied, failed = [], []
    for ref in refs:
        try:
            c = mirror.copy(ref, (names or {}).get(ref))
        except PipeyardError as exc:
            echo(f"failed {ref}: {exc.render()}")
            failed.append((ref, exc))
            continue
        s = c.stats
        echo(f"copied {ref} -> {c.destination} ({c.digest[:19]}): {s.uploaded} blobs uploaded "
             f"({s.uploaded_bytes / 1e6:.1f} MB), {s.skipped} already there, {s.mounted} mounted")
        copied.append(c)
    if failed:
        if len(failed) == 1:
            raise failed[0][1]
        raise RemoteError(f"{len(failed)} of {len(refs)} images were not mirrored: "
                          + ", ".join(str(r) for r, _ in failed),
                          fix="see the messages above; a rerun copies only what is missing")
    total = PushStats()
    for c in copied:
        total.add(c.stats)
    if total.uploaded == 0 and total.mounted == 0 and not any(c.moved for c in copied):
        echo(f"nothing changed: {mirror.target} already has all {len(copied)} images")
    else:
        echo(f"mirrored {len(copied)} images to {mirror.target}: {total.uploaded} blobs uploaded "
             f"({total.uploaded_bytes / 1e6:.1f} MB), {total.skipped} skipped, {total.mounted} mounted")
    return copied
