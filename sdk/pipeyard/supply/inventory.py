"""What an image holds, read from its layers the way the container runtime stacks them.

One pass over each layer tar, in order, with no scanner and no download. A layer's whiteouts
(`.wh.NAME` hides NAME below, `.wh..wh..opq` hides a whole folder below: OCI image spec,
layer.md "Whiteouts") are applied before its own files, so what is listed is what a container
of the image sees. Collected:

- dpkg's database: /var/lib/dpkg/status (and status.d/*, distroless style), with /etc/os-release;
- Python distributions: every *.dist-info/METADATA outside Debian's dist-packages (those are dpkg's),
  which means the venv in /opt/pipeyard;
- npm packages: node_modules/<name>/package.json and node_modules/@scope/<name>/package.json;
- jars (and wars, ears): their sha256, and Maven coordinates from META-INF/maven/**/pom.properties
  or the manifest's Implementation-* / Bundle-* headers. The B2I agents are jars among them.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

DPKG_STATUS = "var/lib/dpkg/status"
DPKG_STATUS_D = "var/lib/dpkg/status.d/"
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")
DEBIAN_PYTHON = "usr/lib/python3/dist-packages/"
NPM_PACKAGE = re.compile(r"(?:^|/)node_modules/(?:@[^/]+/)?[^/@][^/]*/package\.json$")
JAR_SUFFIXES = (".jar", ".war", ".ear")
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

LayerSource = Callable[[], IO[bytes]]


@dataclass(frozen=True)
class Jar:
    path: str
    sha256: str
    size: int
    group: str = ""
    artifact: str = ""
    version: str = ""
    title: str = ""


@dataclass
class Inventory:
    dpkg: dict[str, bytes] = field(default_factory=dict)  # status files by path
    os_release: bytes = b""
    python: dict[str, bytes] = field(default_factory=dict)  # METADATA by path
    npm: dict[str, bytes] = field(default_factory=dict)  # package.json by path
    jars: dict[str, Jar] = field(default_factory=dict)
    layers: int = 0

    def apply(self, delta: LayerDelta) -> None:
        """Whiteouts first (they hide what is below this layer), then the layer's own files."""
        for path, whole in delta.hidden:
            self._drop(path, below=whole)
            if path in OS_RELEASE:
                self.os_release = b""
        for path, (kind, content) in delta.found.items():
            self._drop(path)
            if content is None:
                continue
            if kind == "os":
                if path == "etc/os-release" or not self.os_release:
                    self.os_release = content  # type: ignore[assignment]
            else:
                getattr(self, kind if kind != "jar" else "jars")[path] = content
        self.layers += 1

    def _drop(self, path: str, *, below: bool = False) -> None:
        prefix = path.rstrip("/") + "/"
        for table in (self.dpkg, self.python, self.npm, self.jars):
            for key in [k for k in table if k == path or (below and k.startswith(prefix))]:
                del table[key]


def _normal(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def interesting(path: str) -> str | None:
    """Which table a path belongs to, or None."""
    if path == DPKG_STATUS or (path.startswith(DPKG_STATUS_D) and not path.endswith(".md5sums")):
        return "dpkg"
    if path in OS_RELEASE:
        return "os"
    if path.endswith(".dist-info/METADATA") and not path.startswith(DEBIAN_PYTHON):
        return "python"
    if path.endswith("/package.json") and NPM_PACKAGE.search(path):
        return "npm"
    if path.lower().endswith(JAR_SUFFIXES):
        return "jar"
    return None


@dataclass
class LayerDelta:
    """What one layer changes: paths it hides below it, and the files of interest it adds."""

    hidden: list[tuple[str, bool]] = field(default_factory=list)  # (path, everything below it too)
    found: dict[str, tuple[str, bytes | Jar | None]] = field(default_factory=dict)  # None: not a file any more


def scan(layers: Iterable[LayerSource | IO[bytes]]) -> Inventory:
    """Stack the layers (bottom first); each is a tar, plain or gzipped, read as a stream."""
    inv = Inventory()
    for layer in layers:
        stream = layer() if callable(layer) else layer
        try:
            inv.apply(read_layer(stream))
        finally:
            if callable(layer):
                stream.close()
    return inv


def read_layer(stream: IO[bytes]) -> LayerDelta:
    delta = LayerDelta()
    contents: dict[str, bytes] = {}  # for hard links within the layer
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for member in tar:
            path = _normal(member.name)
            folder, _, base = path.rpartition("/")
            if base == OPAQUE:
                delta.hidden.append((folder, True))
                continue
            if base.startswith(WHITEOUT):
                delta.hidden.append((f"{folder}/{base[len(WHITEOUT):]}".lstrip("/"), True))
                continue
            kind = interesting(path)
            if kind is None:
                continue
            if member.isfile():
                f = tar.extractfile(member)
                data = f.read() if f is not None else b""
                contents[path] = data
            elif member.islnk() and _normal(member.linkname) in contents:
                data = contents[_normal(member.linkname)]
            else:
                delta.found[path] = (kind, None)  # a symlink or folder now stands there
                continue
            delta.found[path] = (kind, _jar(path, data) if kind == "jar" else data)
    return delta


def _jar(path: str, data: bytes) -> Jar:
    digest = hashlib.sha256(data).hexdigest()
    group = artifact = version = title = ""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            poms = [n for n in names if n.startswith("META-INF/maven/") and n.endswith("/pom.properties")]
            stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            chosen = poms[0] if len(poms) == 1 else next(
                (p for p in poms if stem.startswith(p.split("/")[3])), "")
            if chosen:
                props = _properties(z.read(chosen).decode("utf-8", "replace"))
                group, artifact, version = props.get("groupId", ""), props.get("artifactId", ""), props.get("version", "")
            if "META-INF/MANIFEST.MF" in names:
                manifest = _manifest(z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace"))
                title = manifest.get("Implementation-Title") or manifest.get("Bundle-SymbolicName", "").split(";")[0]
                version = version or manifest.get("Implementation-Version") or manifest.get("Bundle-Version", "")
    except (zipfile.BadZipFile, OSError, KeyError, IndexError, ValueError):
        pass  # not a readable zip: still listed, by path and sha256
    return Jar(path, digest, len(data), group, artifact, version, title)


def _properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def _manifest(text: str) -> dict[str, str]:
    """A jar manifest's main section; continuation lines start with one space."""
    out: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line:
            break
        if line.startswith(" ") and last:
            out[last] += line[1:]
        elif ":" in line:
            last, _, value = line.partition(":")
            out[last] = value.strip()
    return out
