"""A stand-in of `org.jacoco:jacoco-maven-plugin` for the stand-in Nexus, so coverage really runs here.

The maven provider's test job switches JaCoCo on through the mirror with no pom edit:
`mvn org.jacoco:jacoco-maven-plugin:$MAVEN_JACOCO_VERSION:prepare-agent verify ...:report`. A
company Nexus proxies Maven Central, which has the real plugin; Central can't be reached here and
Debian packages JaCoCo's agent, core and report libraries (libjacoco-java) but not the plugin.

So this builds a real Maven plugin that STANDS IN for the upstream one: the goals prepare-agent and
report with the phases, parameters and user properties JaCoCo documents for them
(https://www.jacoco.org/jacoco/trunk/doc/prepare-agent-mojo.html, .../report-mojo.html), written
here (jacoco_standin/src) and compiled with the host's javac against Debian's Maven plugin API, with
a hand-written plugin.xml in the format maven-plugin-plugin generates. Its dependencies are Debian's
JaCoCo jars, which the mirror serves; it is published under Debian's JaCoCo version (0.8.6 on
Debian 12), so a job names that version in MAVEN_JACOCO_VERSION, as a site names the version its
Nexus carries. `install()` puts it where the stand-in Nexus keeps what its Central proxy fetched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from importlib import resources
from pathlib import Path

from pipeyard.demo.maven_repo import DEBIAN_REPO, PROXY
from pipeyard_kit.errors import BuildError, UsageError

GROUP_PATH = "org/jacoco/jacoco-maven-plugin"
# Every entry of the jar gets this time, so the same sources give the same bytes.
FIXED = (2024, 1, 1, 0, 0, 0)


def _sources() -> Path:
    return Path(str(resources.files("pipeyard.demo").joinpath("jacoco_standin")))


def _version_in(folder: Path) -> str | None:
    """The one numbered version Debian's repository has in folder (it also has 'debian' and '3.x')."""
    if not folder.is_dir():
        return None
    numbered = sorted(p.name for p in folder.iterdir() if p.name[:1].isdigit() and not p.name.endswith(".x"))
    return numbered[-1] if numbered else None


def jacoco_version(repo: Path = DEBIAN_REPO) -> str | None:
    """Debian's JaCoCo version, which the stand-in plugin is published under; None if not installed."""
    return _version_in(repo / "org/jacoco/org.jacoco.core")


def _classpath(repo: Path, jacoco: str) -> list[Path]:
    maven = _version_in(repo / "org/apache/maven/maven-plugin-api")
    jars = [repo / f"org/jacoco/{a}/{jacoco}/{a}-{jacoco}.jar"
            for a in ("org.jacoco.agent", "org.jacoco.core", "org.jacoco.report")]
    jars += [repo / f"org/apache/maven/{a}/{maven}/{a}-{maven}.jar"
             for a in ("maven-plugin-api", "maven-core", "maven-artifact", "maven-model")]
    missing = [str(j) for j in jars if not j.is_file()]
    if maven is None or missing:
        raise UsageError(f"the JaCoCo plugin stand-in cannot be compiled: {', '.join(missing) or 'no Maven API'} "
                         "missing", fix="run `make setup` (it installs libjacoco-java and maven)")
    return jars


def _filled(text: str, version: str, jacoco: str, maven: str, plexus: str) -> str:
    return (text.replace("@VERSION@", version).replace("@JACOCO@", jacoco).replace("@MAVEN_API@", maven)
            .replace("@PLEXUS_UTILS@", plexus))


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipeyard" / "jacoco-standin"


def build(repo: Path = DEBIAN_REPO, cache: Path | None = None) -> tuple[str, Path]:
    """Compile and pack the plugin once per source change; returns (version, folder with jar and pom)."""
    jacoco = jacoco_version(repo)
    if jacoco is None:
        raise UsageError(f"Debian's JaCoCo is not installed ({repo}/org/jacoco is missing)",
                         fix="run `make setup` (apt package libjacoco-java)")
    maven = _version_in(repo / "org/apache/maven/maven-plugin-api") or ""
    plexus = _version_in(repo / "org/codehaus/plexus/plexus-utils") or ""
    src = _sources()
    files = sorted(p for p in src.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(src)).encode() + b"\0" + f.read_bytes())
    digest.update(f"{jacoco} {maven} {plexus}".encode())
    out = (cache or _cache_root()) / digest.hexdigest()[:16]
    version = jacoco
    jar = out / f"jacoco-maven-plugin-{version}.jar"
    pom = out / f"jacoco-maven-plugin-{version}.pom"
    if jar.is_file() and pom.is_file():
        return version, out
    if shutil.which("javac") is None:
        raise UsageError("javac is not installed: the JaCoCo plugin stand-in is compiled here",
                         fix="run `make setup` (apt package default-jdk-headless)")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pipeyard-jacoco-") as tmp:
        classes = Path(tmp) / "classes"
        java = [str(p) for p in files if p.suffix == ".java"]
        cp = ":".join(str(j) for j in _classpath(repo, jacoco))
        done = subprocess.run(["javac", "-nowarn", "--release", "11", "-encoding", "UTF-8", "-cp", cp,
                               "-d", str(classes), *java], capture_output=True, text=True)
        if done.returncode != 0:
            raise BuildError(f"javac could not compile the JaCoCo plugin stand-in: {done.stderr.strip()[-800:]}",
                             fix="the JDK or Debian's JaCoCo/Maven jars differ from what the stand-in was written "
                                 "against; see the message")
        pom_text = _filled((src / "pom.xml").read_text(encoding="utf-8"), version, jacoco, maven, plexus)
        entries = {
            "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nCreated-By: pipeyard (stand-in)\r\n\r\n",
            "META-INF/maven/plugin.xml": _filled((src / "plugin.xml").read_text(encoding="utf-8"),
                                                 version, jacoco, maven, plexus).encode(),
            "META-INF/maven/org.jacoco/jacoco-maven-plugin/pom.xml": pom_text.encode(),
            **{str(p.relative_to(classes)): p.read_bytes() for p in sorted(classes.rglob("*.class"))},
        }
        partial = jar.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries.items():
                z.writestr(zipfile.ZipInfo(name, FIXED), data)
        pom.write_text(pom_text, encoding="utf-8")
        partial.replace(jar)
    return version, out


def install(storage: Path, repo: Path = DEBIAN_REPO) -> str:
    """Put the plugin into a MavenRepoServer's storage, where its Central proxy keeps what it fetched
    (every group serves it); returns the version for MAVEN_JACOCO_VERSION."""
    version, built = build(repo)
    dest = Path(storage) / PROXY / GROUP_PATH / version
    dest.mkdir(parents=True, exist_ok=True)
    for f in built.iterdir():
        shutil.copyfile(f, dest / f.name)
    return version
