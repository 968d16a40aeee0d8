"""What every console script shares: errors become exit codes, logging, --debug and --show-config.

A PipeyardError is printed as one line (`error: ...`) on stderr; usage errors exit
2 and failures 1. A traceback appears only with --debug or TRACE=1, so a CI log
never shows a stack trace a user has to decode.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from pipeyard_kit import settings as settings_mod
from pipeyard_kit.errors import PipeyardError
from pipeyard_kit.exits import error_line, internal_error_line, tracing

log = logging.getLogger("pipeyard")


def setup_logging(debug: bool = False) -> None:
    if debug:
        os.environ["PIPEYARD_DEBUG"] = "1"
    level = logging.DEBUG if (debug or tracing()) else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    # Third-party chatter (urllib3 retries, docker's API calls) only when tracing.
    for noisy in ("urllib3", "docker", "filelock", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if tracing() else logging.WARNING)


def fail(error: PipeyardError) -> None:
    if tracing():
        traceback.print_exc()
    click.echo(error_line(error), err=True)
    sys.exit(error.exit_code)


def click_error_line(exc: click.ClickException, prog_name: str) -> str:
    """click's own refusals (an unknown option, a missing or bad value) as the one `error:` line every
    other refusal gets, naming the command and where its options are listed, instead of a usage block."""
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else prog_name
    message = " ".join(exc.format_message().split())
    if isinstance(exc, click.NoSuchOption):
        guess = f": did you mean {' or '.join(exc.possibilities)}?" if exc.possibilities else ""
        return f"error: {path}: no such option {exc.option_name}{guess} (`{path} --help` lists the options)"
    message = message[:1].lower() + message[1:]
    if isinstance(exc, click.UsageError):
        return f"error: {path}: {message.rstrip('.')}: see `{path} --help`"
    return f"error: {path}: {message}"


def run_main(command: click.Command, prog_name: str, args: list[str] | None = None) -> None:
    """Run a click command so that no PipeyardError or unexpected crash leaks a traceback."""
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(click_error_line(exc, prog_name), err=True)
        sys.exit(exc.exit_code)
    except PipeyardError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence before a user sees a traceback
        if tracing():
            raise
        click.echo(internal_error_line(exc), err=True)
        sys.exit(1)
    sys.exit(0)


def debug_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--debug: verbose logs and tracebacks, the same as TRACE=1."""

    def _cb(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        setup_logging(value)
        return value

    return click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_cb,
                        help="Show debug logs and tracebacks (same as TRACE=1).")(f)


def print_config(provider: str) -> None:
    # rich loads only here: the mvn/npm wrappers import this module on every first call.
    from rich.console import Console
    from rich.table import Table

    resolved = settings_mod.load(provider, require=False)
    table = Table(title=f"{provider}: effective settings", show_lines=False)
    for col in ("setting", "value", "source"):
        table.add_column(col)
    for name, value, source in resolved.show():
        table.add_row(name, value, source)
    Console(stderr=False, width=120).print(table)


def show_config_option(provider: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def _cb(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if not value or ctx.resilient_parsing:
            return
        print_config(provider)
        ctx.exit(0)

    return click.option("--show-config", is_flag=True, expose_value=False, is_eager=True, callback=_cb,
                        help="Print the effective settings (job variable > site default > default), secrets masked.")
