"""npm-configure: write npm's, pnpm's and yarn's configuration from the job's CI/CD variables.

The wrapper in front of each tool (/usr/local/bin/npm, yarn and pnpm in the npm image)
runs it on first use and whenever a variable changes, so a job script just calls the
tool. Everything it prints goes to stderr, so `$(npm pkg get version)` in a job script
captures npm's output only.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    # The npm wrapper's first call in every fresh job container is a bare `npm-configure`: that path skips
    # click's import and parsing, most of what the first `npm` of a job would wait for.
    args = sys.argv[1:]
    tool = "npm"
    if args[:1] == ["--tool"] and len(args) > 1:
        tool, args = args[1], args[2:]
    if args in ([], ["-q"]):
        from pipeyard_kit.exits import run_plain
        from pipeyard_npm.configure import configure, report

        run_plain(lambda: report(configure(os.environ, {}, None, tool=tool), quiet=bool(args)))
    from pipeyard_kit.console import run_main, setup_logging
    from pipeyard_npm.command import command

    setup_logging()
    run_main(command, "npm-configure")
