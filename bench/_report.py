"""A tiny shared reporter for pipeyard's benchmarks.

Every benchmark measures a baseline in the same run and prints ratios against it,
so numbers compare across machines. Timed assertions never live in tests/.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def best_of(fn: Callable[[], object], runs: int = 5) -> float:
    """Median wall time of fn over runs, in seconds."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


@dataclass
class Report:
    title: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, what: str, value: float, unit: str = "s", *, baseline: float | None = None,
            goal: str = "") -> None:
        ratio = f"{value / baseline:.2f}x" if baseline else ""
        shown = f"{value:.3f} {unit}" if isinstance(value, float) else f"{value} {unit}"
        self.rows.append((what, shown, ratio, goal))

    def print(self) -> None:
        width = max([len(r[0]) for r in self.rows] + [10])
        print(f"\n== {self.title}")
        print(f"{'measure'.ljust(width)}  {'value':>16}  {'vs baseline':>11}  goal")
        for what, shown, ratio, goal in self.rows:
            print(f"{what.ljust(width)}  {shown:>16}  {ratio:>11}  {goal}")
