"""The sonar-maven-plugin through the company's Nexus: a settings.xml of one mirror, then mvn.

The goal is called by its full coordinates and version
(org.sonarsource.scanner.maven:sonar-maven-plugin:<version>:sonar), as SonarSource recommends, so no
plugin group or POM change is needed and the version is pinned. The mirror catches every repository
(mirrorOf *), so nothing is fetched from Maven Central. The password stays in the environment:
settings.xml names ${env.MAVEN_REPO_PASSWORD}, never its value.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pipeyard_kit.errors import ConfigError

PLUGIN = "org.sonarsource.scanner.maven:sonar-maven-plugin"


def goal(resolved: Any) -> str:
    return f"{PLUGIN}:{resolved.get('SONAR_MAVEN_PLUGIN_VERSION') or '5.8.0.7211'}:sonar"


def settings_xml(mirror: str, user: str | None) -> str:
    server = ""
    if user:
        server = ("  <servers>\n    <server>\n      <id>pipeyard-mirror</id>\n"
                  f"      <username>{escape(user)}</username>\n"
                  "      <password>${env.MAVEN_REPO_PASSWORD}</password>\n    </server>\n  </servers>\n")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            "<!-- Written by sonar-scan for the sonar-maven-plugin: every repository through one mirror. -->\n"
            '<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">\n'
            f"{server}"
            "  <mirrors>\n    <mirror>\n      <id>pipeyard-mirror</id>\n      <mirrorOf>*</mirrorOf>\n"
            f"      <url>{escape(mirror)}</url>\n    </mirror>\n  </mirrors>\n</settings>\n")


def command(resolved: Any, workdir: Path, env: Any = os.environ) -> tuple[list[str], dict[str, str]]:
    """(mvn and its options up to the goal, the environment it needs)."""
    mvn = shutil.which("mvn", path=env.get("PATH"))
    if not mvn:
        raise ConfigError("the sonar-maven-plugin needs Maven, and mvn is not on PATH",
                          fix="run sonar-scan in the sonar image (it carries Maven), or set SONAR_SCANNER=cli")
    mirror = resolved.get("MAVEN_MIRROR_URL") or ""
    user_settings = Path(env.get("HOME") or Path.home()) / ".m2" / "settings.xml"
    args = [mvn, "--batch-mode", "--no-transfer-progress"]
    child: dict[str, str] = {}
    if mirror:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / "pipeyard-maven-settings.xml"
        path.write_text(settings_xml(mirror, resolved.get("MAVEN_REPO_USER")), encoding="utf-8")
        args += ["--settings", str(path)]
        if resolved.get("MAVEN_REPO_PASSWORD"):
            child["MAVEN_REPO_PASSWORD"] = resolved["MAVEN_REPO_PASSWORD"]
    elif not user_settings.is_file():
        raise ConfigError("MAVEN_MIRROR_URL is not set, and the sonar-maven-plugin must come from a Maven mirror",
                          fix="set MAVEN_MIRROR_URL to the Nexus group (it is a site default of the maven "
                              "provider too), or set SONAR_SCANNER=cli")
    # Java's user.home comes from the passwd entry, not $HOME: name the local repository after $HOME,
    # where a job's cache and the image's home are, unless MAVEN_OPTS already does.
    if "maven.repo.local" not in (env.get("MAVEN_OPTS") or "") and env.get("HOME"):
        args.append(f"-Dmaven.repo.local={Path(env['HOME']) / '.m2' / 'repository'}")
    return [*args, goal(resolved)], child
