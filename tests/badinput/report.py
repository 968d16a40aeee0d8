"""The bad-input suite's outcome table: `python -m tests.badinput.report [--process] [--list]`.

Runs every case once, as the suite does, and counts them by their worst problem, in the order of
the audit that started the suite: a secret leaked, no answer in time, an internal error or a
traceback, a wrong exit code (a silent success among them), a misleading message, and held.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from tests.badinput import harness, servers
from tests.badinput.conftest import ROOT, planted_secrets
from tests.badinput.tables import ALL_CASES

ORDER = ("a secret leaked", "no answer in time", "an internal error or a traceback", "a wrong exit code",
         "silent success", "a misleading message", "held")


def category(found: list[str], outcome: harness.Outcome) -> str:
    text = " ".join(found)
    if "planted" in text:
        return "a secret leaked"
    if outcome.timed_out:
        return "no answer in time"
    if "traceback" in text or "internal error" in text:
        return "an internal error or a traceback"
    if outcome.code == 0:
        return "silent success"
    if "exit" in text:
        return "a wrong exit code"
    return "a misleading message" if found else "held"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process", action="store_true", help="run each case as a real process")
    parser.add_argument("--list", action="store_true", help="list every case that did not hold")
    args = parser.parse_args()
    planted = planted_secrets()
    garbage, silent, babbler = servers.Garbage().start(), servers.Silent().start(), servers.Babbler().start()
    closed = servers.closed_port()
    fault = {"closed": f"http://127.0.0.1:{closed}", "closed_port": str(closed), "silent_port": str(silent.port),
             "babbler_port": str(babbler.port), "silent": f"http://127.0.0.1:{silent.port}",
             **{f"g_{f}": garbage.url(f) for f in servers.FAULTS}}
    counts: Counter[str] = Counter()
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="badinput-") as tmp:
        checkout = Path(tmp) / "checkout"
        for name in ("providers", "examples", "pipeline-templates"):
            shutil.copytree(ROOT / name, checkout / name, symlinks=True,
                            ignore=shutil.ignore_patterns("node_modules", "target", "__pycache__", "*.egg-info"))
        for name in ("pyproject.toml", "pipeyard.site.yaml", "README.md"):
            shutil.copy(ROOT / name, checkout / name)
        for i, case in enumerate(c for c in ALL_CASES if not c.browser):
            work = Path(tmp) / f"case-{i}"
            work.mkdir()
            ctx = harness.Context(work, {**fault, "checkout": str(checkout)}, planted)
            run = harness.run_process if (args.process or not case.inprocess) else harness.run_here
            outcome = run(case, ctx)
            found = harness.problems(case, outcome, planted)
            kind = category(found, outcome)
            counts[kind] += 1
            if found:
                failed.append(f"{kind}: {case.id}: {'; '.join(found)}")
    for stop in (garbage, silent, babbler):
        stop.stop()
    print("| outcome | cases |\n|---|---|")
    for kind in ORDER:
        print(f"| {kind} | {counts.get(kind, 0)} |")
    print(f"| total | {sum(counts.values())} |")
    if args.list:
        print("\n".join(failed))


if __name__ == "__main__":
    main()
