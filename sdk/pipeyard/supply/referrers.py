"""Artifacts that refer to an image: pushed with `subject`, listed through the referrers API, and on
registries without that API through the referrers tag schema, as distribution-spec 1.1 requires.

The fallback ("Pushing Manifests with Subject", "Referrers Tag Schema"): when a PUT of a manifest
with a subject comes back without the `OCI-Subject` header, the client keeps an image index under
the tag `sha256-<hex of the subject>` listing every referrer, each descriptor carrying the
artifactType and the annotations of the manifest it names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeyard.supply.artifacts import Artifact, index, push_blobs
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry import RegistryClient
from pipeyard_kit.registry.oci import INDEX_TYPES, OCI_INDEX


def fallback_tag(digest: str) -> str:
    algorithm, _, hex_ = digest.partition(":")
    return f"{algorithm}-{hex_[:64]}"


@dataclass(frozen=True)
class Attached:
    digest: str
    uploaded: bool  # the manifest went up (False: it was there already)
    listed_by: str  # "referrers API" or "tag sha256-..."


def attach(client: RegistryClient, repo: str, art: Artifact) -> Attached:
    """Push an artifact whose manifest has a subject, and make sure the subject lists it."""
    subject = art.doc["subject"]["digest"]
    uploaded = False
    if client.manifest_digest(repo, art.digest) is None:
        push_blobs(client, repo, art)
        _, processed = client.put_manifest_with_subject(repo, art.digest, art.manifest, art.media_type)
        uploaded = True
        if processed:
            return Attached(art.digest, True, "referrers API")
    elif client.referrers(repo, subject) is not None:
        return Attached(art.digest, False, "referrers API")
    tag = fallback_tag(subject)
    current = _fallback_index(client, repo, subject)
    if not any(m.get("digest") == art.digest for m in current):
        client.put_manifest(repo, tag, index([*current, art.descriptor()]), OCI_INDEX)
    return Attached(art.digest, uploaded, f"tag {tag[:19]}")


def _fallback_index(client: RegistryClient, repo: str, subject: str) -> list[dict[str, Any]]:
    tag = fallback_tag(subject)
    found = client.find_manifest(repo, tag)
    if found is None:
        return []
    data, media_type = found
    doc = json.loads(data)
    if media_type not in INDEX_TYPES and doc.get("mediaType") not in INDEX_TYPES:
        raise RemoteError(f"{client.host}/{repo}:{tag} is not an image index, so it is not a referrers list",
                          fix="that tag belongs to the OCI referrers fallback; remove whatever was pushed there")
    return list(doc.get("manifests") or [])


def list_referrers(client: RegistryClient, repo: str, subject: str,
                   artifact_type: str | None = None) -> list[dict[str, Any]]:
    """The referrers API when the registry has it, else the fallback tag (distribution-spec 1.1:
    a client receiving a 404 from the API MUST fall back to the tag schema)."""
    found = client.referrers(repo, subject, artifact_type)
    if found is None:
        found = _fallback_index(client, repo, subject)
        if artifact_type:
            found = [m for m in found if m.get("artifactType") == artifact_type]
    return found
