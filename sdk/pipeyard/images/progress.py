"""Progress on stderr with rich: live bars on a terminal, plain lines in CI logs.

A CI log keeps every line, so there each step is printed once; a terminal gets one
bar per image whose text is the layer being built.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

TAIL_LINES = 25


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


class ImageProgress:
    """One image's build: its steps (layers) and the tail of its log for errors."""

    def __init__(self, board: BuildBoard, name: str):
        self.board = board
        self.name = name
        self.step_text = ""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.started = time.monotonic()
        self.cached_steps = 0
        self._task = board.progress.add_task(name, total=None, step="starting") if board.live else None

    def step(self, number: int, total: int, text: str) -> None:
        self.step_text = f"STEP {number}/{total}: {text}"
        if self._task is not None:
            self.board.progress.update(self._task, total=total, completed=number - 1, step=escape(text[:60]))
        else:
            # A Dockerfile line is no markup: `[x for x in y]` would vanish from the log.
            self.board.console.print(f"{self.name}: {self.step_text}", markup=False, soft_wrap=True)

    def cached(self) -> None:
        self.cached_steps += 1
        if self._task is None:
            self.board.console.print(f"{self.name}:   using cache")

    def output(self, line: str) -> None:
        self.tail.append(line)
        if self.board.verbose:
            self.board.console.print(f"{self.name}| {line}", markup=False, soft_wrap=True)

    def finish(self, summary: str) -> None:
        seconds = time.monotonic() - self.started
        if self._task is not None:
            task = self.board.progress.tasks[self._task]
            self.board.progress.update(self._task, completed=task.total or 1, total=task.total or 1, step="done")
        self.board.console.print(f"[green]built[/] {self.name} {summary} in {seconds:.1f} s"
                                 f" ({self.cached_steps} cached steps)")


class BuildBoard:
    def __init__(self, console: Console | None = None, *, verbose: bool = False):
        self.console = console or stderr_console()
        self.verbose = verbose
        self.live = self.console.is_terminal and not verbose
        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description:<16}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[step]}"), TimeElapsedColumn(),
                                 console=self.console, transient=False, disable=not self.live)

    def __enter__(self) -> BuildBoard:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def image(self, name: str) -> ImageProgress:
        return ImageProgress(self, name)


@contextmanager
def status(console: Console, text: str) -> Iterator[callable]:
    """A spinner on a terminal, or the changing line printed once per change in a log."""
    if console.is_terminal:
        with console.status(text) as live:
            yield lambda line: live.update(f"{text}: {line[:100]}")
    else:
        console.print(text)
        last = [""]

        def update(line: str) -> None:
            if line != last[0]:
                console.print(f"  {line}", markup=False)
                last[0] = line

        yield update


@contextmanager
def upload_bars(client: Any, console: Console | None = None) -> Iterator[None]:
    """A bar per blob while `client` (pipeyard_kit.registry.RegistryClient) uploads, on a terminal only:
    a CI log keeps the one line per image that publish and mirror print anyway."""
    console = console or stderr_console()
    if not console.is_terminal:
        yield
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as bars:
        tasks: dict[str, TaskID] = {}

        def report(digest: str, done: int, size: int) -> None:
            if digest not in tasks:
                tasks[digest] = bars.add_task(f"blob {digest.removeprefix('sha256:')[:12]}", total=size)
            bars.update(tasks[digest], completed=done)

        client.progress = report
        try:
            yield
        finally:
            client.progress = None
