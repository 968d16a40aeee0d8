"""A PipeyardError becomes one `error:` line on stderr and an exit code, without click.

console.run_main does the same for click commands; this is the path a tool wrapper takes on the
first call of every job, where click's import would be most of the wait.
"""

from __future__ import annotations

import os
import sys

from pipeyard_kit.errors import PipeyardError

# typing.TYPE_CHECKING without importing typing, whose 2-3 ms every wrapper's first call would pay.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def tracing() -> bool:
    return os.environ.get("TRACE", "") not in ("", "0", "false") or os.environ.get("PIPEYARD_DEBUG") == "1"


def error_line(error: PipeyardError) -> str:
    return f"error: {error.render()}"


def internal_error_line(exc: BaseException) -> str:
    return f"error: internal error ({type(exc).__name__}: {exc}); rerun with TRACE=1 and report it"


def quick_exit(code: int | str | None) -> NoReturn:
    """Exit at once, skipping the interpreter's teardown, as mypy's hard_exit does.

    Freeing every module's objects is a visible part of a short command's run (about 60 ms with
    Playwright's modules loaded). Call it only once everything that outlives the process (a
    browser, temporary files) is closed: the log handlers and the standard streams are all that
    is left to flush.
    """
    if isinstance(code, str):  # sys.exit("message") prints the message and exits 1
        print(code, file=sys.stderr)
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said there
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def run_plain(action: Callable[[], object]) -> NoReturn:
    """Run action and exit: 0, the error's own code with its one line, or 130 when interrupted."""
    try:
        action()
    except PipeyardError as exc:
        if tracing():
            import traceback

            traceback.print_exc()
        print(error_line(exc), file=sys.stderr)
        quick_exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        quick_exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence before a user sees a traceback
        if tracing():
            raise
        print(internal_error_line(exc), file=sys.stderr)
        quick_exit(1)
    quick_exit(0)
