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

from .. import __version__
from ..cli.config_option import show_config_option
from ..cli.errors import debug_option, run_main, setup_logging
from . import configure as configure_mod
from ..toolwrap.flags import overrides, setting_options


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maven-configure")
@debug_option
@show_config_option("maven")
@setting_options("maven")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the settings.xml here (mode 0600), to use with a plain `mvn -s FILE`.")
@click.option("--diagnose", is_flag=True,
              help="After a failed mvn: name the variable to fix when the repository refused the credentials. "
                   "The mvn wrapper runs this.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when all is well.")
def command(output: Path | None, diagnose: bool, quiet: bool, **kwargs) -> None:
    """Write Maven's settings.xml (mirrors, servers, deploy repositories, proxies) from
    MAVEN_* variables, import CUSTOM_CA_CERTS into a JVM truststore, and record the
    arguments the mvn wrapper adds: -gs SETTINGS -B --no-transfer-progress
    -Dmaven.repo.local=$CI_PROJECT_DIR/.m2/repository $MAVEN_CLI_OPTS.

    MAVEN_REPO_PASSWORD is never written: settings.xml refers to ${env.MAVEN_REPO_PASSWORD}.
    """
    if diagnose:
        from .diagnose import problems

        for problem in problems(os.environ):
            click.echo(f"error: {problem}", err=True)
        return
    result = configure_mod.configure(os.environ, overrides(kwargs), output)
    if not quiet:
        click.echo(f"maven-configure: {result.summary}; settings in {output or result.settings_file}", err=True)


def main() -> None:
    setup_logging()
    run_main(command, "maven-configure")
