"""Validate ArgoCD objects against ArgoCD's own CRD schemas (fixtures/argocd, written from v3.5.1's CRDs).

The API server checks a custom resource against the CRD's structural openAPIV3Schema, and with
`kubectl apply --validate=strict` (field validation Strict) refuses fields the schema does not know.
Here the same: the schema becomes a JSON Schema whose objects refuse unknown properties, except where the
CRD says x-kubernetes-preserve-unknown-fields. metadata is ObjectMeta, which the CRD leaves open and the
API server checks by itself: names and label values as apimachinery's validation does.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

FIXTURES = Path(__file__).parent / "fixtures" / "argocd"
SCHEMAS = {"Application": "application", "ApplicationSet": "applicationset", "AppProject": "appproject"}
API_VERSION = "argoproj.io/v1alpha1"

# apimachinery/pkg/util/validation: a DNS-1123 subdomain for names, a label for namespaces, and
# label values of up to 63 characters, alphanumeric at both ends.
DNS_SUBDOMAIN = r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"
OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string", "pattern": DNS_LABEL},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "pattern": LABEL_VALUE}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields") \
            and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


@cache
def schema(kind: str) -> dict[str, Any]:
    crd = json.loads((FIXTURES / f"{SCHEMAS[kind]}.schema.json").read_text())
    strict = _strict(crd)
    strict["properties"]["metadata"] = OBJECT_META
    strict["properties"]["apiVersion"] = {"const": API_VERSION}
    strict["properties"]["kind"] = {"const": kind}
    strict["required"] = sorted({*strict.get("required", []), "apiVersion", "kind", "metadata"})
    return strict


def problems(doc: dict[str, Any]) -> list[str]:
    """Every way `doc` breaks its CRD's schema, as 'path: message'; [] when it validates."""
    kind = doc.get("kind")
    if kind not in SCHEMAS:
        return [f"kind {kind!r} is none of {', '.join(SCHEMAS)}"]
    validator = jsonschema.Draft7Validator(schema(kind))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
