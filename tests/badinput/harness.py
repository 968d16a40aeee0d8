"""Running one bad-input case and judging what came out.

A case is a console script with arguments, the job's variables and the files of its work folder.
The harness runs it in this process (the modules are imported once, so a case costs milliseconds,
not an interpreter start), or as a real process (`subprocess`, and inside an image), and hands back
the exit code, both streams and every file the run wrote. `problems()` says everything that is
wrong with that outcome: the promise of the project is one `error:` line naming the setting and the
fix, exit 2 for usage and 1 for a failure, no traceback, and no secret anywhere.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent
CASE_SECONDS = 30  # a case that takes longer has no deadline somewhere


class Folder:
    """A file entry that is a folder (for *_FILE pointing at one, or an output that cannot be a file)."""


class Link:
    """A file entry that is a symlink to `target` (relative to the work folder, or absolute)."""

    def __init__(self, target: str):
        self.target = target


FileSpec = str | bytes | Folder | Link


@dataclass(frozen=True)
class Case:
    """One bad input. `says` are what the error must name: the setting (or file, flag, server) and
    the fix. Strings in argv, env and files may use the placeholders of `Context.values()`."""

    name: str
    argv: tuple[str, ...]
    exit: int
    says: tuple[str, ...]
    env: Mapping[str, str | None] = field(default_factory=dict)
    files: Mapping[str, FileSpec] = field(default_factory=dict)
    stdin: str | None = None
    cwd: str = "{work}"      # where it runs; `pipeyard` cases run in a copy of the checkout
    inprocess: bool = True   # False: always a real process (a case that must not share this one's state)
    browser: bool = False    # starts Chromium

    @property
    def script(self) -> str:
        return self.argv[0]

    @property
    def id(self) -> str:
        return f"{self.script}: {self.name}"


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    written: dict[str, bytes]  # files the run created or changed, by path relative to the work folder
    timed_out: bool = False
    planted: dict[str, bytes] = field(default_factory=dict)  # the case's own files, as it planted them


@dataclass
class Context:
    """What placeholders expand to: the work folder, the fault servers, the planted secrets."""

    work: Path
    servers: dict[str, str]
    planted: dict[str, str]

    def values(self) -> dict[str, str]:
        return {"work": str(self.work), **self.servers, **{f"secret_{k}": v for k, v in self.planted.items()},
                "secret": self.planted["PLANTED"]}

    def expand(self, text: str) -> str:
        """{name} replaced where name is a placeholder; other braces (YAML, Jinja) stay as written."""
        values = self.values()
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def base_env(ctx: Context) -> dict[str, str]:
    """A job's environment: the planted secrets in every secret variable, a home, no site file."""
    home = ctx.work / "home"
    return {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": str(ctx.work / "tmp"),
        "PIPEYARD_SITE_FILE": str(ctx.work / "no-site.json"),
        "PIPEYARD_STATE_DIR": str(home / "state"),
        **{k: v for k, v in ctx.planted.items() if k != "PLANTED"},
    }


def prepare(case: Case, ctx: Context) -> tuple[list[str], dict[str, str], dict[str, bytes]]:
    """(argv, environment, the files planted with their content) with placeholders expanded."""
    for sub in ("home", "tmp"):
        (ctx.work / sub).mkdir(parents=True, exist_ok=True)
    planted_files: dict[str, bytes] = {}
    for rel, spec in case.files.items():
        path = ctx.work / ctx.expand(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, Folder):
            path.mkdir(exist_ok=True)
        elif isinstance(spec, Link):
            path.symlink_to(ctx.expand(spec.target))
        else:
            data = ctx.expand(spec).encode() if isinstance(spec, str) else spec
            path.write_bytes(data)
            planted_files[str(path.relative_to(ctx.work))] = data
    env = base_env(ctx)
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = ctx.expand(value)
    return [ctx.expand(a) for a in case.argv], env, planted_files


def snapshot(work: Path) -> dict[str, bytes]:
    found = {}
    for path in sorted(work.rglob("*")):
        if path.is_file() and not path.is_symlink():
            try:
                found[str(path.relative_to(work))] = path.read_bytes()
            except OSError:
                continue
    return found


def written(work: Path, before: Mapping[str, bytes]) -> dict[str, bytes]:
    return {rel: data for rel, data in snapshot(work).items() if before.get(rel) != data}


# -- in this process -----------------------------------------------------------------------------

def _entry(script: str) -> Any:
    found = [e for e in entry_points(group="console_scripts") if e.name == script]
    if not found:
        raise LookupError(f"no console script {script} is installed")
    module, _, attr = found[0].value.partition(":")
    return getattr(importlib.import_module(module), attr)


