"""maven-configure: write Maven's settings from the job's CI/CD variables.

The mvn wrapper (/usr/local/bin/mvn in the maven image) runs it on first use and
whenever a variable changes, so a job script just calls `mvn`. Everything it
prints goes to stderr: `VERSION=$(mvn help:evaluate -q -DforceStdout ...)` in a
job script must capture Maven's output only.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    # The mvn wrapper's first call in every fresh job container is a bare `maven-configure`: that path skips
    # click's import and parsing, most of what the first `mvn` of a job would wait for.
    if sys.argv[1:] in ([], ["-q"]):
        from pipeyard_kit.exits import run_plain
        from pipeyard_maven.configure import configure, report

        run_plain(lambda: report(configure(os.environ, {}, None), quiet=bool(sys.argv[1:])))
    from pipeyard_kit.console import run_main, setup_logging
    from pipeyard_maven.command import command

    setup_logging()
    run_main(command, "maven-configure")
