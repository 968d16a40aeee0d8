"""Which scanner analyses the project, and the command line each one takes.

- pysonar bootstraps through the server's api/v2/analysis/* and refuses anything older than SonarQube
  10.6 (pysonar_scanner/api.py MIN_SUPPORTED_SQ_VERSION);
- the SonarScanner CLI (SonarSource/sonar-scanner-cli, on sonar-scanner-java-library, which bootstraps
  older servers in-process: ScannerEngineBootstrapper SQ_VERSION_NEW_BOOTSTRAPPING) covers them, on the
  image's JRE, fetched from the site's mirror (scanner_cli);
- for Maven projects the sonar-maven-plugin, resolved through the Nexus mirror (maven), on servers
  older than 10.6 or on every one when the site says so.

pysonar declares some options as flags that take no value (`--skip-jre-provisioning /
-Dsonar.scanner.skipJreProvisioning` store_true, `-v/--verbose/-Dsonar.verbose` and
`-Dsonar.python.analysis.parallel` BooleanOptionalAction: pysonar_scanner/configuration/cli.py and
verbosity.py); from Python 3.12 argparse refuses `=true` on them ("ignored explicit argument"), so
they go out bare, or not at all when false.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeyard_kit.errors import ConfigError
from pipeyard_kit.sonarqube.compat import BOOTSTRAP_V2, Version, show_version

log = logging.getLogger("pipeyard.sonar")

KINDS = ("auto", "pysonar", "cli", "maven")
PYSONAR_FLAGS = frozenset({"sonar.scanner.skipJreProvisioning", "sonar.verbose", "sonar.python.analysis.parallel"})
_TRUE = {"true", "1", "yes", "on"}
# What the sonar-maven-plugin works out from the POM itself; passing them would override its view.
MAVEN_OWNS = frozenset({"sonar.sources", "sonar.tests", "sonar.java.binaries", "sonar.java.test.binaries",
                        "sonar.java.libraries", "sonar.junit.reportPaths", "sonar.coverage.jacoco.xmlReportPaths",
                        "sonar.scanner.javaExePath", "sonar.scanner.skipJreProvisioning"})
_PROPERTY = re.compile(r"^-D([^=]+)(?:=(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Choice:
    kind: str  # pysonar | cli | maven | custom
    reason: str
    executable: str = ""  # custom: the path the site named


def needs_version(settings: Any) -> bool:
    """Only auto and pysonar depend on the server's version (pysonar to refuse an old one early)."""
    return (settings.get("SONAR_SCANNER") or "auto") in ("auto", "pysonar")


def choose(settings: Any, cwd: Path, version: Version | None, host: str = "") -> Choice:
    wanted = settings.get("SONAR_SCANNER") or "auto"
    maven_project = (cwd / "pom.xml").is_file()
    shown = show_version(version) if version else "?"
    where = f"SonarQube at {host} is {shown}" if host else f"SonarQube is {shown}"
    old = version is not None and version < BOOTSTRAP_V2
    if wanted not in KINDS:
        return Choice("custom", f"SONAR_SCANNER={wanted}", executable=wanted)
    if wanted == "maven":
        if not maven_project:
            raise ConfigError("SONAR_SCANNER=maven, but there is no pom.xml in the job's directory",
                              fix="run sonar-scan in the Maven project's root, or set SONAR_SCANNER=auto")
        return Choice("maven", "SONAR_SCANNER=maven")
    if wanted == "cli":
        return Choice("cli", "SONAR_SCANNER=cli")
    if wanted == "pysonar":
        if old:
            raise ConfigError(f"{where}; pysonar supports SonarQube 10.6 and newer only",
                              fix="set SONAR_SCANNER=auto (the SonarScanner CLI for older servers) or cli")
        return Choice("pysonar", "SONAR_SCANNER=pysonar")
    maven_pref = settings.get("SONAR_MAVEN_SCANNER") or "old-servers"
    if maven_project and (maven_pref == "always" or (maven_pref == "old-servers" and old)):
        return Choice("maven", f"{where} and this is a Maven project (SONAR_MAVEN_SCANNER={maven_pref})")
    if old:
        return Choice("cli", f"{where}, older than 10.6 which pysonar needs")
    return Choice("pysonar", f"{where}")


def pysonar_args(properties: dict[str, str], passthrough: list[str]) -> list[str]:
    """-Dkey=value for every property, bare -Dkey for pysonar's flags (dropped when false)."""
    out = [_pysonar_property(k, v) for k, v in properties.items()]
    for arg in passthrough:
        m = _PROPERTY.match(arg)
        out.append(_pysonar_property(m.group(1), m.group(2)) if m and m.group(1) in PYSONAR_FLAGS else arg)
    return [a for a in out if a]


def _pysonar_property(key: str, value: str | None) -> str:
    if key in PYSONAR_FLAGS:
        return f"-D{key}" if value is None or str(value).strip().lower() in _TRUE else ""
    return f"-D{key}={value}"


def java_args(properties: dict[str, str], passthrough: list[str]) -> list[str]:
    """The CLI and Maven read -Dkey=value as Java system properties, booleans included."""
    return [*(f"-D{k}={v}" for k, v in properties.items()), *passthrough]
