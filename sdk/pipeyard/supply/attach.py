"""What `pipeyard publish` adds beside each image it pushed: the SBOM as a referrer and, with
--sign, the cosign signature and the signed SBOM attestation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeyard.supply import cyclonedx, referrers, signatures
from pipeyard.supply.artifacts import Artifact, artifact
from pipeyard.supply.keys import SigningKey
from pipeyard_kit.registry import RegistryClient

Echo = Callable[[str], None]
SBOM_TITLE = "sbom.cdx.json"


def sbom_artifact(sbom: bytes, subject: dict[str, Any]) -> Artifact:
    """The SBOM as an OCI 1.1 artifact referring to its image (artifactType application/vnd.cyclonedx+json)."""
    return artifact(cyclonedx.MEDIA_TYPE, [(cyclonedx.MEDIA_TYPE, sbom, {"org.opencontainers.image.title": SBOM_TITLE})],
                    subject=subject, annotations={"org.opencontainers.image.description": "CycloneDX SBOM by pipeyard",
                                                  "dev.pipeyard.sbom.format": f"CycloneDX {cyclonedx.SPEC_VERSION}"})


def subject_of(client: RegistryClient, repo: str, digest: str) -> dict[str, Any]:
    data, media_type = client.get_manifest(repo, digest)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


@dataclass
class Attachments:
    repo: str
    digest: str
    sbom: referrers.Attached | None = None
    signature: signatures.Signed | None = None
    attestation: signatures.Signed | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        parts = []
        if self.sbom is not None:
            state = "attached" if self.sbom.uploaded else "already attached"
            parts.append(f"SBOM {state} ({self.sbom.listed_by})")
        if self.signature is not None:
            parts.append(f"signature {'added' if self.signature.changed else 'already there'} "
                         f"({self.signature.tag[:19]}….sig)")
        if self.attestation is not None:
            parts.append(f"SBOM attestation {'added' if self.attestation.changed else 'already there'}")
        return f"  {self.repo}@{self.digest[:19]}: " + "; ".join(parts)

    @property
    def changed(self) -> bool:
        return bool((self.sbom and self.sbom.uploaded) or (self.signature and self.signature.changed)
                    or (self.attestation and self.attestation.changed))


def attach(client: RegistryClient, repo: str, digest: str, sbom: bytes | None, key: SigningKey | None) -> Attachments:
    out = Attachments(repo, digest)
    if sbom is not None:
        t = time.perf_counter()
        out.sbom = referrers.attach(client, repo, sbom_artifact(sbom, subject_of(client, repo, digest)))
        out.seconds["sbom"] = time.perf_counter() - t
    if key is not None:
        t = time.perf_counter()
        out.signature = signatures.sign(client, repo, digest, key)
        out.seconds["sign"] = time.perf_counter() - t
        if sbom is not None:
            t = time.perf_counter()
            out.attestation = signatures.attest(client, repo, digest, key, json.loads(sbom))
            out.seconds["attest"] = time.perf_counter() - t
    return out
