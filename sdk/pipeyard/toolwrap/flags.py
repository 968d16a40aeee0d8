"""A configurator's command line: the flags every tool configurator shares, and one flag
per declared setting that has a template input.

Derived from the generated catalog, so provider.yaml stays the only list. Secrets
get no flag: a flag would show the value in process listings and shell history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from .. import __version__
from .. import settings as settings_mod
from ..cli.config_option import show_config_option
from ..cli.errors import debug_option

PREFIX = "setting_"


def setting_options(provider: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    specs = [s for s in settings_mod.declared(provider) if s.get("input") and not s.get("secret")]

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for spec in reversed(specs):
            f = click.option(f"--{spec['input']}", PREFIX + spec["env"].lower(), metavar=spec["type"].upper(),
                             help=f"{spec['description']} [env: {spec['env']}]")(f)
        return f

    return decorate


def configurator(provider: str, prog_name: str, *, output_help: str, diagnose_help: str,
                 **context: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """The command a tool wrapper runs (maven-configure, npm-configure): --version, --debug,
    --show-config, the setting flags, --output FILE, --diagnose and -q, before the
    function's own options."""

    def decorate(f: Callable[..., Any]) -> click.Command:
        for option in reversed((
            click.version_option(__version__, prog_name=prog_name),
            debug_option,
            show_config_option(provider),
            setting_options(provider),
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


def overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The setting flags given on the command line, keyed by setting name."""
    return {k[len(PREFIX):].upper(): v for k, v in kwargs.items() if k.startswith(PREFIX) and v not in (None, "")}
