"""`maven-configure`'s command line: the flags every configurator shares, one per setting, and its own."""

from __future__ import annotations

import os
from pathlib import Path

from pipeyard_kit.options import overrides
from pipeyard_kit.toolwrap.flags import configurator, report_problems
from pipeyard_maven import configure as configure_mod


@configurator("maven", "maven-configure",
              output_help="Also write the settings.xml here (mode 0600), to use with a plain `mvn -s FILE`.",
              diagnose_help="After a failed mvn: name the variable to fix when the repository refused the "
                            "credentials. The mvn wrapper runs this.")
def command(output: Path | None, diagnose: bool, quiet: bool, **kwargs) -> None:
    """Write Maven's settings.xml (mirrors, servers, deploy repositories, proxies) from
    MAVEN_* variables, import CUSTOM_CA_CERTS into a JVM truststore, and record the
    arguments the mvn wrapper adds: -gs SETTINGS -B --no-transfer-progress
    -Dmaven.repo.local=$CI_PROJECT_DIR/.m2/repository $MAVEN_CLI_OPTS.

    MAVEN_REPO_PASSWORD is never written: settings.xml refers to ${env.MAVEN_REPO_PASSWORD}.
    """
    if diagnose:
        from pipeyard_maven.diagnose import problems

        report_problems(problems(os.environ))
        return
    configure_mod.report(configure_mod.configure(os.environ, overrides(kwargs), output), quiet=quiet, output=output)
