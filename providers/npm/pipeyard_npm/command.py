"""`npm-configure`'s command line: the flags every configurator shares, one per setting, and its own."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pipeyard_kit.options import overrides
from pipeyard_kit.toolwrap.flags import configurator, report_problems
from pipeyard_npm import configure as configure_mod


@configurator("npm", "npm-configure", ignore_unknown_options=True,
              output_help="Also write the .npmrc here (mode 0600), to use with a plain `npm --userconfig FILE`.",
              diagnose_help="After a failed npm: name the variable to fix when the registry refused NPM_TOKEN. "
                            "The npm wrapper runs this.")
@click.option("--tool", type=click.Choice(configure_mod.TOOLS), default="npm", show_default=True,
              help="The tool to configure: npm, pnpm, yarn1 (yarn 1) or yarn4 (yarn 2 and later).")
@click.option("--check-publish", is_flag=True,
              help="Fail, naming NPM_TOKEN, when `npm publish ARGS` (yarn's, pnpm's) would run without a token. "
                   "The wrappers run this.")
@click.argument("npm_args", nargs=-1, type=click.UNPROCESSED)
def command(output: Path | None, diagnose: bool, tool: str, check_publish: bool, quiet: bool,
            npm_args: tuple[str, ...], **kwargs) -> None:
    """Write the tool's user config from NPM_REGISTRY_URL, NPM_SCOPED_REGISTRIES and a ${NPM_TOKEN}
    reference (npm's, pnpm's and yarn 1's .npmrc; yarn 4's ~/.yarnrc.yml), mode 0600, keep its
    cache in $CI_PROJECT_DIR/.npm and bundle CUSTOM_CA_CERTS for Node, for the wrapper to apply.

    NPM_TOKEN is never written: the tools read it from the environment.
    """
    if diagnose:
        from pipeyard_npm.diagnose import problems

        report_problems(problems(os.environ))
        return
    if check_publish:
        from pipeyard_npm.diagnose import check_publish as check

        check(os.environ, npm_args)
        return
    if npm_args:
        raise click.UsageError(f"unexpected argument {npm_args[0]!r}: arguments are only taken with --check-publish")
    configure_mod.report(configure_mod.configure(os.environ, overrides(kwargs), output, tool=tool), quiet=quiet,
                         output=output)
