"""What a jar is: its manifest, its Spring Boot layer index, the dependency folder beside it.

Three shapes, each read from the jar itself (pipeyard_kit.b2i.layout turns them into layers):

- a Spring Boot jar with BOOT-INF/layers.idx (dependencies, spring-boot-loader, snapshot-dependencies,
  application), run exploded;
- a plain jar with its dependencies copied beside it (`mvn dependency:copy-dependencies` writes
  target/dependency/), run with `-cp app.jar:lib/*`;
- any other executable jar (shaded, assembled, an old Spring Boot), run with `java -jar`.

Every problem with a jar is collected and reported at once.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from pipeyard_kit.errors import ConfigError

LAYERS_IDX = "BOOT-INF/layers.idx"
_LAYER_LINE = re.compile(r'^- "(?P<name>[^"]+)":\s*$')
_ENTRY_LINE = re.compile(r'^\s+- "(?P<entry>[^"]+)"\s*$')
# A Maven snapshot: 1.1-SNAPSHOT, or the timestamped form a remote repository serves (1.1-20240101.120000-3).
_SNAPSHOT = re.compile(r"-SNAPSHOT(?:-[^/]*)?\.jar\Z|-\d{8}\.\d{6}-\d+(?:-[^/]*)?\.jar\Z")
# Not the app: what maven-source-plugin, maven-javadoc-plugin and test-jar leave beside it.
SIDE_JARS = ("-sources.jar", "-javadoc.jar", "-tests.jar", "-test-sources.jar")


@dataclass(frozen=True)
class JarInfo:
    path: Path
    sha256: str
    main_class: str
    start_class: str | None
    layers: tuple[tuple[str, tuple[str, ...]], ...]  # (layer, entries) from layers.idx; empty when plain
    class_path: tuple[str, ...] = ()  # the manifest's Class-Path, as written
    newest: int = 0  # the newest entry's time, seconds since 1970 (the fallback build time)

    @property
    def layered(self) -> bool:
        return bool(self.layers)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def is_snapshot(name: str) -> bool:
    return bool(_SNAPSHOT.search(name))


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


def _newest(z: zipfile.ZipFile) -> int:
    # Zip times carry no zone; read as UTC, the same on every machine.
    times = [datetime(*info.date_time, tzinfo=UTC).timestamp() for info in z.infolist()]
    return int(max(times)) if times else 0


def inspect(path: Path, *, option: str = "--jar") -> JarInfo:
    """Read the jar's manifest and layer index; every problem is reported at once."""
    problems: list[str] = []
    if not path.is_file():
        raise ConfigError(f"{option} {path}: no such file", fix="pass the path of the jar your build produced")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{option} {path} is not a jar ({exc})", fix="pass the jar your build produced") from None
    with z:
        manifest = _manifest(z)
        main_class = manifest.get("Main-Class", "")
        if not main_class:
            problems.append(f"{option} {path} has no Main-Class in META-INF/MANIFEST.MF: build an executable jar "
                            f"(spring-boot-maven-plugin repackage, or a shaded jar with a main class)")
        layers: tuple[tuple[str, tuple[str, ...]], ...] = ()
        if LAYERS_IDX in z.namelist():
            try:
                layers = parse_layers_idx(z.read(LAYERS_IDX).decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                problems.append(f"{option} {path}: {LAYERS_IDX} is malformed ({exc}): rebuild the jar with "
                                f"Spring Boot's layering on")
            if layers and not manifest.get("Start-Class"):
                problems.append(f"{option} {path} has {LAYERS_IDX} but no Start-Class in its manifest: "
                                f"repackage it with spring-boot-maven-plugin")
        for name in z.namelist():
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts:
                problems.append(f"{option} {path} holds an entry outside the jar ({name!r}): rebuild the jar")
                break
        newest = _newest(z)
    if problems:
        raise ConfigError(problems)
    return JarInfo(path=path, sha256=sha256_file(path), main_class=main_class,
                   start_class=manifest.get("Start-Class"), layers=layers,
                   class_path=tuple(manifest.get("Class-Path", "").split()), newest=newest)


def count_classes(z: zipfile.ZipFile, *, nested: str | None = None) -> int:
    """.class entries in a jar; with nested (a folder such as BOOT-INF/lib/), those of the jars in it too."""
    count = 0
    for info in z.infolist():
        if info.filename.endswith(".class"):
            count += 1
        elif nested and info.filename.startswith(nested) and info.filename.endswith(".jar"):
            try:
                with z.open(info) as inner, zipfile.ZipFile(inner) as nested_jar:
                    count += count_classes(nested_jar)
            except zipfile.BadZipFile:
                continue
    return count


def classes_in(path: Path) -> int:
    try:
        with zipfile.ZipFile(path) as z:
            return count_classes(z)
    except (zipfile.BadZipFile, OSError):
        return 0


def pick_jar(candidates: list[Path], given: str) -> Path:
    """The app's jar among what a build left (target/*.jar): executable, not a sources, javadoc or test jar."""
    jars = sorted(p for p in candidates if p.is_file() and p.name.endswith(".jar")
                  and not p.name.endswith(SIDE_JARS))
    if not jars:
        raise ConfigError(f"B2I_JAR={given!r} matches no jar", fix="point B2I_JAR at the jar the build job left "
                          "(its artifacts must keep target/*.jar), e.g. target/app.jar")
    runnable = []
    for jar in jars:
        try:
            with zipfile.ZipFile(jar) as z:
                if _manifest(z).get("Main-Class"):
                    runnable.append(jar)
        except (zipfile.BadZipFile, OSError):
            continue
    if len(runnable) == 1:
        return runnable[0]
    if not runnable:
        raise ConfigError(f"B2I_JAR={given!r} matches no executable jar ({', '.join(map(str, jars))} have no "
                          "Main-Class)", fix="build an executable jar, or point B2I_JAR at the one that is")
    raise ConfigError(f"B2I_JAR={given!r} matches {len(runnable)} executable jars: {', '.join(map(str, runnable))}",
                      fix="set B2I_JAR to the one the image runs")
