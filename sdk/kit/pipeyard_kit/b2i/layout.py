"""From a jar's shape to the app's layers under /app, least likely to change first.

- A Spring Boot jar is exploded along its BOOT-INF/layers.idx: dependencies, spring-boot-loader,
  snapshot-dependencies, application (what the index does not name goes to its last layer, as
  Spring Boot's own extraction does). It runs as `java -cp /app <Main-Class>` (the JarLauncher).
- A plain jar with a dependency folder (target/dependency/): release dependencies in one layer,
  snapshots in another (they change between releases), the app's jar in a third, run as
  `java -cp /app/app.jar:/app/lib/* <Main-Class>`.
- Any other executable jar is one layer, /app/app.jar, run with `java -jar`.

A code-only change then rebuilds one small layer; a dependency bump the dependency layer. The same
plan feeds the daemonless builder (tar streams) and the `--engine` path (a Docker build context), so
both put the same files in the same places.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeyard_kit.b2i.jar import JarInfo, classes_in, count_classes, is_snapshot
from pipeyard_kit.errors import ConfigError
from pipeyard_kit.ocibuild.layer import FIXED_MTIME, Entry, LayerSpec

APP_DIR = "app"
LIB_DIR = f"{APP_DIR}/lib"


@dataclass(frozen=True)
class AppLayout:
    kind: str  # layered | thin | jar
    layers: tuple[LayerSpec, ...]
    env: dict[str, str] = field(default_factory=dict)  # what the launcher needs to run this shape
    class_count: int = 0  # .class files the image holds (app and dependencies), for the memory calculator
    dependencies: Path | None = None

    def describe(self) -> str:
        return {"layered": "Spring Boot layered jar (BOOT-INF/layers.idx), exploded",
                "thin": f"plain jar with {self.dependencies} on its class path",
                "jar": "executable jar, run with java -jar"}[self.kind]


def _layer_of(name: str, layers: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    for layer, entries in layers:
        for entry in entries:
            if name == entry or (entry.endswith("/") and name.startswith(entry)):
                return layer
    return layers[-1][0]


def _layered(info: JarInfo) -> AppLayout:
    by_layer: dict[str, list[Entry]] = {name: [] for name, _ in info.layers}
    with zipfile.ZipFile(info.path) as z:
        for member in z.infolist():
            if member.is_dir():
                continue
            by_layer[_layer_of(member.filename, info.layers)].append(
                Entry(f"{APP_DIR}/{member.filename}", info.path, member.filename, member.file_size))
        classes = count_classes(z, nested="BOOT-INF/lib/")
    layers = tuple(LayerSpec(name, tuple(entries), f"{name} (BOOT-INF/layers.idx)")
                   for name, entries in by_layer.items() if entries)
    return AppLayout("layered", layers, {"B2I_MAIN_CLASS": info.main_class}, classes)


def dependency_jars(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(".jar"))


def _thin(info: JarInfo, folder: Path) -> AppLayout:
    jars = dependency_jars(folder)
    release = [Entry(f"{LIB_DIR}/{p.name}", p, size=p.stat().st_size) for p in jars if not is_snapshot(p.name)]
    snapshots = [Entry(f"{LIB_DIR}/{p.name}", p, size=p.stat().st_size) for p in jars if is_snapshot(p.name)]
    app = [Entry(f"{APP_DIR}/app.jar", info.path, size=info.path.stat().st_size)]
    layers = tuple(spec for spec in (
        LayerSpec("dependencies", tuple(release), f"release dependencies from {folder.name}/"),
        LayerSpec("snapshot-dependencies", tuple(snapshots), f"snapshot dependencies from {folder.name}/"),
        LayerSpec("application", tuple(app), "the app's jar")) if spec.entries)
    env = {"B2I_MAIN_CLASS": info.main_class, "B2I_CLASSPATH": f"/{APP_DIR}/app.jar:/{LIB_DIR}/*"}
    classes = classes_in(info.path) + sum(classes_in(p) for p in jars)
    return AppLayout("thin", layers, env, classes, folder)


def _single(info: JarInfo) -> AppLayout:
    app = (Entry(f"{APP_DIR}/app.jar", info.path, size=info.path.stat().st_size),)
    return AppLayout("jar", (LayerSpec("application", app, "the app's jar"),), {}, classes_in(info.path))


def plan(info: JarInfo, dependencies: Path | None = None, *, explicit: bool = False) -> AppLayout:
    """The layout of this jar. dependencies is the folder copy-dependencies wrote (explicit: the user
    named it, so it must be usable); a Spring Boot jar carries its own and ignores one found beside it."""
    if info.layered:
        if explicit and dependencies is not None:
            raise ConfigError(f"{info.path} is a Spring Boot jar with its dependencies inside: it takes no "
                              f"dependency folder ({dependencies})", fix="drop the dependency folder setting")
        return _layered(info)
    if dependencies is not None:
        if not dependencies.is_dir():
            raise ConfigError(f"the dependency folder {dependencies} does not exist",
                              fix="run `mvn dependency:copy-dependencies` in the build (it writes target/dependency/) "
                                  "and keep it in the build job's artifacts, or leave the setting empty")
        if not dependency_jars(dependencies):
            if explicit:
                raise ConfigError(f"the dependency folder {dependencies} holds no jar",
                                  fix="point it at the folder copy-dependencies wrote")
            dependencies = None
    missing = _unresolved_class_path(info, dependencies)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        where = f"in {dependencies}" if dependencies else "beside it (no target/dependency/ folder)"
        raise ConfigError(f"{info.path} names {shown} on its manifest Class-Path, but they are not {where}",
                          fix="add `mvn dependency:copy-dependencies -DincludeScope=runtime` to the build and keep "
                              "target/dependency/ in its artifacts, or build a fat jar (shade, Spring Boot)")
    if dependencies is not None:
        return _thin(info, dependencies)
    return _single(info)


def _unresolved_class_path(info: JarInfo, dependencies: Path | None) -> list[str]:
    """Class-Path jars the image would lack: the JVM skips them silently and fails later, at the first use."""
    names = [entry.rsplit("/", 1)[-1] for entry in info.class_path if entry.endswith(".jar")]
    have = {p.name for p in dependency_jars(dependencies)} if dependencies else set()
    return [n for n in names if n not in have]


def default_dependencies(jar: Path) -> Path | None:
    """target/dependency beside target/app.jar, where `mvn dependency:copy-dependencies` writes it."""
    folder = jar.parent / "dependency"
    return folder if folder.is_dir() else None


def materialize(layout: AppLayout, context: Path) -> list[str]:
    """Write each layer as a folder of the build context (the `--engine` path): <layer>/app/...,
    with the same fixed mtime the daemonless layers carry. Returns the layer folders in order."""
    names = []
    zips: dict[Path, zipfile.ZipFile] = {}
    try:
        for spec in layout.layers:
            root = context / spec.name
            for entry in spec.entries:
                target = root / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                if entry.member is None:
                    target.write_bytes(entry.source.read_bytes())
                else:
                    z = zips.get(entry.source) or zips.setdefault(entry.source, zipfile.ZipFile(entry.source))
                    target.write_bytes(z.read(entry.member))
                target.chmod(0o644)
            _fix_times(root)
            names.append(spec.name)
    finally:
        for z in zips.values():
            z.close()
    return names


def _fix_times(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for f in files:
            os.utime(os.path.join(dirpath, f), (FIXED_MTIME, FIXED_MTIME))
        os.utime(dirpath, (FIXED_MTIME, FIXED_MTIME))
