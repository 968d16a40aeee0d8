"""A real docker-registry with the OCI referrers API in front of it, as a registry of
distribution-spec 1.1 serves it (opencontainers/distribution-spec, spec.md at v1.1.1):

- "Pushing Manifests with Subject": a PUT of a manifest with a `subject` is answered with the
  `OCI-Subject: <subject digest>` header, telling the client not to keep the fallback tag;
- "Listing Referrers" (end-12a/12b): GET /v2/<name>/referrers/<digest> answers 200 with an image
  index (Content-Type application/vnd.oci.image.index.v1+json) whose descriptors carry the
  manifest's artifactType (else its config's mediaType) and annotations; an empty list when none;
  with ?artifactType= it filters and says so in `OCI-Filters-Applied: artifactType`.
Everything else goes to the registry unchanged (docker-registry 2.8 has no referrers API).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.publish.registry_proxy import RegistryProxy


@dataclass
class ReferrersRegistry(RegistryProxy):
    referrers: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def handle(self, req) -> None:  # type: ignore[override]
        url = urlsplit(req.path)
        parts = url.path.split("/")
        if req.command == "GET" and "referrers" in parts and url.path.startswith("/v2/"):
            i = parts.index("referrers")
            repo, digest = "/".join(parts[2:i]), parts[i + 1]
            wanted = parse_qs(url.query).get("artifactType", [None])[0]
            found = [d for d in self.referrers.get((repo, digest), []) if not wanted or d["artifactType"] == wanted]
            body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                               "manifests": found}).encode()
            headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            if wanted:
                headers["OCI-Filters-Applied"] = "artifactType"
            return self.answer(req, 200, headers, body)
        if req.command == "PUT" and "/manifests/" in url.path:
            length = int(req.headers.get("Content-Length") or 0)
            data = req.rfile.read(length)
            doc = json.loads(data or b"{}")
            req.rfile = _Replay(data)  # forward() reads the body again
            subject = (doc.get("subject") or {}).get("digest")
            if subject:
                repo = url.path[len("/v2/"):url.path.index("/manifests/")]
                d = {"mediaType": doc.get("mediaType"), "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                     "size": len(data), "artifactType": doc.get("artifactType") or doc["config"]["mediaType"]}
                if doc.get("annotations"):
                    d["annotations"] = doc["annotations"]
                listed = self.referrers.setdefault((repo, subject), [])
                if d not in listed:
                    listed.append(d)
                req.oci_subject = subject  # per request: the proxy serves requests on many threads
        return super().handle(req)

    def answer(self, req, status: int, headers: dict[str, str], body: bytes, head_length: str | None = None) -> None:
        if req.command == "PUT" and status == 201 and getattr(req, "oci_subject", None):
            headers = {**headers, "OCI-Subject": req.oci_subject}
        super().answer(req, status, headers, body, head_length)


class _Replay:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, n: int = -1) -> bytes:
        out, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
        return out
