"""Small OCI artifacts (an SBOM, a signature, an attestation): a manifest and its blobs in memory.

Their manifests are built deterministically (fixed key order, no white space, no timestamps of
their own), so the same content always has the same digest and a second push uploads nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeyard_kit.registry import Blob, RegistryClient
from pipeyard_kit.registry.oci import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, sha256_digest

# OCI image spec 1.1 (manifest.md, "Guidelines for Artifact Usage"): an artifact without a config
# of its own points at the empty JSON object and says what it is in artifactType.
EMPTY_JSON = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = Blob(sha256_digest(b"{}"), 2, EMPTY_JSON, data=b"{}")


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data), **extra}


@dataclass(frozen=True)
class Artifact:
    manifest: bytes
    blobs: tuple[Blob, ...]
    media_type: str = OCI_MANIFEST

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.manifest)

    @property
    def artifact_type(self) -> str:
        doc = self.doc
        return doc.get("artifactType") or (doc.get("config") or {}).get("mediaType", "")

    def descriptor(self) -> dict[str, Any]:
        """How a referrers index lists it: artifactType and every annotation copied (distribution-spec 1.1)."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}
        if self.media_type == OCI_MANIFEST:
            out["artifactType"] = self.artifact_type
        if self.doc.get("annotations"):
            out["annotations"] = self.doc["annotations"]
        return out

    def size(self) -> int:
        return len(self.manifest) + sum(b.size for b in self.blobs)


def artifact(artifact_type: str, layers: list[tuple[str, bytes, dict[str, str] | None]], *,
             subject: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> Artifact:
    """An OCI 1.1 artifact: the empty config, artifactType, the layers, and a subject when it refers."""
    blobs = [EMPTY_BLOB]
    descriptors = []
    for media_type, data, layer_annotations in layers:
        blobs.append(Blob(sha256_digest(data), len(data), media_type, data=data))
        d = descriptor(media_type, data)
        if layer_annotations:
            d["annotations"] = layer_annotations
        descriptors.append(d)
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {**EMPTY_BLOB.descriptor(), "data": "e30="},
        "layers": descriptors,
    }
    if subject is not None:
        doc["subject"] = {k: subject[k] for k in ("mediaType", "digest", "size")}
    if annotations:
        doc["annotations"] = dict(sorted(annotations.items()))
    return Artifact(dumps(doc), tuple(blobs))


def image_with_layers(layers: list[tuple[str, bytes, dict[str, str]]]) -> Artifact:
    """An image manifest the way cosign writes its `.sig` and `.att` images (go-containerregistry's
    empty image with one layer appended per signature): an image config listing each layer's digest."""
    config = dumps({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layers],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(data) for _, data, _ in layers]},
        "config": {},
    })
    blobs = [Blob(sha256_digest(config), len(config), OCI_CONFIG, data=config)]
    descriptors = []
    for media_type, data, notes in layers:
        blobs.append(Blob(sha256_digest(data), len(data), media_type, data=data))
        descriptors.append(descriptor(media_type, data, annotations=notes))
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, config),
           "layers": descriptors}
    return Artifact(dumps(doc), tuple(blobs))


def index(manifests: list[dict[str, Any]]) -> bytes:
    return dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})


def push_blobs(client: RegistryClient, repo: str, art: Artifact) -> None:
    for blob in art.blobs:
        if client.blob_exists(repo, blob.digest):
            client.stats.skipped += 1
        else:
            client.upload_blob(repo, blob.digest, blob.size, blob.open)


def push_tagged(client: RegistryClient, repo: str, art: Artifact, tag: str) -> bool:
    """Blobs, then the manifest under tag; False when the tag already named exactly this manifest."""
    if client.manifest_digest(repo, tag) == art.digest:
        return False
    push_blobs(client, repo, art)
    client.put_manifest(repo, tag, art.manifest, art.media_type)
    return True