class _Deadline(BaseException):
    """A case ran past CASE_SECONDS (BaseException: no CLI's `except Exception` swallows it)."""


class _Exit(BaseException):
    """os._exit, caught: a CLI that exits hard (screenshot, the tool wrappers' fast path)."""

    def __init__(self, code: int):
        self.code = code


@contextlib.contextmanager
def _isolated(argv: list[str], env: dict[str, str], cwd: Path, stdin: str | None) -> Iterator[tuple[io.TextIOWrapper,
                                                                                              io.TextIOWrapper]]:
    saved_env, saved_argv, saved_cwd = dict(os.environ), sys.argv, Path.cwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_exit = os._exit
    saved_umask = os.umask(0o022)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.TextIOWrapper(io.BytesIO(), encoding="utf-8")

    def hard_exit(code: int) -> None:
        raise _Exit(code)

    def alarm(*_: object) -> None:
        raise _Deadline()

    os.environ.clear()
    os.environ.update(env)
    sys.argv = argv
    os.chdir(cwd)
    sys.stdin = io.StringIO(stdin or "")
    sys.stdout, sys.stderr = out, err
    os._exit = hard_exit  # type: ignore[assignment]
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        yield out, err
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os._exit = saved_exit  # type: ignore[assignment]
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        os.umask(saved_umask)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def run_here(case: Case, ctx: Context) -> Outcome:
    argv, env, planted_files = prepare(case, ctx)
    main = _entry(argv[0])
    before = snapshot(ctx.work)
    code, timed_out = 0, False
    with _isolated(argv, env, Path(ctx.expand(case.cwd)), case.stdin) as (out, err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        except _Exit as exc:
            code = exc.code
        except _Deadline:
            code, timed_out = -1, True
        except Exception:  # noqa: BLE001 - shown as a traceback, which the judge then refuses
            import traceback

            traceback.print_exc()
            code = 1
        for stream in (out, err):
            stream.flush()
    text = [s.buffer.getvalue().decode("utf-8", errors="replace") for s in (out, err)]  # type: ignore[attr-defined]
    return Outcome(code, text[0], text[1], written(ctx.work, before), timed_out, planted_files)


# -- as a process ----------------------------------------------------------------------------------

def run_process(case: Case, ctx: Context) -> Outcome:
    argv, env, planted_files = prepare(case, ctx)
    before = snapshot(ctx.work)
    exe = VENV_BIN / argv[0]
    try:
        done = subprocess.run([str(exe) if exe.exists() else argv[0], *argv[1:]], env=env, cwd=ctx.expand(case.cwd),
                              input=case.stdin or "", capture_output=True, text=True, timeout=CASE_SECONDS)
    except subprocess.TimeoutExpired as exc:
        return Outcome(-1, str(exc.stdout or ""), str(exc.stderr or ""), written(ctx.work, before), True,
                       planted_files)
    return Outcome(done.returncode, done.stdout, done.stderr, written(ctx.work, before), False, planted_files)


# -- the judge -------------------------------------------------------------------------------------

def error_block(err: str) -> list[str]:
    """The `error:` lines and the indented lines that continue each (a list of problems)."""
    lines = err.splitlines()
    block: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("error:"):
            block.append(line)
            inside = True
        elif inside and line.startswith("  "):
            block.append(line)
        else:
            inside = False
    return block


def problems(case: Case, outcome: Outcome, secrets: Mapping[str, str]) -> list[str]:
    """Everything wrong with this outcome; [] when the case held."""
    found: list[str] = []
    both = outcome.out + outcome.err
    if outcome.timed_out:
        found.append(f"no answer within {CASE_SECONDS} s")
    if "Traceback (most recent call last)" in both:
        found.append("a traceback")
    if "internal error" in both:
        found.append("an internal error")
    if outcome.code != case.exit and not outcome.timed_out:
        found.append(f"exit {outcome.code}, expected {case.exit}")
    errors = [line for line in outcome.err.splitlines() if line.startswith("error:")]
    if len(errors) != 1:
        found.append(f"{len(errors)} `error:` lines, expected one")
    text = "\n".join(error_block(outcome.err))
    missing = [s for s in case.says if s.lower() not in text.lower()]
    if errors and missing:
        found.append(f"the error does not say {missing}")
    for name, value in secrets.items():
        if value in both:
            found.append(f"the planted {name} is in the output")
        for rel, data in outcome.written.items():
            if value.encode() in data and outcome.planted.get(rel) != data:
                found.append(f"the planted {name} is in the written file {rel}")
    return found
