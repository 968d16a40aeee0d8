"""What a jar is, and how it becomes image layers.

A Spring Boot jar with BOOT-INF/layers.idx is exploded along that index (dependencies,
spring-boot-loader, snapshot-dependencies, application), each layer a folder of its own, so an
app whose dependencies did not change reuses their layer. Any other jar is one layer.
Files get a fixed mtime, so the same content always makes the same layer.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeyard_kit.errors import ConfigError

LAYERS_IDX = "BOOT-INF/layers.idx"
# 1980-01-01, the earliest time a zip entry can carry: what Spring Boot and Jib use for reproducible output.
FIXED_MTIME = 315532800
_LAYER_LINE = re.compile(r'^- "(?P<name>[^"]+)":\s*$')
_ENTRY_LINE = re.compile(r'^\s+- "(?P<entry>[^"]+)"\s*$')


@dataclass(frozen=True)
class JarInfo:
    path: Path
    sha256: str
    main_class: str
    start_class: str | None
    layers: tuple[tuple[str, tuple[str, ...]], ...]  # (layer, entries) from layers.idx; empty when plain

    @property
    def layered(self) -> bool:
        return bool(self.layers)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _manifest(z: zipfile.ZipFile) -> dict[str, str]:
    try:
        text = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except KeyError:
        return {}
    # Continuation lines start with one space.
    text = text.replace("\r\n", "\n").replace("\n ", "")
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_layers_idx(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    layers: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _LAYER_LINE.match(line)
        if m:
            layers.append((m["name"], []))
            continue
        m = _ENTRY_LINE.match(line)
        if m and layers:
            layers[-1][1].append(m["entry"])
            continue
        raise ValueError(f"unexpected line {line!r}")
    return tuple((name, tuple(entries)) for name, entries in layers)


def inspect(path: Path) -> JarInfo:
    """Read the jar's manifest and layer index; every problem is reported at once."""
    problems: list[str] = []
    if not path.is_file():
        raise ConfigError(f"--jar {path}: no such file", fix="pass the path of the jar your build produced")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"--jar {path} is not a jar ({exc})", fix="pass the jar your build produced") from None
    with z:
        manifest = _manifest(z)
        main_class = manifest.get("Main-Class", "")
        if not main_class:
            problems.append(f"--jar {path} has no Main-Class in META-INF/MANIFEST.MF: build an executable jar "
                            f"(spring-boot-maven-plugin repackage, or a shaded jar with a main class)")
        layers: tuple[tuple[str, tuple[str, ...]], ...] = ()
        if LAYERS_IDX in z.namelist():
            try:
                layers = parse_layers_idx(z.read(LAYERS_IDX).decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                problems.append(f"--jar {path}: {LAYERS_IDX} is malformed ({exc}): rebuild the jar with "
                                f"Spring Boot's layering on")
            if layers and not manifest.get("Start-Class"):
                problems.append(f"--jar {path} has {LAYERS_IDX} but no Start-Class in its manifest: "
                                f"repackage it with spring-boot-maven-plugin")
        for name in z.namelist():
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts:
                problems.append(f"--jar {path} holds an entry outside the jar ({name!r}): rebuild the jar")
                break
    if problems:
        raise ConfigError(problems)
    return JarInfo(path=path, sha256=sha256_file(path), main_class=main_class,
                   start_class=manifest.get("Start-Class"), layers=layers)


def _layer_of(name: str, layers: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    for layer, entries in layers:
        for entry in entries:
            if name == entry or (entry.endswith("/") and name.startswith(entry)):
                return layer
    # Spring Boot puts what the index does not name into the last layer, the application.
    return layers[-1][0]


def _fix_times(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for f in files:
            os.utime(os.path.join(dirpath, f), (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
        os.utime(dirpath, (FIXED_MTIME, FIXED_MTIME))


def explode(info: JarInfo, dest: Path) -> list[str]:
    """Write the jar as layer folders under dest; returns the non-empty layers in order.

    A plain jar is one layer, `jar/app.jar`. A layered jar is exploded, one folder per layer.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if not info.layered:
        (dest / "jar").mkdir()
        target = dest / "jar" / "app.jar"
        shutil.copyfile(info.path, target)
        target.chmod(0o644)
        _fix_times(dest / "jar")
        return ["jar"]
    used: list[str] = []
    with zipfile.ZipFile(info.path) as z:
        for entry in z.infolist():
            if entry.is_dir():
                continue
            layer = _layer_of(entry.filename, info.layers)
            target = dest / layer / PurePosixPath(entry.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(entry) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            target.chmod(0o644)
            if layer not in used:
                used.append(layer)
    order = [name for name, _ in info.layers if name in used]
    for layer in order:
        _fix_times(dest / layer)
    return order
