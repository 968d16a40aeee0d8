"""`pipeyard bundle create`: the images from the local store, with their SBOMs and, with a key,
their signatures and SBOM attestations; the templates, the chart skeleton and the B2I agents.

Images are listed, not discovered: the CLI passes provider images and B2I bases, and a later
variant of a provider is one more BundleImage. Every image becomes its OCI form exactly as
`pipeyard publish` pushes it (the same layer cache, so the same digests), and a blob two images
share is written once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeyard.b2i.agents import fetch
from pipeyard.b2i.spec import Agent
from pipeyard.publish import images as pub
from pipeyard.publish.archive import LayerCache, oci_image
from pipeyard.supply import signatures as sig
from pipeyard.supply.artifacts import Artifact, dumps, image_with_layers
from pipeyard.supply.attach import sbom_artifact
from pipeyard.supply.bundle.archive import Writer
from pipeyard.supply.keys import SigningKey
from pipeyard.supply.sbom import SbomStore, for_image
from pipeyard_kit import __version__
from pipeyard_kit.registry.oci import OCI_INDEX

REF_NAME = "org.opencontainers.image.ref.name"
KIND = "dev.pipeyard.bundle.kind"
REPOSITORY = "dev.pipeyard.bundle.repository"
SUBJECT = "dev.pipeyard.bundle.subject"
FORMAT = 1

Echo = Callable[[str], None]


@dataclass(frozen=True)
class BundleImage:
    name: str  # the repository under the site's project: "maven", "b2i-java"
    ref: str  # where it is in the local store
    tags: tuple[str, ...]
    kind: str = "provider"  # provider | b2i-base


@dataclass
class BundleRequest:
    output: Path
    images: list[BundleImage]
    registry: str  # the registry default the templates were rendered with
    component_project: str
    templates: Path | None = None
    chart: Path | None = None
    agents: list[tuple[Agent, str]] = field(default_factory=list)  # (agent, mirror)
    key: SigningKey | None = None
    version: str = __version__
    sboms: bool = True


@dataclass
class Created:
    path: Path
    images: int
    parts: int
    size: int
    images_size: int  # what the images weigh one by one (their compressed blobs and manifests)
    shared: int  # blobs written once for several images
    signed: bool


def _add_artifact(w: Writer, art: Artifact) -> None:
    for blob in art.blobs:
        w.add_file(f"blobs/{blob.digest.replace(':', '/')}", blob.open, blob.size, blob.digest.split(":")[1])
    w.add_bytes(f"blobs/{art.digest.replace(':', '/')}", art.manifest)


def _files(folder: Path) -> list[tuple[str, Path]]:
    return [(str(p.relative_to(folder)), p) for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts]


def create(docker_client: Any, request: BundleRequest, *, cache: LayerCache | None = None,
           sboms: SbomStore | None = None, echo: Echo = print) -> Created:
    cache = cache or LayerCache()
    found = pub.resolve(docker_client, [pub.LocalImage(i.name, i.ref) for i in request.images])
    agents = [(agent, mirror, fetch(agent, mirror)) for agent, mirror in request.agents]  # fail before writing
    request.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = request.output.with_name(f".{request.output.name}.partial")
    w = Writer(tmp)
    manifests: list[dict[str, Any]] = []
    listed: list[dict[str, Any]] = []
    images_size = shared = 0
    try:
        w.add_bytes("oci-layout", dumps({"imageLayoutVersion": "1.0.0"}))
        for image, (_, local) in zip(request.images, found, strict=True):
            oci = oci_image(local, cache)
            images_size += oci.size
            for blob in oci.blobs:
                name = f"blobs/{blob.digest.replace(':', '/')}"
                shared += w.has(name)
                w.add_file(name, blob.open, blob.size, blob.digest.split(":")[1])
            w.add_bytes(f"blobs/{oci.digest.replace(':', '/')}", oci.manifest)
            subject = {"mediaType": oci.media_type, "digest": oci.digest, "size": len(oci.manifest)}
            notes = {REF_NAME: f"{image.name}:{image.tags[0]}", REPOSITORY: image.name, KIND: image.kind}
            manifests.append({**subject, "annotations": notes})
            entry: dict[str, Any] = {"name": image.name, "kind": image.kind, "tags": list(image.tags),
                                     "digest": oci.digest, "size": oci.size}

            document, _ = for_image(local, image.ref, sboms) if request.sboms or request.key else (b"", False)
            if request.sboms:
                sbom = sbom_artifact(document, subject)
                _add_artifact(w, sbom)
                manifests.append({**sbom.descriptor(), "annotations": {**(sbom.doc.get("annotations") or {}),
                                                                       KIND: "sbom", REPOSITORY: image.name,
                                                                       SUBJECT: oci.digest}})
                entry["sbom"] = sbom.digest
            if request.key is not None:
                reference = f"{request.registry}/{image.name}"
                payload = sig.simple_signing_payload(reference, oci.digest)
                signature = image_with_layers([(sig.SIMPLE_SIGNING, payload, {
                    sig.SIGNATURE_ANNOTATION: _b64(request.key.sign(payload))})])
                statement = sig.statement(reference, oci.digest, sig.CYCLONEDX_PREDICATE, json.loads(document))
                attestation = image_with_layers([(sig.DSSE_ENVELOPE, sig.envelope(request.key, statement),
                                                  {sig.SIGNATURE_ANNOTATION: "",
                                                   "predicateType": sig.CYCLONEDX_PREDICATE})])
                for kind, art, suffix in (("signature", signature, "sig"), ("attestation", attestation, "att")):
                    _add_artifact(w, art)
                    tag = sig.tag_for(oci.digest, suffix)
                    manifests.append({"mediaType": art.media_type, "digest": art.digest, "size": len(art.manifest),
                                      "annotations": {REF_NAME: f"{image.name}:{tag}", KIND: kind,
                                                      REPOSITORY: image.name, SUBJECT: oci.digest}})
                    entry[kind] = art.digest
            listed.append(entry)
            echo(f"{image.name}:{image.tags[0]} {oci.digest[:19]} ({oci.size / 1e6:.1f} MB, SBOM"
                 f"{', signed' if request.key else ''})")
        w.add_bytes("index.json", dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
        if request.templates is not None:
            for rel, path in _files(request.templates):
                w.add_bytes(f"pipeline-templates/{rel}", path.read_bytes())
        if request.chart is not None:
            for rel, path in _files(request.chart):
                w.add_bytes(f"chart/{rel}", path.read_bytes())
        agent_list = []
        for agent, _, path in agents:
            w.add_file(f"b2i-agents/{agent.path.lstrip('/')}", lambda p=path: p.open("rb"), path.stat().st_size,
                       agent.sha256)
            agent_list.append({"name": agent.name, "version": agent.version, "path": agent.path,
                               "sha256": agent.sha256})
        w.close({"pipeyard_bundle": FORMAT, "version": request.version, "registry": request.registry,
                 "component_project": request.component_project, "images": listed, "agents": agent_list,
                 "signed": request.key is not None})
        tmp.replace(request.output)
    except BaseException:
        w.tar.close()
        tmp.unlink(missing_ok=True)
        raise
    return Created(request.output, len(listed), len(w.parts) + 1, request.output.stat().st_size, images_size,
                   shared, request.key is not None)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
