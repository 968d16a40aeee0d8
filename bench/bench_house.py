"""The three floors, measured where users feel them.

1. The tool wrappers' first call. Every CI job starts a fresh container, so `mvn` and `npm`
   configure themselves on the first call of every job. Baseline, in the same run: the same
   command with the image's real tool as the entrypoint (`--entrypoint /usr/bin/mvn`), which
   skips the wrapper. Both start a fresh container each time, as a job does; runs alternate,
   and the medians and the difference are printed. Goal: at most 30 ms over bare.
   Container start varies by tens of milliseconds, so the wrapper's own cost is also measured
   inside one container: the tool replaced by /bin/true (PIPEYARD_MVN_BIN, PIPEYARD_NPM_BIN),
   a fresh state before each first call, 40 interleaved runs each, medians against /bin/true.
2. pipeyard's own layer in each image (the kit and the provider's wheel, installed), raw and
   gzip-compressed, against the whole SDK every image carried before the floors were split
   (kit, platform and all providers' code, built from this checkout in this run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _report import Report  # noqa: E402
from bench_images import layer_sizes  # noqa: E402
from rich.console import Console  # noqa: E402

from pipeyard.images.base import bootstrap  # noqa: E402
from pipeyard.images.build import BuildRequest, build_images  # noqa: E402
from pipeyard.images.containers import engine, podman_config  # noqa: E402
from pipeyard.images.wheels import WheelSource, build_wheel  # noqa: E402
from pipeyard.model.provider import load_providers  # noqa: E402
from pipeyard.model.site import find_site, load_site  # noqa: E402

CONSOLE = Console(stderr=True, quiet=True)
MB = 1_000_000
FIRST_CALLS = {"maven": (["mvn", "-v"], "/usr/bin/mvn", ["-v"]),
               "npm": (["npm", "--version"], "/usr/bin/npm", ["--version"])}
TOOL_HOOKS = {"maven": "PIPEYARD_MVN_BIN", "npm": "PIPEYARD_NPM_BIN"}
# Runs in the image's own Python: each call a fresh process, as a job's script makes it.
IN_CONTAINER = '''
import json, os, shutil, statistics, subprocess, sys, time
wrapper, configure, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
state = os.path.expanduser("~/.cache/pipeyard")
quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def timed(cmd, fresh=False):
    if fresh:
        shutil.rmtree(state, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, **quiet)
    return time.perf_counter() - t0
cases = {"bare": (["/bin/true"], False), "current": ([wrapper], False), "first": ([wrapper], True),
         "configure": ([configure, "-q"], True)}
times = {k: [] for k in cases}
for k, (cmd, fresh) in cases.items():
    timed(cmd, fresh)  # warms the page cache
for _ in range(runs):
    for k, (cmd, fresh) in cases.items():
        times[k].append(timed(cmd, fresh))
print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
'''


def podman(*args: str) -> None:
    env = {**os.environ, **podman_config().env()}
    subprocess.run(["podman", *args], env=env, check=True, capture_output=True, timeout=120)


def first_call(ref: str, wrapped: list[str], real: str, args: list[str], runs: int) -> tuple[float, float]:
    """(median wrapped, median bare) wall seconds of a fresh container's first call, interleaved."""
    wrapped_times, bare_times = [], []
    base = ["run", "--rm", "--network", "host", "-e", "CI_PROJECT_DIR=/tmp"]
    for i in range(runs + 1):
        for kind in ("wrapped", "bare"):
            cmd = [*base, ref, *wrapped] if kind == "wrapped" else [*base, "--entrypoint", real, ref, *args]
            t0 = time.perf_counter()
            podman(*cmd)
            elapsed = time.perf_counter() - t0
            if i:  # the first pair warms the page cache
                (wrapped_times if kind == "wrapped" else bare_times).append(elapsed)
    return statistics.median(wrapped_times), statistics.median(bare_times)


