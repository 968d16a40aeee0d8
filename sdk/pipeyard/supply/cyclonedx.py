"""An image's inventory as a CycloneDX 1.6 JSON document (https://cyclonedx.org/docs/1.6/json/).

Deterministic: components sorted, the serial number derived from the image, the timestamp the
image's own creation time. So the same image always gets the same bytes, and the same digest
when attached to a registry.
"""

from __future__ import annotations

import email.parser
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pipeyard.supply.inventory import Inventory, Jar
from pipeyard_kit import __version__

MEDIA_TYPE = "application/vnd.cyclonedx+json"
SPEC_VERSION = "1.6"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"


@dataclass(frozen=True)
class Subject:
    """The image the SBOM describes."""

    name: str  # repository, e.g. localhost/pipeyard/maven
    version: str  # tag
    image_id: str  # the config digest: the same wherever the image is pushed
    created: str = ""  # the image config's creation time


def _purl_part(text: str) -> str:
    return quote(text, safe=".-_~+")


def _deb(paragraph: dict[str, str], distro: str) -> dict[str, Any] | None:
    if "installed" not in paragraph.get("Status", "").split() or "Package" not in paragraph:
        return None
    name, version, arch = paragraph["Package"], paragraph.get("Version", ""), paragraph.get("Architecture", "")
    qualifiers = "&".join(q for q in (f"arch={arch}" if arch else "", f"distro={distro}" if distro else "") if q)
    purl = f"pkg:deb/debian/{_purl_part(name)}@{_purl_part(version)}" + (f"?{qualifiers}" if qualifiers else "")
    props = []
    source = paragraph.get("Source", "")
    if source:
        props.append({"name": "pipeyard:deb:source", "value": source})
    component: dict[str, Any] = {"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl}
    if paragraph.get("Maintainer"):
        component["supplier"] = {"name": paragraph["Maintainer"]}
    if paragraph.get("Homepage"):
        component["externalReferences"] = [{"type": "website", "url": paragraph["Homepage"]}]
    if props:
        component["properties"] = props
    return component


def _paragraphs(text: str) -> list[dict[str, str]]:
    out, current, last = [], {}, ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                out.append(current)
            current, last = {}, ""
        elif line[0] in " \t":
            if last:
                current[last] += "\n" + line.strip()
        elif ":" in line:
            last, _, value = line.partition(":")
            current[last] = value.strip()
    if current:
        out.append(current)
    return out


def _distro(os_release: bytes) -> str:
    fields = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', os_release.decode("utf-8", "replace"), re.M))
    distro_id = fields.get("ID", "")
    return f"{distro_id}-{fields['VERSION_ID']}" if distro_id and fields.get("VERSION_ID") else distro_id


def _licenses(text: str) -> list[dict[str, Any]]:
    text = text.strip()
    if not text or text.upper() == "UNKNOWN" or "\n" in text or len(text) > 120:
        return []
    return [{"license": {"name": text}}]


def _python(path: str, metadata: bytes) -> dict[str, Any] | None:
    msg = email.parser.BytesHeaderParser().parsebytes(metadata)
    name, version = msg.get("Name", ""), msg.get("Version", "")
    if not name:
        return None
    normalized = re.sub(r"[-_.]+", "-", name).lower()
    purl = f"pkg:pypi/{_purl_part(normalized)}@{_purl_part(version)}"
    component: dict[str, Any] = {"type": "library", "bom-ref": f"{purl}#/{path}", "name": name,
                                 "version": version, "purl": purl,
                                 "properties": [{"name": "pipeyard:path", "value": "/" + path.rsplit("/", 1)[0]}]}
    expression = msg.get("License-Expression", "")
    licenses = [{"expression": expression}] if expression else _licenses(msg.get("License", ""))
    if licenses:
        component["licenses"] = licenses
    return component


def _npm(path: str, data: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not doc.get("name") or not isinstance(doc["name"], str):
        return None
    name, version = doc["name"], str(doc.get("version", ""))
    scope, _, bare = name.rpartition("/")
    purl = f"pkg:npm/{_purl_part(scope) + '/' if scope else ''}{_purl_part(bare)}@{_purl_part(version)}"
    component: dict[str, Any] = {"type": "library", "bom-ref": f"{purl}#/{path}", "name": bare, "version": version,
                                 "purl": purl,
                                 "properties": [{"name": "pipeyard:path", "value": "/" + path.rsplit("/", 1)[0]}]}
    if scope:
        component["group"] = scope
    license_ = doc.get("license")
    if isinstance(license_, str) and _licenses(license_):
        component["licenses"] = _licenses(license_)
    return component


def _jar(jar: Jar) -> dict[str, Any]:
    stem = jar.path.rsplit("/", 1)[-1]
    name = jar.artifact or jar.title or stem.rsplit(".", 1)[0]
    component: dict[str, Any] = {"type": "library", "bom-ref": f"file:/{jar.path}", "name": name}
    if jar.group:
        component["group"] = jar.group
    if jar.version:
        component["version"] = jar.version
    if jar.group and jar.artifact and jar.version:
        component["purl"] = (f"pkg:maven/{_purl_part(jar.group)}/{_purl_part(jar.artifact)}@{_purl_part(jar.version)}"
                             f"?type={stem.rsplit('.', 1)[-1].lower()}")
    component["hashes"] = [{"alg": "SHA-256", "content": jar.sha256}]
    props = [{"name": "pipeyard:path", "value": "/" + jar.path}, {"name": "pipeyard:size", "value": str(jar.size)}]
    if "/agents/" in f"/{jar.path}" or "agent" in stem.lower():
        props.append({"name": "pipeyard:role", "value": "java-agent"})
    component["properties"] = props
    return component


def components(inv: Inventory) -> list[dict[str, Any]]:
    distro = _distro(inv.os_release)
    found: dict[str, dict[str, Any]] = {}
    for _, status in sorted(inv.dpkg.items()):
        for paragraph in _paragraphs(status.decode("utf-8", "replace")):
            c = _deb(paragraph, distro)
            if c:
                found[c["bom-ref"]] = c
    for path, metadata in sorted(inv.python.items()):
        c = _python(path, metadata)
        if c:
            found[c["bom-ref"]] = c
    for path, data in sorted(inv.npm.items()):
        c = _npm(path, data)
        if c:
            found[c["bom-ref"]] = c
    for _, jar in sorted(inv.jars.items()):
        c = _jar(jar)
        found[c["bom-ref"]] = c
    return [found[k] for k in sorted(found, key=lambda ref: (ref.split(":", 1)[0], ref))]


def bom(inv: Inventory, subject: Subject) -> dict[str, Any]:
    comps = components(inv)
    counts = {kind: sum(1 for c in comps if c["bom-ref"].startswith(prefix))
              for kind, prefix in (("deb", "pkg:deb/"), ("pypi", "pkg:pypi/"), ("npm", "pkg:npm/"), ("jar", "file:"))}
    metadata: dict[str, Any] = {}
    if subject.created:
        metadata["timestamp"] = subject.created
    metadata["tools"] = {"components": [{"type": "application", "name": "pipeyard", "version": __version__}]}
    metadata["component"] = {
        "type": "container", "bom-ref": subject.image_id, "name": subject.name, "version": subject.version,
        "properties": [{"name": "pipeyard:image-id", "value": subject.image_id}],
    }
    metadata["properties"] = [{"name": f"pipeyard:components:{k}", "value": str(v)} for k, v in counts.items()]
    return {
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'pipeyard-sbom:' + subject.image_id)}",
        "version": 1,
        "metadata": metadata,
        "components": comps,
    }


def dumps(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
