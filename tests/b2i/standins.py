"""Stand-ins for what the B2I tests cannot download: the three agents and the apps.

Everything is compiled here with the host's javac and packed the way upstream packs it (the
SkyWalking tarball with plugins/ and optional-plugins/, Arthas's zip, the exporter's bare jar,
a Spring-Boot-style layered jar and a plain fat jar). The agents are then hashed and served from
a local HTTP mirror, so the image build goes through the real checksum-verified download.
"""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import subprocess
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = [HERE / "agents", HERE / "apps"]
SW_VERSION = "9.5.0"
# Entries of a real layers.idx, in Spring Boot's order.
LAYERS_IDX = """\
- "dependencies":
  - "BOOT-INF/lib/greeting-1.0.jar"
- "spring-boot-loader":
  - "org/"
- "snapshot-dependencies":
  - "BOOT-INF/lib/util-1.1-SNAPSHOT.jar"
- "application":
  - "BOOT-INF/classes/"
  - "BOOT-INF/classpath.idx"
  - "BOOT-INF/layers.idx"
  - "META-INF/"
"""
FIXED = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class AgentFile:
    path: str  # relative to the mirror root, as in b2i.yaml
    file: Path
    sha256: str


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compile_all(out: Path, label: str = "v1") -> Path:
    """javac every stand-in source once; Hello's build label is patched in to make 'a new jar'."""
    classes = out / "classes"
    if classes.exists():
        shutil.rmtree(classes)
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    files = []
    for root in SOURCES:
        for java in sorted(root.rglob("*.java")):
            target = src / java.relative_to(HERE)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(java.read_text(encoding="utf-8").replace("BUILD_LABEL", label), encoding="utf-8")
            files.append(str(target))
    subprocess.run(["javac", "-nowarn", "-encoding", "UTF-8", "-d", str(classes),
                    "--add-exports", "java.desktop/sun.font=ALL-UNNAMED", *files],
                   check=True, capture_output=True, text=True)
    return classes


