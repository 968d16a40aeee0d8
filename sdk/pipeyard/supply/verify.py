"""`pipeyard verify`: cosign's verdict on an image, without cosign.

An image passes when at least one layer of its `sha256-<hex>.sig` image is a simple signing
payload for exactly this digest, signed by the key: what `cosign verify --key` accepts. A
signature copied onto another image (re-tagged onto another digest) fails on the digest claim,
as it does in cosign's SimpleClaimVerifier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from pipeyard.supply import signatures as sig
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry import RegistryClient


@dataclass
class Verdict:
    reference: str
    digest: str
    signatures: list[sig.Checked] = field(default_factory=list)
    attestations: list[sig.Checked] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return any(c.ok for c in self.signatures)

    @property
    def attested(self) -> bool:
        return any(c.ok for c in self.attestations)

    def lines(self) -> list[str]:
        good = [c for c in self.signatures if c.ok]
        out = [f"{self.reference}@{self.digest}"]
        if good:
            refs = sorted({c.docker_reference for c in good if c.docker_reference})
            out.append(f"  signature: verified ({len(good)} of {len(self.signatures)} signed by the key; "
                       f"signed as {', '.join(refs) or 'no reference'})")
        elif self.signatures:
            out.append("  signature: NOT verified: " + "; ".join(sorted({c.reason for c in self.signatures})))
        else:
            out.append(f"  signature: none ({sig.tag_for(self.digest, 'sig')} does not exist)")
        if self.attested:
            out.append("  SBOM attestation: verified (CycloneDX, signed by the key)")
        elif self.attestations:
            out.append("  SBOM attestation: NOT verified: "
                       + "; ".join(sorted({c.reason for c in self.attestations})))
        else:
            out.append("  SBOM attestation: none")
        return out


def resolve_digest(client: RegistryClient, repo: str, reference: str) -> str:
    if reference.startswith("sha256:"):
        if client.manifest_digest(repo, reference) is None:
            raise RemoteError(f"{client.host}/{repo}@{reference} does not exist", fix="check the image name")
        return reference
    digest = client.manifest_digest(repo, reference)
    if digest is None:
        raise RemoteError(f"{client.host}/{repo}:{reference} does not exist", fix="check the image name and tag")
    return digest


def verify_image(client: RegistryClient, repo: str, reference: str, public: ec.EllipticCurvePublicKey) -> Verdict:
    digest = resolve_digest(client, repo, reference)
    verdict = Verdict(f"{client.host}/{repo}", digest)
    for layer in _layers(client, repo, sig.tag_for(digest, "sig")):
        if layer["mediaType"] != sig.SIMPLE_SIGNING:
            continue
        payload = client.get_blob(repo, layer["digest"])
        annotation = (layer.get("annotations") or {}).get(sig.SIGNATURE_ANNOTATION, "")
        verdict.signatures.append(sig.check_signature(public, payload, annotation, digest))
    for layer in _layers(client, repo, sig.tag_for(digest, "att")):
        if layer["mediaType"] != sig.DSSE_ENVELOPE:
            continue
        checked, _ = sig.check_attestation(public, client.get_blob(repo, layer["digest"]), digest)
        verdict.attestations.append(checked)
    return verdict


def _layers(client: RegistryClient, repo: str, tag: str) -> list[dict]:
    found = client.find_manifest(repo, tag)
    return list(json.loads(found[0]).get("layers") or []) if found else []
