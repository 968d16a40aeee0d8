"""Stand-ins for what the sonar tests cannot download: the scanner engine a SonarQube server hands out,
the SonarScanner CLI zip on the site's mirror, and the sonar-maven-plugin in the Nexus group.

Each is compiled here with the host's javac (for Java 17, so the image's JRE 21 runs it too) from
standins/*.java and packed the way upstream packs it: the engine as a runnable jar, the CLI as
sonar-scanner-<version>/{bin/sonar-scanner,lib/*.jar,conf/} in a zip at the mirror's
Distribution/sonar-scanner-cli/ path, the plugin as a Maven plugin (POM, jar, META-INF/maven/plugin.xml)
in a repository layout. Every stand-in asks the server its version, writes report-task.txt and records
what it was given in standin-record.json beside it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from tests.servers import loopback

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "standins"
PLUGIN_API = Path("/usr/share/maven-repo/org/apache/maven/maven-plugin-api/3.x/maven-plugin-api-3.x.jar")
FIXED = (2024, 1, 1, 0, 0, 0)
CLI_VERSION = "8.1.0.6389"
PLUGIN_VERSION = "5.8.0.7211"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _javac(out: Path, sources: list[Path], classpath: list[Path] | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    cmd = ["javac", "-nowarn", "--release", "17", "-encoding", "UTF-8", "-d", str(out)]
    if classpath:
        cmd += ["-cp", ":".join(map(str, classpath))]
    subprocess.run([*cmd, *map(str, sources)], check=True, capture_output=True, text=True)
    return out


def _jar(path: Path, classes: Path, main: str | None = None, extra: dict[str, bytes] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        manifest = "Manifest-Version: 1.0\n" + (f"Main-Class: {main}\n" if main else "") + "\n"
        z.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", FIXED), manifest)
        for name, data in sorted((extra or {}).items()):
            z.writestr(zipfile.ZipInfo(name, FIXED), data)
        for f in sorted(classes.rglob("*.class")):
            z.writestr(zipfile.ZipInfo(str(f.relative_to(classes)), FIXED), f.read_bytes())
    return path


def common_classes(work: Path) -> Path:
    return _javac(work / "classes", [SOURCES / "Record.java", SOURCES / "StandInEngine.java",
                                     SOURCES / "ScannerCliMain.java"])


def engine_jar(work: Path) -> bytes:
    """The bytes a server's api/v2/analysis/engine hands out: `java -jar` runs StandInEngine."""
    return _jar(work / "engine.jar", common_classes(work), "pipeyard.standin.StandInEngine").read_bytes()


@dataclass(frozen=True)
class MirrorFile:
    path: Path
    sha256: str


def scanner_cli_zip(mirror: Path, work: Path, version: str = CLI_VERSION) -> MirrorFile:
    lib = _jar(work / f"sonar-scanner-cli-{version}.jar", common_classes(work))
    top = f"sonar-scanner-{version}"
    script = ("#!/bin/sh\n# Stand-in for sonar-scanner-cli's bin/sonar-scanner: the JRE from JAVA_HOME or PATH.\n"
              "set -e\nhome=$(cd \"$(dirname \"$0\")/..\" && pwd)\n"
              "if [ -n \"${JAVA_HOME:-}\" ]; then java=\"$JAVA_HOME/bin/java\"; else java=java; fi\n"
              f"exec \"$java\" -Dscanner.home=\"$home\" -cp \"$home/lib/sonar-scanner-cli-{version}.jar\" "
              "pipeyard.standin.ScannerCliMain \"$@\"\n")
    dest = mirror / "Distribution" / "sonar-scanner-cli" / f"sonar-scanner-cli-{version}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(f"{top}/bin/sonar-scanner", FIXED)
        info.external_attr = 0o755 << 16
        z.writestr(info, script)
        z.writestr(zipfile.ZipInfo(f"{top}/lib/sonar-scanner-cli-{version}.jar", FIXED), lib.read_bytes())
        z.writestr(zipfile.ZipInfo(f"{top}/conf/sonar-scanner.properties", FIXED), "#sonar.host.url=\n")
    return MirrorFile(dest, sha256(dest))


