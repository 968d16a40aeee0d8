"""Push an assembled image: the base's layers mounted (or copied once), the new layers uploaded only
when the registry lacks them, the manifest by digest, and the tags last.

A blob the repository already holds is skipped (HEAD). A base layer in the same registry is mounted
from the base's repository (a cross-repository mount: no bytes move); a registry that refuses the
mount, or a base in another registry, gets the layer copied: downloaded once into the local cache,
checked against its digest, uploaded. Either way the next build of any app finds it there and moves
nothing. Tags move only after the manifest is in place, so a tag never names a partial image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipeyard_kit.ocibuild.base import BaseImage
from pipeyard_kit.ocibuild.cache import LayerCache
from pipeyard_kit.registry.client import RegistryClient
from pipeyard_kit.registry.oci import Blob, OciImage

Echo = Callable[[str], None]


@dataclass
class PushReport:
    """What went over the wire, by kind; the summary lines and the benchmarks read it."""

    uploaded: list[str] = field(default_factory=list)  # names of the new blobs that went up
    uploaded_bytes: int = 0
    base_present: int = 0
    base_mounted: int = 0
    base_copied: int = 0
    base_copied_bytes: int = 0
    app_present: int = 0
    manifest_pushed: bool = False
    tags_moved: list[str] = field(default_factory=list)

    @property
    def nothing_moved(self) -> bool:
        return not (self.uploaded or self.base_mounted or self.base_copied or self.manifest_pushed or self.tags_moved)

    def base_line(self, base: BaseImage, same_registry: bool) -> str:
        """Says how the base's layers got into the app's repository."""
        total = len(base.layers)
        where = f"{base.reference.host}/{base.repository}"
        parts = []
        if self.base_mounted:
            parts.append(f"{self.base_mounted} mounted from {base.repository} (same registry: no bytes moved)")
        if self.base_copied:
            reason = "the registry refused the mount" if same_registry else "another registry"
            parts.append(f"{self.base_copied} copied from {where} ({_size(self.base_copied_bytes)}, {reason}; "
                         "once: the next build finds them here)")
        if self.base_present:
            parts.append(f"{self.base_present} already there")
        return f"base layers ({total}): " + "; ".join(parts)


def _size(n: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _copy(source: RegistryClient, source_repo: str, target: RegistryClient, repo: str, blob: Blob,
          cache: LayerCache) -> None:
    path = cache.blob(blob.digest) or cache.add_blob(blob.digest, source.blob_stream(source_repo, blob.digest))
    target.upload_blob(repo, blob.digest, blob.size, lambda: open(path, "rb"))


def push(target: RegistryClient, repo: str, image: OciImage, *, base: BaseImage, base_client: RegistryClient,
         names: dict[str, str], tags: list[str], cache: LayerCache) -> PushReport:
    """Push image (base layers first, then the new layers and the config) to repo and move tags to it.

    names maps the digests of the new blobs to what they are (a layer's name, "config"), for the report.
    """
    report = PushReport()
    same_registry = base_client.host == target.host
    base_digests = {b.digest for b in base.layers}
    for blob in image.blobs:
        is_base = blob.digest in base_digests and blob.digest not in names
        if target.blob_exists(repo, blob.digest):
            if is_base:
                report.base_present += 1
            else:
                report.app_present += 1
            continue
        if not is_base:
            target.upload_blob(repo, blob.digest, blob.size, blob.open)
            report.uploaded.append(names.get(blob.digest, blob.digest[:19]))
            report.uploaded_bytes += blob.size
        elif same_registry and target.mount_blob(repo, blob.digest, base.repository):
            report.base_mounted += 1
        else:
            _copy(base_client, base.repository, target, repo, blob, cache)
            report.base_copied += 1
            report.base_copied_bytes += blob.size
    digest = image.digest
    if target.manifest_digest(repo, digest) is None:
        target.put_manifest(repo, digest, image.manifest, image.media_type)
        report.manifest_pushed = True
    for tag in dict.fromkeys(tags):
        if target.manifest_digest(repo, tag) != digest:
            target.put_manifest(repo, tag, image.manifest, image.media_type)
            report.tags_moved.append(tag)
    return report