def _zip(path: Path, entries: dict[str, bytes], *, stored: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, FIXED)
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            z.writestr(info, data, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return path


def _classes(classes: Path, package: str, prefix: str = "") -> dict[str, bytes]:
    base = classes / package
    return {prefix + str(p.relative_to(classes)): p.read_bytes() for p in sorted(base.rglob("*.class"))}


def _manifest(**attrs: str) -> bytes:
    lines = ["Manifest-Version: 1.0"] + [f"{k.replace('_', '-')}: {v}" for k, v in attrs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def build_agents(classes: Path, mirror: Path) -> dict[str, AgentFile]:
    """The three agents, laid out on the mirror as b2i.yaml's paths say."""
    out: dict[str, AgentFile] = {}
    # The SkyWalking distribution: skywalking-agent/ with the agent jar, default and optional plugins.
    agent_jar = _zip(mirror / "build" / "skywalking-agent.jar", {
        "META-INF/MANIFEST.MF": _manifest(Premain_Class="standin.skywalking.SkyWalkingStandIn",
                                          Can_Retransform_Classes="true"),
        **_classes(classes, "standin/skywalking"),
    })
    plugin = _zip(mirror / "build" / "plugin.jar", {"skywalking-plugin.def": b"standin=none\n"})
    tgz = mirror / "skywalking" / "java-agent" / SW_VERSION / f"apache-skywalking-java-agent-{SW_VERSION}.tgz"
    tgz.parent.mkdir(parents=True, exist_ok=True)
    members = {
        "skywalking-agent/skywalking-agent.jar": agent_jar.read_bytes(),
        f"skywalking-agent/plugins/apm-dubbo-2.7.x-plugin-{SW_VERSION}.jar": plugin.read_bytes(),
        f"skywalking-agent/plugins/apm-springmvc-annotation-5.x-plugin-{SW_VERSION}.jar": plugin.read_bytes(),
        f"skywalking-agent/optional-plugins/apm-trace-ignore-plugin-{SW_VERSION}.jar": plugin.read_bytes(),
        f"skywalking-agent/optional-plugins/apm-gson-2.x-plugin-{SW_VERSION}.jar": plugin.read_bytes(),
        "skywalking-agent/config/agent.config": b"agent.service_name=${SW_AGENT_NAME:Your_ApplicationName}\n",
    }
    with tarfile.open(tgz, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1704067200, 0o644
            t.addfile(info, io.BytesIO(data))
    out["skywalking"] = AgentFile(str(tgz.relative_to(mirror)), tgz, sha256(tgz))

    jmx = _zip(mirror / "prometheus" / "jmx_exporter" / "1.6.0" / "jmx_prometheus_javaagent-1.6.0.jar", {
        "META-INF/MANIFEST.MF": _manifest(Premain_Class="standin.jmx.JmxExporterStandIn"),
        **_classes(classes, "standin/jmx"),
    })
    out["jmx_exporter"] = AgentFile(str(jmx.relative_to(mirror)), jmx, sha256(jmx))

    boot = _zip(mirror / "build" / "arthas-boot.jar", {
        "META-INF/MANIFEST.MF": _manifest(Main_Class="standin.arthas.ArthasBootStandIn"),
        **_classes(classes, "standin/arthas"),
    })
    arthas = _zip(mirror / "arthas" / "4.0.5" / "arthas-bin.zip", {
        "arthas-boot.jar": boot.read_bytes(),
        "arthas-core.jar": plugin.read_bytes(),
        "as.sh": b"#!/bin/sh\necho 'as.sh stand-in'\n",
    })
    out["arthas"] = AgentFile(str(arthas.relative_to(mirror)), arthas, sha256(arthas))
    shutil.rmtree(mirror / "build")
    return out


def write_spec(repo: Path, dest: Path, mirror_url: str, agents: dict[str, AgentFile],
               *, optional_plugins: tuple[str, ...] = ("apm-trace-ignore-plugin",)) -> Path:
    """A copy of b2i/ whose b2i.yaml pins the stand-ins and points at the test mirror."""
    import yaml

    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(repo / "b2i", dest)
    spec_path = dest / "b2i.yaml"
    data = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    data["mirror"] = mirror_url
    for name, agent in agents.items():
        data["agents"][name]["path"] = agent.path
        data["agents"][name]["sha256"] = agent.sha256
    data["agents"]["skywalking"]["optional_plugins"] = list(optional_plugins)
    spec_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return spec_path


def _heavy(size: int) -> dict[str, bytes]:
    """A dependency of `size` incompressible bytes, the same in every build (benchmarks weigh layers with it)."""
    return {"com/example/heavy/data.bin": random.Random(7).randbytes(size)} if size else {}


def fat_jar(classes: Path, dest: Path, *, dependency_bytes: int = 0) -> Path:
    """A plain executable jar with its dependencies' classes shaded in."""
    return _zip(dest, {
        "META-INF/MANIFEST.MF": _manifest(Main_Class="com.example.demo.Hello"),
        **_classes(classes, "com/example/demo"),
        **_classes(classes, "com/example/greeting"),
        **_heavy(dependency_bytes),
    })


def layered_jar(classes: Path, dest: Path, *, dependency_bytes: int = 0) -> Path:
    """A Spring-Boot-style jar: BOOT-INF/classes, BOOT-INF/lib/*.jar stored, loader under org/, layers.idx."""
    work = dest.parent / f".{dest.stem}-libs"
    greeting = _zip(work / "greeting-1.0.jar", {**_classes(classes, "com/example/greeting"),
                                                **_heavy(dependency_bytes)})
    # A snapshot dependency, so the snapshot-dependencies layer is not empty.
    util = _zip(work / "util-1.1-SNAPSHOT.jar", {"util.properties": b"util=1.1-SNAPSHOT\n"})
    entries = {
        "META-INF/MANIFEST.MF": _manifest(Main_Class="org.springframework.boot.loader.launch.JarLauncher",
                                          Start_Class="com.example.demo.Hello",
                                          Spring_Boot_Classes="BOOT-INF/classes/", Spring_Boot_Lib="BOOT-INF/lib/",
                                          Spring_Boot_Classpath_Index="BOOT-INF/classpath.idx",
                                          Spring_Boot_Layers_Index="BOOT-INF/layers.idx"),
        **_classes(classes, "org/springframework"),
        **_classes(classes, "com/example/demo", prefix="BOOT-INF/classes/"),
        "BOOT-INF/lib/greeting-1.0.jar": greeting.read_bytes(),
        "BOOT-INF/lib/util-1.1-SNAPSHOT.jar": util.read_bytes(),
        "BOOT-INF/classpath.idx": b'- "BOOT-INF/lib/greeting-1.0.jar"\n- "BOOT-INF/lib/util-1.1-SNAPSHOT.jar"\n',
        "BOOT-INF/layers.idx": LAYERS_IDX.encode(),
    }
    shutil.rmtree(work)
    return _zip(dest, entries)


def fontcheck_jar(classes: Path, dest: Path) -> Path:
    return _zip(dest, {"META-INF/MANIFEST.MF": _manifest(Main_Class="FontCheck"),
                       "FontCheck.class": (classes / "FontCheck.class").read_bytes()})


def wait_http(url: str, timeout: float = 60.0) -> str:
    """GET url until it answers 200; returns the body."""
    import urllib.request

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except Exception as exc:  # noqa: BLE001 - anything means "not yet"
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout} s ({last})")


def thin_jar(classes: Path, target: Path, *, dependency_bytes: int = 0, greeting: str = "1.0",
             util: bytes = b"util=1.1-SNAPSHOT\n", class_path: bool = True) -> Path:
    """A plain jar with its dependencies copied beside it, as `mvn package dependency:copy-dependencies`
    leaves target/: app.jar (with class_path, a Class-Path naming them, as maven-jar-plugin's addClasspath
    writes it) and dependency/ with a release and a snapshot jar."""
    deps = target / "dependency"
    if deps.exists():
        shutil.rmtree(deps)
    greeting_jar = f"greeting-{greeting}.jar"
    _zip(deps / greeting_jar, {**_classes(classes, "com/example/greeting"), **_heavy(dependency_bytes)})
    _zip(deps / "util-1.1-SNAPSHOT.jar", {"util.properties": util})
    manifest = {"Main_Class": "com.example.demo.Hello"}
    if class_path:
        manifest["Class_Path"] = f"{greeting_jar} util-1.1-SNAPSHOT.jar"
    return _zip(target / "app.jar", {"META-INF/MANIFEST.MF": _manifest(**manifest),
                                     **_classes(classes, "com/example/demo")})


def tiny_base(address: str, repository: str, tag: str = "21-trixie") -> str:
    """A stand-in base image pushed to a registry: one small layer and a config shaped like the B2I base's
    (user, entrypoint, env, variant label). Enough for the builder; nothing here runs. Returns its digest."""
    import json

    from pipeyard_kit.ocibuild.cache import LayerCache
    from pipeyard_kit.ocibuild.layer import Entry, LayerSpec, compress, write_layer
    from pipeyard_kit.registry import OciImage, RegistryClient, push_image
    from pipeyard_kit.registry.oci import OCI_CONFIG, Blob, sha256_digest

    work = Path(tempfile_dir())
    (work / "os-release").write_text("PRETTY_NAME=\"stand-in base\"\n")
    (work / "java").write_bytes(random.Random(3).randbytes(300_000))
    cache = LayerCache(work / "cache")
    layer = write_layer(LayerSpec("base", (Entry("etc/os-release", work / "os-release"),
                                           Entry("usr/lib/jvm/b2i-jdk/bin/java", work / "java"))), cache, work)
    blob = compress(layer, cache)
    config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
              "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "JAVA_HOME=/usr/lib/jvm/b2i-jdk"],
                         "User": "10001:10001", "Entrypoint": ["/usr/bin/tini", "--"],
                         "Cmd": ["/usr/local/bin/b2i-launch"], "WorkingDir": "/app",
                         "Labels": {"io.pipeyard.b2i.variant": tag}},
              "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
              "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "stand-in base"}]}
    data = json.dumps(config, sort_keys=True).encode()
    image = OciImage.assemble(Blob(sha256_digest(data), len(data), OCI_CONFIG, data=data), [blob])
    push_image(RegistryClient(address, scheme="http"), repository, image, [tag])
    return image.digest


def tempfile_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="b2i-tiny-base-")