PLUGIN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<plugin>
  <name>Stand-in SonarQube Scanner for Maven</name>
  <groupId>org.sonarsource.scanner.maven</groupId>
  <artifactId>sonar-maven-plugin</artifactId>
  <version>{version}</version>
  <goalPrefix>sonar</goalPrefix>
  <isolatedRealm>false</isolatedRealm>
  <inheritedByDefault>true</inheritedByDefault>
  <mojos>
    <mojo>
      <goal>sonar</goal>
      <requiresProject>true</requiresProject>
      <aggregator>true</aggregator>
      <requiresOnline>false</requiresOnline>
      <implementation>pipeyard.standin.StandInSonarMojo</implementation>
      <language>java</language>
      <instantiationStrategy>per-lookup</instantiationStrategy>
      <executionStrategy>once-per-session</executionStrategy>
      <threadSafe>true</threadSafe>
      <parameters>
        <parameter><name>basedir</name><type>java.io.File</type><required>true</required><editable>false</editable></parameter>
        <parameter><name>groupId</name><type>java.lang.String</type><required>true</required><editable>false</editable></parameter>
        <parameter><name>artifactId</name><type>java.lang.String</type><required>true</required><editable>false</editable></parameter>
        <parameter><name>projectVersion</name><type>java.lang.String</type><required>false</required><editable>false</editable></parameter>
      </parameters>
      <configuration>
        <basedir implementation="java.io.File" default-value="${{project.basedir}}"/>
        <groupId implementation="java.lang.String" default-value="${{project.groupId}}"/>
        <artifactId implementation="java.lang.String" default-value="${{project.artifactId}}"/>
        <projectVersion implementation="java.lang.String" default-value="${{project.version}}"/>
      </configuration>
    </mojo>
  </mojos>
  <dependencies>
    <dependency><groupId>org.codehaus.plexus</groupId><artifactId>plexus-utils</artifactId><type>jar</type><version>3.4.2</version></dependency>
  </dependencies>
</plugin>
"""

PLUGIN_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.sonarsource.scanner.maven</groupId>
  <artifactId>sonar-maven-plugin</artifactId>
  <version>{version}</version>
  <packaging>maven-plugin</packaging>
  <name>Stand-in SonarQube Scanner for Maven</name>
  <!-- Maven 3 injects plexus-utils 1.1 into a plugin that does not name one; Debian's repo has 3.4.2. -->
  <dependencies>
    <dependency><groupId>org.codehaus.plexus</groupId><artifactId>plexus-utils</artifactId><version>3.4.2</version></dependency>
  </dependencies>
</project>
"""


def maven_plugin(repo: Path, work: Path, version: str = PLUGIN_VERSION) -> Path:
    """The plugin in a Maven repository layout under `repo`; returns its folder."""
    classes = _javac(work / "mojo-classes", [SOURCES / "Record.java", SOURCES / "mojo" / "StandInSonarMojo.java"],
                     [PLUGIN_API])
    folder = repo / "org" / "sonarsource" / "scanner" / "maven" / "sonar-maven-plugin" / version
    folder.mkdir(parents=True, exist_ok=True)
    _jar(folder / f"sonar-maven-plugin-{version}.jar", classes,
         extra={"META-INF/maven/plugin.xml": PLUGIN_XML.format(version=version).encode()})
    (folder / f"sonar-maven-plugin-{version}.pom").write_text(PLUGIN_POM.format(version=version))
    return folder


def record(project: Path, where: str = ".scannerwork") -> dict:
    return json.loads((project / where / "standin-record.json").read_text())


class StaticMirror:
    """A plain HTTP file server over a folder: the site's mirror of binaries.sonarsource.com."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        mirror = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                super().do_GET()

        self.server = loopback.serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sonarsource"
        (root / "sonarsource").mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        loopback.stop(self.server)


def java_home() -> str:
    java = shutil.which("java")
    assert java, "the tests need a JRE (make setup installs one)"
    return str(Path(java).resolve().parents[1])