def inside(ref: str, provider: str, wrapper: str, runs: int = 40) -> dict[str, float]:
    """Median seconds in one container: /bin/true, the wrapper with its state current and on a first call
    (the tool replaced by /bin/true), and the configurator alone."""
    env = {**os.environ, **podman_config().env()}
    out = subprocess.run(["podman", "run", "--rm", "-e", "CI_PROJECT_DIR=/tmp", "-e", f"{TOOL_HOOKS[provider]}=/bin/true",
                          ref, "/opt/pipeyard/bin/python3", "-c", IN_CONTAINER, wrapper, f"{provider}-configure",
                          str(runs)], env=env, check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def installed_layer(wheels: list[Path], tmp: Path) -> tuple[int, int]:
    """(tar bytes, gzip -6 bytes) of these wheels installed as an image installs them (with bytecode)."""
    target = tmp / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target),
                    *map(str, wheels)], check=True, capture_output=True)
    archive = tmp / "layer.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(target, arcname="opt/pipeyard/lib")
    data = archive.read_bytes()
    return len(data), len(zlib.compress(data, 6))


def whole_sdk_wheels(tmp: Path) -> list[Path]:
    """What every image carried before: kit, platform and every provider's code, as wheels."""
    wheels = [build_wheel(WheelSource.kit(ROOT), tmp, epoch=0),
              build_wheel(WheelSource(ROOT, ("pyproject.toml", "README.md", "sdk/pipeyard"), "pipeyard"), tmp,
                          epoch=0)]
    wheels += [build_wheel(WheelSource.provider(p), tmp, epoch=0) for p in load_providers(ROOT)]
    return wheels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    providers = load_providers(ROOT)
    with engine() as eng:
        for release in sorted({p.base.split(":")[1] for p in providers}):
            bootstrap(eng, release, console=CONSOLE)
        site = load_site(find_site(ROOT), providers)
        results = build_images(eng, BuildRequest(root=ROOT, providers=providers, site=site), console=CONSOLE)
        refs = {r.provider: r.ref for r in results}
        first = Report("tool wrappers: first call in a fresh container (ratio vs the bare tool)")
        for name, (wrapped, real, real_args) in FIRST_CALLS.items():
            w, b = first_call(refs[name], wrapped, real, real_args, args.runs)
            first.add(f"{name}: `{' '.join(wrapped)}` bare ({real})", b)
            first.add(f"{name}: `{' '.join(wrapped)}` through the wrapper", w, baseline=b,
                      goal=f"+{(w - b) * 1000:.0f} ms; goal <= +30 ms")
        first.print()
        own = Report("tool wrappers inside one container, the tool replaced by /bin/true (ratio vs /bin/true)")
        for name, (wrapped, _real, _args) in FIRST_CALLS.items():
            t = inside(refs[name], name, wrapped[0])
            own.add(f"{name}: /bin/true", t["bare"] * 1000, "ms")
            own.add(f"{name}: wrapper, state current (every later call)", t["current"] * 1000, "ms",
                    baseline=t["bare"] * 1000, goal=f"+{(t['current'] - t['bare']) * 1000:.1f} ms")
            own.add(f"{name}: wrapper, first call of a job", t["first"] * 1000, "ms", baseline=t["bare"] * 1000,
                    goal=f"+{(t['first'] - t['bare']) * 1000:.1f} ms; goal <= +30 ms")
            own.add(f"{name}: {name}-configure alone", t["configure"] * 1000, "ms", baseline=t["bare"] * 1000)
        own.print()
        layers = Report("pipeyard's own layer per image (ratio vs the whole SDK every image carried before)")
        with tempfile.TemporaryDirectory() as tmp:
            before_raw, before_packed = installed_layer(whole_sdk_wheels(Path(tmp)), Path(tmp))
        layers.add("before: kit + platform + every provider, raw", before_raw / MB, "MB")
        layers.add("before: kit + platform + every provider, gzip", before_packed / MB, "MB")
        for result in results:
            sizes = layer_sizes(eng.client.images.get(result.ref))
            # The wheels' COPY and their install are the two layers before the rootfs COPY.
            raw = sum(r for r, _ in sizes[-3:-1]) / MB
            packed = sum(p for _, p in sizes[-3:-1]) / MB
            layers.add(f"{result.provider}: kit + own package, raw", raw, "MB", baseline=before_raw / MB)
            layers.add(f"{result.provider}: kit + own package, gzip", packed, "MB", baseline=before_packed / MB)
        layers.print()


if __name__ == "__main__":
    main()
