"""Push one OCI image: blobs that are missing, the manifest by digest, and only then the tags.

Tagging last means a tag never names an image whose blobs are not all there: if anything fails
before, the old tag (or none) stays.
"""

from __future__ import annotations

from pipeyard_kit.registry.client import RegistryClient
from pipeyard_kit.registry.oci import OciImage


def push_image(client: RegistryClient, repo: str, image: OciImage, tags: list[str],
               mount_from: dict[str, str] | None = None) -> list[str]:
    """Push image to repo and point tags at it; returns the tags that moved.

    mount_from maps blob digests to a repository of the same registry that already holds them,
    so layers shared between images are mounted instead of uploaded again.
    """
    for blob in image.blobs:
        source = (mount_from or {}).get(blob.digest)
        if client.blob_exists(repo, blob.digest):
            client.stats.skipped += 1
        elif source is None or source == repo or not client.mount_blob(repo, blob.digest, source):
            client.upload_blob(repo, blob.digest, blob.size, blob.open)
        if mount_from is not None:
            mount_from.setdefault(blob.digest, repo)
    digest = image.digest
    if client.manifest_digest(repo, digest) is None:
        client.put_manifest(repo, digest, image.manifest, image.media_type)
    moved = []
    for tag in tags:
        if client.manifest_digest(repo, tag) != digest:
            client.put_manifest(repo, tag, image.manifest, image.media_type)
            moved.append(tag)
    return moved
