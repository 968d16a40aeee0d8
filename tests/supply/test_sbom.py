"""SBOMs from image layers: dpkg, Python, npm and jars, whiteouts applied, valid CycloneDX 1.6."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from packageurl import PackageURL
from referencing import Registry, Resource

from pipeyard.supply import cyclonedx, inventory, sbom
from tests.publish.imagefactory import FakeDockerClient, layer_tar

from .conftest import DPKG_STATUS, OS_RELEASE


def jar(pom: str | None = None, manifest: str = "Manifest-Version: 1.0\n") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", manifest)
        if pom:
            z.writestr("META-INF/maven/org.example/lib/pom.properties", pom)
    return buf.getvalue()


LIB = jar("groupId=org.example\nartifactId=lib\nversion=2.3.1\n")
AGENT = jar(manifest="Manifest-Version: 1.0\nImplementation-Title: jmx_prometheus_javaagent\n"
                     "Implementation-Version: 1.6.0\n")


def layers() -> list[dict[str, bytes]]:
    site = "opt/pipeyard/lib/python3.13/site-packages"
    return [
        {"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": DPKG_STATUS,
         "usr/lib/python3/dist-packages/debian_pkg-1.0.dist-info/METADATA": b"Name: debian-pkg\nVersion: 1.0\n",
         f"{site}/requests-2.32.3.dist-info/METADATA": b"Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\n"
                                                       b"License: Apache 2.0\n",
         f"{site}/gone-1.0.dist-info/METADATA": b"Name: gone\nVersion: 1.0\n",
         "usr/share/java/old.jar": LIB,
         "app/node_modules/left-pad/package.json": b'{"name": "left-pad", "version": "1.3.0", "license": "WTFPL"}',
         "app/node_modules/@scope/pkg/package.json": b'{"name": "@scope/pkg", "version": "0.1.0"}',
         "app/node_modules/left-pad/lib/package.json": b'{"name": "not-a-package-root"}',
         "opt/b2i/plugins/a.jar": LIB},
        {f"{site}/.wh.gone-1.0.dist-info": b"", "usr/share/java/.wh.old.jar": b"",
         "opt/b2i/plugins/.wh..wh..opq": b"", "opt/b2i/agents/jmx_prometheus_javaagent.jar": AGENT,
         "opt/app/lib/lib-2.3.1.jar": LIB},
    ]


@pytest.fixture
def document(tmp_path: Path) -> dict:
    store = FakeDockerClient()
    image = store.add("localhost/pipeyard/demo:1.0.0", layers())
    data, generated = sbom.for_image(image, "localhost/pipeyard/demo:1.0.0", sbom.SbomStore(tmp_path / "s"))
    assert generated
    assert sbom.for_image(image, "localhost/pipeyard/demo:1.0.0", sbom.SbomStore(tmp_path / "s")) == (data, False)
    return json.loads(data)


def by_ref(doc: dict) -> dict[str, dict]:
    return {c["bom-ref"]: c for c in doc["components"]}


def test_every_kind_is_listed_and_whiteouts_hide_what_they_delete(document: dict) -> None:
    refs = by_ref(document)
    assert "pkg:deb/debian/libc6@2.41-12?arch=amd64&distro=debian-13" in refs
    assert not any("removed-tool" in r for r in refs), "not installed: only config files left"
    pypi = {c["name"] for c in document["components"] if c.get("purl", "").startswith("pkg:pypi/")}
    assert pypi == {"requests"}, "dist-packages belong to dpkg; gone-1.0 was whited out"
    npm = {c["purl"] for c in document["components"] if c.get("purl", "").startswith("pkg:npm/")}
    assert npm == {"pkg:npm/left-pad@1.3.0", "pkg:npm/%40scope/pkg@0.1.0"}
    jars = {c["properties"][0]["value"]: c for c in document["components"] if c["bom-ref"].startswith("file:")}
    assert set(jars) == {"/opt/b2i/agents/jmx_prometheus_javaagent.jar", "/opt/app/lib/lib-2.3.1.jar"}
    lib = jars["/opt/app/lib/lib-2.3.1.jar"]
    assert lib["purl"] == "pkg:maven/org.example/lib@2.3.1?type=jar"
    import hashlib

    assert lib["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(LIB).hexdigest()}]
    agent = jars["/opt/b2i/agents/jmx_prometheus_javaagent.jar"]
    assert (agent["name"], agent["version"]) == ("jmx_prometheus_javaagent", "1.6.0")
    assert {"name": "pipeyard:role", "value": "java-agent"} in agent["properties"]
    for c in document["components"]:
        if "purl" in c:
            purl = PackageURL.from_string(c["purl"])
            assert purl.version == c["version"]


def test_the_document_is_valid_cyclonedx_1_6_and_deterministic(document: dict, tmp_path: Path) -> None:
    import cyclonedx.schema as schemas  # cyclonedx-python-lib ships the official schemas

    res = Path(schemas.__file__).parent / "_res"
    registry = Registry().with_resources(
        (name, Resource.from_contents(json.loads((res / f).read_text())))
        for name, f in (("spdx.schema.json", "spdx.SNAPSHOT.schema.json"),
                        ("jsf-0.82.schema.json", "jsf-0.82.SNAPSHOT.schema.json"),
                        ("cryptography-defs.schema.json", "cryptography-defs.SNAPSHOT.schema.json")))
    schema = json.loads((res / "bom-1.6.SNAPSHOT.schema.json").read_text())
    jsonschema.Draft7Validator(schema, registry=registry).validate(document)
    assert document["specVersion"] == "1.6" and document["metadata"]["component"]["type"] == "container"
    again = FakeDockerClient().add("localhost/pipeyard/demo:1.0.0", layers())
    assert json.loads(sbom.generate(again, "localhost/pipeyard/demo", "1.0.0")) == document


def test_layers_read_as_plain_or_gzipped_streams() -> None:
    import gzip

    plain = layer_tar({"var/lib/dpkg/status": DPKG_STATUS})
    inv = inventory.scan([io.BytesIO(gzip.compress(plain)), io.BytesIO(layer_tar({"etc/os-release": OS_RELEASE}))])
    assert inv.layers == 2 and list(inv.dpkg) == ["var/lib/dpkg/status"]
    assert cyclonedx.components(inv)[0]["purl"].endswith("distro=debian-13")
