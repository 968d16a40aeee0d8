"""`pipeyard bundle verify --key`: every signature and attestation in a bundle, against the key."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import ec

from pipeyard.supply import signatures as sig
from pipeyard.supply.bundle.archive import Bundle, BundleError


def check(bundle: Bundle, public: ec.EllipticCurvePublicKey) -> list[str]:
    """One line per image; raises naming the first image whose signature or attestation fails."""
    lines, problems = [], []
    for image in bundle.manifest.get("images") or []:
        name, digest = f"{image['name']}:{image['tags'][0]}", image["digest"]
        if not image.get("signature"):
            problems.append(f"{name} has no signature in the bundle")
            continue
        verdicts = []
        for kind, media_type in (("signature", sig.SIMPLE_SIGNING), ("attestation", sig.DSSE_ENVELOPE)):
            if not image.get(kind):
                continue
            doc = json.loads(bundle.read(bundle.blob_name(image[kind])))
            results = []
            for layer in doc.get("layers") or []:
                if layer.get("mediaType") != media_type:
                    continue
                data = bundle.read(bundle.blob_name(layer["digest"]))
                if kind == "signature":
                    note = (layer.get("annotations") or {}).get(sig.SIGNATURE_ANNOTATION, "")
                    results.append(sig.check_signature(public, data, note, digest))
                else:
                    results.append(sig.check_attestation(public, data, digest)[0])
            if not any(r.ok for r in results):
                reasons = "; ".join(sorted({r.reason for r in results})) or "no layer"
                problems.append(f"{name}: the {kind} does not verify ({reasons})")
            verdicts.append(f"{kind} verified")
        lines.append(f"  {name} {digest[:19]}: {', '.join(verdicts)}")
    if problems:
        raise BundleError(f"{bundle.path}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                          fix="this bundle was not signed by that key, or it was altered; get it again from its source")
    return lines
