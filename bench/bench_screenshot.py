"""chrome-headless: `screenshot` against `chromium --headless --screenshot`, and a 20-page batch.

Both sides capture the same local pages at 1280x720 with the same Kubernetes-safe flags
and a fresh profile per run, so the ratios compare like with like.
Goals (issue 6): one shot at most 1.0x the bare Chromium call; a batch at most 0.3 s a page
after the browser is up. `screenshot` drives the image's browser, Debian's headless shell;
the shell's own bare --screenshot is reported too, so the cost of Playwright's Python and
Node layers stays in plain view.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report, best_of

CHROMIUM = "/usr/bin/chromium"
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
VENV_BIN = Path(sys.executable).parent
PAGES = 20
RUNS = 7


def page(n: int) -> str:
    blocks = "".join(f'<div style="height:60px;background:hsl({(n * 37 + i * 53) % 360},70%,55%)">block {i}</div>'
                     for i in range(8))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>page {n}</title>"
            f"<style>body{{margin:0;font:16px sans-serif}} h1{{margin:8px}}</style></head>"
            f"<body><h1>Build report {n}</h1>{blocks}<p>{'lorem ipsum ' * 80}</p></body></html>")


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve(root: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def bare_chromium(url: str, out: Path, binary: str = CHROMIUM) -> None:
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    try:
        subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
                        f"--user-data-dir={profile}", "--window-size=1280,720", f"--screenshot={out}", url],
                       check=True, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def our_cli(*args: str) -> None:
    subprocess.run([str(VENV_BIN / "screenshot"), *args], check=True, capture_output=True, timeout=300)


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def interleaved(*fns, runs: int) -> list[tuple[float, float]]:
    """Median (wall, CPU) seconds of each function, run in turn so a burst of load on a shared
    machine hits all alike. CPU time (of the child processes) hardly moves with load."""
    samples: list[list[tuple[float, float]]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, samples, strict=True):
            t0, c0 = time.perf_counter(), _child_cpu()
            fn()
            out.append((time.perf_counter() - t0, _child_cpu() - c0))
    return [(statistics.median(w for w, _ in s), statistics.median(c for _, c in s)) for s in samples]


def main() -> None:
    for binary in (CHROMIUM, HEADLESS_SHELL):
        if not Path(binary).is_file():
            sys.exit(f"bench_screenshot: {binary} is missing: run `make setup` "
                     f"(apt-get install {Path(binary).name})")
    from pipeyard_chrome_headless import Browser, make_shot
    from pipeyard_chrome_headless.batch import run_batch

    work = Path(tempfile.mkdtemp(prefix="bench-screenshot-"))
    try:
        site = work / "site"
        site.mkdir()
        for n in range(PAGES):
            (site / f"p{n}.html").write_text(page(n), encoding="utf-8")
        server = serve(site)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        url = f"{base}/p0.html"

        report = Report("chrome-headless: one shot and a batch (local pages, 1280x720)")
        our_cli(url, "-o", str(work / "warm.png"))  # the image ships a warm Node compile cache; so do we
        (bare, bare_cpu), (shell, shell_cpu), (ours, ours_cpu) = interleaved(
            lambda: bare_chromium(url, work / "bare.png"),
            lambda: bare_chromium(url, work / "shell.png", HEADLESS_SHELL),
            lambda: our_cli(url, "-o", str(work / "ours.png")), runs=RUNS)
        report.add("chromium --headless --screenshot, 1 page (baseline)", bare)
        report.add("screenshot URL -o out.png, 1 page", ours, baseline=bare, goal="<= 1.0x")
        report.add("  for scale: chromium-headless-shell --screenshot", shell, baseline=bare)
        report.add("  CPU: chromium --screenshot (baseline)", bare_cpu, "cpu-s")
        report.add("  CPU: screenshot URL -o out.png", ours_cpu, "cpu-s", baseline=bare_cpu)
        report.add("  CPU: chromium-headless-shell --screenshot", shell_cpu, "cpu-s", baseline=bare_cpu)

        shots = [make_shot({"url": f"{base}/p{n}.html", "output": str(work / "batch" / f"p{n}.png")})
                 for n in range(PAGES)]
        launches, per_page = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            with Browser() as browser:
                t1 = time.perf_counter()
                failures = run_batch(browser, shots)
                t2 = time.perf_counter()
            if failures:
                raise SystemExit(f"bench_screenshot: {failures[0][1]}")
            launches.append(t1 - t0)
            per_page.append((t2 - t1) / PAGES)
        launches.sort()
        per_page.sort()
        report.add("browser launch (Playwright driver + Chromium)", launches[1])
        report.add(f"batch of {PAGES}: per page after launch", per_page[1], baseline=bare,
                   goal="<= 0.3 s a page")
        (work / "shots.yml").write_text("shots:\n" + "".join(f"  - {base}/p{n}.html\n" for n in range(PAGES)))
        batch_cli = best_of(lambda: our_cli("--config", str(work / "shots.yml"), "--output-dir",
                                            str(work / "cli")), 3)
        report.add(f"screenshot --config (CLI, {PAGES} pages, all in)", batch_cli, baseline=bare * PAGES,
                   goal="vs one chromium call per page")
        server.shutdown()
        report.print()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
