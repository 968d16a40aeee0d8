"""A configurator's command line (maven-configure, npm-configure): the flags every tool configurator
shares, then one flag per declared setting (pipeyard_kit.options)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from pipeyard_kit import options


def configurator(provider: str, prog_name: str, *, output_help: str, diagnose_help: str,
                 **context: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """The command a tool wrapper runs: --version, --debug, --show-config, the setting flags,
    --output FILE, --diagnose and -q, before the function's own options."""

    def decorate(f: Callable[..., Any]) -> click.Command:
        for option in reversed((
            options.common_options(provider, prog_name),
            options.setting_options(provider),
            click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help=output_help),
            click.option("--diagnose", is_flag=True, help=diagnose_help),
            click.option("-q", "--quiet", is_flag=True, help="Print nothing when all is well."),
        )):
            f = option(f)
        return click.command(context_settings={"help_option_names": ["-h", "--help"], **context})(f)

    return decorate


def report_problems(problems: Iterable[str]) -> None:
    """--diagnose: one `error:` line per problem found, on stderr."""
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
