"""gitops-bump: ten apps landing on one config repository at once, against the same bumps one after the other.

A real `git http-backend` on loopback (tests/servers/git_http.py) with 0.2 s of push latency, the time
GitLab's pre-receive checks take. Each bump is a gitops-bump process, as a job runs it.

- Baseline: the ten bumps one after the other, which is what a resource_group on the deploy jobs gives.
- Concurrent: the ten at once, every push held until all ten have fetched (the worst race); the losers
  fetch, re-apply and retry with jitter. Reported with the pushes it took and the retries per bump.

Every run checks that all ten landed: ten commits, each app's values file pinned.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "providers" / "gitops" / "tests"))

import yaml
from _report import Report
from gitops_support import DIGEST, TOKEN, clean_env, seed

from tests.servers.git_http import GitHttpServer

APPS = tuple(f"app{i}" for i in range(10))
LATENCY = 0.2
RUNS = 3


def env_for(url: str, i: int, app: str) -> dict[str, str]:
    return {**os.environ, **clean_env(), "GITOPS_REPO_URL": url, "GITOPS_TOKEN": TOKEN, "GITOPS_APP": app,
            "GITOPS_USERNAME": app, "GITOPS_ENVIRONMENT": "dev", "CI_PIPELINE_IID": str(100 + i),
            "GITOPS_IMAGE": f"harbor.example.com/shop/{app}:2.0.{i}@{DIGEST}"}


def run(concurrent: bool) -> tuple[float, int]:
    """(seconds until all ten landed, push attempts) on a fresh repository."""
    with tempfile.TemporaryDirectory(prefix="bench-gitops-") as tmp:
        server = GitHttpServer(Path(tmp), token=TOKEN, push_latency=LATENCY)
        if concurrent:
            server.push_gate = lambda _user: server.wait_for(lambda: all(server.fetches_by[a] for a in APPS))
        server.start()
        try:
            url = seed(server, apps=APPS)
            command = [sys.executable, "-m", "pipeyard_gitops.cli"]
            t0 = time.perf_counter()
            if concurrent:
                procs = [subprocess.Popen(command, env=env_for(url, i, a), stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL) for i, a in enumerate(APPS)]
                codes = [p.wait(timeout=600) for p in procs]
            else:
                codes = [subprocess.call(command, env=env_for(url, i, a), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, timeout=600) for i, a in enumerate(APPS)]
            elapsed = time.perf_counter() - t0
            assert codes == [0] * len(APPS), codes
            assert len(server.log("config")) == len(APPS) + 1
            for i, app in enumerate(APPS):
                pinned = yaml.safe_load(server.show("config", "main", f"apps/{app}/values-dev.yaml"))["image"]
                assert pinned["tag"] == f"2.0.{i}", (app, pinned)
            # Every push attempt starts with the receive-pack advertisement, rejected or not.
            pushes = sum(1 for r in server.requests if r.method == "GET" and "service=git-receive-pack" in r.query)
            return elapsed, pushes
        finally:
            server.stop()


def main() -> None:
    report = Report(f"gitops-bump: {len(APPS)} apps on one config repository, push latency {LATENCY} s "
                    f"(median of {RUNS})")
    one_by_one = [run(concurrent=False) for _ in range(RUNS)]
    at_once = [run(concurrent=True) for _ in range(RUNS)]
    baseline = statistics.median(t for t, _ in one_by_one)
    concurrent = statistics.median(t for t, _ in at_once)
    report.add("one after the other (resource_group): all landed", baseline, baseline=baseline)
    report.add("all at once, retries with jitter: all landed", concurrent, baseline=baseline,
               goal="every bump lands; no retry budget exhausted")
    report.add("  push attempts, one after the other", statistics.median_low(p for _, p in one_by_one), "pushes")
    report.add("  push attempts, all at once", statistics.median_low(p for _, p in at_once), "pushes",
               goal=f"<= {len(APPS) * (len(APPS) + 1) // 2}: the k-th to land lost at most k-1 races")
    report.print()


if __name__ == "__main__":
    main()
