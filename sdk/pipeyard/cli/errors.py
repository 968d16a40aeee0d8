"""The one place where errors become exit codes, shared by every console script.

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
from typing import Any, NoReturn

import click

from ..errors import PipeyardError

log = logging.getLogger("pipeyard")


def tracing() -> bool:
    return os.environ.get("TRACE", "") not in ("", "0", "false") or os.environ.get("PIPEYARD_DEBUG") == "1"


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
    click.echo(f"error: {error.render()}", err=True)
    sys.exit(error.exit_code)


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
        exc.show()
        sys.exit(exc.exit_code)
    except PipeyardError as exc:
        fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence before a user sees a traceback
        if tracing():
            raise
        click.echo(f"error: internal error ({type(exc).__name__}: {exc}); rerun with TRACE=1 and report it", err=True)
        sys.exit(1)
    sys.exit(0)


def quick_exit(code: int | str | None) -> NoReturn:
    """Exit at once, skipping the interpreter's teardown, as mypy's hard_exit does.

    With Playwright's modules loaded, freeing every object takes about 60 ms on a 2-core
    runner, a noticeable part of a one-page capture. Call it only once everything that
    outlives the process (browser, driver, temporary files) is closed: the log handlers and
    the standard streams are all that is left to flush.
    """
    if isinstance(code, str):  # sys.exit("message") prints the message and exits 1
        print(code, file=sys.stderr)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said there
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def debug_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--debug: verbose logs and tracebacks, the same as TRACE=1."""

    def _cb(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        setup_logging(value)
        return value

    return click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_cb,
                        help="Show debug logs and tracebacks (same as TRACE=1).")(f)


