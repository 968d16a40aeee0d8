"""Signatures and attestations in the format cosign writes, verified the way cosign verifies them.

Signature (sigstore/cosign specs/SIGNATURE_SPEC.md): the "simple signing" payload
{"critical": {"identity": {"docker-reference"}, "image": {"docker-manifest-digest"}, "type":
"cosign container image signature"}, "optional": null} is a layer of media type
application/vnd.dev.cosign.simplesigning.v1+json whose annotation dev.cosignproject.cosign/signature
holds the base64 ECDSA signature of the payload's bytes. The layers live in an image tagged
`sha256-<hex>.sig` in the image's repository: the tag `cosign verify` reads, and the one Harbor's
cosign middleware (src/server/middleware/cosign/cosign.go, cosignRe) links to the image as its
signature, which is what its "cosign" content trust checks on pull.

Attestation (cosign attest, legacy layout): an in-toto statement in a DSSE envelope, a layer of
media type application/vnd.dsse.envelope.v1+json with a `predicateType` annotation, in an image
tagged `sha256-<hex>.att`. The DSSE signature is over PAE(payloadType, payload).

A second run adds nothing: a layer this key already signed for the same content is kept as it is.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from pipeyard.supply import keys
from pipeyard.supply.artifacts import Artifact, dumps, image_with_layers, push_tagged
from pipeyard_kit.registry import RegistryClient
from pipeyard_kit.registry.oci import sha256_digest

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_TYPE = "cosign container image signature"
IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v0.1"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"  # what `cosign attest --type cyclonedx` writes


def tag_for(digest: str, suffix: str) -> str:
    """cosign's tag schema: sha256:<hex> -> sha256-<hex>.<sig|att|sbom>."""
    return digest.replace(":", "-") + f".{suffix}"


def simple_signing_payload(docker_reference: str, digest: str) -> bytes:
    return dumps({"critical": {"identity": {"docker-reference": docker_reference},
                               "image": {"docker-manifest-digest": digest},
                               "type": SIGNATURE_TYPE},
                  "optional": None})


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding (secure-systems-lab/dsse, protocol.md)."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def statement(subject_name: str, digest: str, predicate_type: str, predicate: Any) -> bytes:
    algorithm, _, hex_ = digest.partition(":")
    return dumps({"_type": STATEMENT_TYPE, "predicateType": predicate_type,
                  "subject": [{"name": subject_name, "digest": {algorithm: hex_}}], "predicate": predicate})


def envelope(key: keys.SigningKey, payload: bytes) -> bytes:
    sig = key.sign(pae(IN_TOTO, payload))
    return dumps({"payloadType": IN_TOTO, "payload": base64.b64encode(payload).decode(),
                  "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]})


# -- checking -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checked:
    ok: bool
    reason: str  # why not, or what was verified
    docker_reference: str = ""


def check_signature(public: ec.EllipticCurvePublicKey, payload: bytes, signature_b64: str,
                    digest: str) -> Checked:
    """What cosign's verifySignatures + SimpleClaimVerifier decide for one signature layer."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        return Checked(False, "the signature annotation is not base64")
    if not keys.verify(public, signature, payload):
        return Checked(False, "the signature does not match the key")
    try:
        critical = json.loads(payload)["critical"]
        claimed = critical["image"]["docker-manifest-digest"]
        reference = critical.get("identity", {}).get("docker-reference", "")
    except (ValueError, KeyError, TypeError):
        return Checked(False, "the payload is not a simple signing payload")
    if claimed != digest:
        return Checked(False, f"the payload signs {claimed[:19]}, not {digest[:19]}")
    return Checked(True, "signature verified", reference)


def check_attestation(public: ec.EllipticCurvePublicKey, envelope_data: bytes, digest: str,
                      predicate_type: str | None = CYCLONEDX_PREDICATE) -> tuple[Checked, dict[str, Any] | None]:
    """A DSSE envelope signed by the key whose in-toto statement names digest; and the statement."""
    try:
        env = json.loads(envelope_data)
        payload = base64.b64decode(env["payload"], validate=True)
        sigs = [base64.b64decode(s["sig"]) for s in env.get("signatures") or []]
        payload_type = env["payloadType"]
    except (ValueError, KeyError, TypeError):
        return Checked(False, "not a DSSE envelope"), None
    if not any(keys.verify(public, s, pae(payload_type, payload)) for s in sigs):
        return Checked(False, "the envelope's signature does not match the key"), None
    try:
        st = json.loads(payload)
        subjects = {s["digest"].get("sha256") for s in st.get("subject") or []}
    except (ValueError, KeyError, TypeError, AttributeError):
        return Checked(False, "the payload is not an in-toto statement"), None
    if digest.partition(":")[2] not in subjects:
        return Checked(False, f"the statement is about another image, not {digest[:19]}"), st
    if predicate_type and st.get("predicateType") != predicate_type:
        return Checked(False, f"the predicate is {st.get('predicateType')}, not {predicate_type}"), st
    return Checked(True, "attestation verified"), st


# -- reading and writing the .sig and .att images ---------------------------------------------------
def _existing_layers(client: RegistryClient, repo: str, tag: str) -> list[tuple[str, bytes, dict[str, str]]]:
    found = client.find_manifest(repo, tag)
    if found is None:
        return []
    doc = json.loads(found[0])
    return [(layer["mediaType"], client.get_blob(repo, layer["digest"]), dict(layer.get("annotations") or {}))
            for layer in doc.get("layers") or []]


@dataclass(frozen=True)
class Signed:
    tag: str
    changed: bool
    artifact: Artifact | None


def sign(client: RegistryClient, repo: str, digest: str, key: keys.SigningKey) -> Signed:
    """Add this key's signature of digest to `sha256-<hex>.sig`, unless it is there already."""
    tag = tag_for(digest, "sig")
    payload = simple_signing_payload(f"{client.host}/{repo}", digest)
    layers = _existing_layers(client, repo, tag)
    for media_type, data, notes in layers:
        if media_type == SIMPLE_SIGNING and data == payload and check_signature(
                key.public, data, notes.get(SIGNATURE_ANNOTATION, ""), digest).ok:
            return Signed(tag, False, None)
    signature = base64.b64encode(key.sign(payload)).decode()
    art = image_with_layers([*layers, (SIMPLE_SIGNING, payload, {SIGNATURE_ANNOTATION: signature})])
    return Signed(tag, push_tagged(client, repo, art, tag), art)


def attest(client: RegistryClient, repo: str, digest: str, key: keys.SigningKey, predicate: Any,
           predicate_type: str = CYCLONEDX_PREDICATE) -> Signed:
    """Add a signed in-toto attestation of predicate about digest to `sha256-<hex>.att`."""
    tag = tag_for(digest, "att")
    payload = statement(f"{client.host}/{repo}", digest, predicate_type, predicate)
    wanted = sha256_digest(dumps(predicate))
    layers = _existing_layers(client, repo, tag)
    for media_type, data, _ in layers:
        if media_type != DSSE_ENVELOPE:
            continue
        checked, st = check_attestation(key.public, data, digest, predicate_type)
        if checked.ok and st is not None and sha256_digest(dumps(st.get("predicate"))) == wanted:
            return Signed(tag, False, None)
    layer = (DSSE_ENVELOPE, envelope(key, payload),
             {SIGNATURE_ANNOTATION: "", "predicateType": predicate_type})
    art = image_with_layers([*layers, layer])
    return Signed(tag, push_tagged(client, repo, art, tag), art)
