"""maven-configure: write Maven's settings from the job's CI/CD variables.

The mvn wrapper (/usr/local/bin/mvn in the maven image) runs it on first use and
whenever a variable changes, so a job script just calls `mvn`. Everything it
prints goes to stderr: `VERSION=$(mvn help:evaluate -q -DforceStdout ...)` in a
job script must capture Maven's output only.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..cli.errors import run_main, setup_logging
from ..toolwrap.flags import configurator, overrides, report_problems
from . import configure as configure_mod


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
        from .diagnose import problems

        report_problems(problems(os.environ))
        return
    result = configure_mod.configure(os.environ, overrides(kwargs), output)
    if not quiet:
        click.echo(f"maven-configure: {result.summary}; settings in {output or result.settings_file}", err=True)


def main() -> None:
    setup_logging()
    run_main(command, "maven-configure")
