"""B2I benchmarks, ratios against a baseline measured in the same run.

1. JVM start to first request of a small app, inside the B2I image: `b2i-launch` with every agent off
   against a plain `java -jar` (goal: at most 1.05x), then the cost of each agent switched on. The
   agents are the test stand-ins (tests/b2i/agents): the numbers show what the launcher and the
   javaagent mechanism cost, not what the real SkyWalking does at start.
2. Rebuilding an app image for a new jar: bytes pushed against the full image, for a Spring Boot
   layered jar and for a plain fat jar; and the time of a rebuild with the same jar.

Needs podman and the Debian base (`pipeyard base bootstrap`); run with `make bench` or directly.
"""

from __future__ import annotations

import functools
import http.server
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Report  # noqa: E402

from pipeyard.b2i import spec as spec_mod
from pipeyard.b2i.app import AppRequest, build_app
from pipeyard.b2i.base import build_base
from pipeyard.images.base import bootstrap
from pipeyard.images.containers import engine
from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.images.progress import BuildBoard, stderr_console
from pipeyard.publish.archive import LayerCache
from pipeyard.publish.images import LocalImage, publish_images
from pipeyard_kit.registry import RegistryClient, Target
from tests.b2i import standins  # noqa: E402
from tests.fixtures import free_port  # noqa: E402

RUNS = 7
# The apps' dependencies weigh this much, so the layers a new jar does not change are visible.
DEPENDENCIES = 8_000_000
# Starts the command in the background, polls the port with bash's /dev/tcp, sends one request and
# prints the microseconds from start to the answer. Runs inside the container, so podman's own
# start-up is not part of what is measured.
DRIVER = r"""
port=$1; shift
t0=$(date +%s%N)
"$@" >/dev/null 2>&1 &
pid=$!
until exec 3<>/dev/tcp/127.0.0.1/$port; do sleep 0.002; done 2>/dev/null
printf 'GET / HTTP/1.0\r\n\r\n' >&3
cat <&3 >/dev/null
t1=$(date +%s%N)
exec 3<&-
kill $pid; wait $pid 2>/dev/null
echo $(( (t1 - t0) / 1000 ))
"""


class Mirror:
    def __init__(self, root: Path):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a: None  # type: ignore[method-assign]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def start_times(eng, image: str, report: Report) -> None:
    env = eng.podman_env()
    import os

    variants = {
        "plain java -jar (baseline)": ("java", "-jar", "/app/app.jar"),
        "b2i-launch, agents off": ("env", "B2I_METRICS=off", "b2i-launch"),
        "b2i-launch + JMX exporter": ("env", "B2I_METRICS=on", "b2i-launch"),
        "b2i-launch + SkyWalking (stand-in)": ("env", "B2I_METRICS=off", "B2I_TRACING=on",
                                               "SW_AGENT_COLLECTOR_BACKEND_SERVICES=oap:11800", "b2i-launch"),
        "b2i-launch + both agents": ("env", "B2I_TRACING=on", "SW_AGENT_COLLECTOR_BACKEND_SERVICES=oap:11800",
                                     "b2i-launch"),
    }
    port, metrics = free_port(), free_port()
    name = f"b2i-bench-{os.getpid()}"
    subprocess.run(["podman", "run", "-d", "--name", name, "--memory", "1g", "-e", f"PORT={port}",
                    "-e", f"B2I_APP_PORT={port}", "-e", f"B2I_METRICS_PORT={metrics}", "--entrypoint", "sleep",
                    image, "infinity"], env={**os.environ, **env}, check=True, capture_output=True)
    samples: dict[str, list[float]] = {k: [] for k in variants}
    try:
        for _ in range(RUNS + 1):  # the first round warms the page cache and is dropped
            for label, cmd in variants.items():
                out = subprocess.run(["podman", "exec", name, "bash", "-c", DRIVER, "driver", str(port), *cmd],
                                     env={**os.environ, **env}, capture_output=True, text=True, check=True)
                samples[label].append(int(out.stdout.split()[-1]) / 1e6)
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], env={**os.environ, **env}, capture_output=True)
    medians = {k: statistics.median(v[1:]) for k, v in samples.items()}
    baseline = medians["plain java -jar (baseline)"]
    for label, value in medians.items():
        goal = "<= 1.05x" if label == "b2i-launch, agents off" else ""
        report.add(label, value, baseline=baseline, goal=goal)


def rebuild_pushes(eng, spec, work: Path, report: Report) -> None:
    registry = LocalRegistry(work / "registry", port=free_port()).start()
    try:
        target = Target.parse(f"{registry.address}/bench")
        board = BuildBoard(stderr_console())
        for layout in ("layered", "fat"):
            pushed = []
            for label in ("v1", "v2"):
                classes = standins.compile_all(work / f"{layout}-{label}", label)
                make = standins.layered_jar if layout == "layered" else standins.fat_jar
                jar = make(classes, work / f"{layout}-{label}" / "app.jar", dependency_bytes=DEPENDENCIES)
                t0 = time.perf_counter()
                result = build_app(eng, spec, AppRequest(jar=jar, name=f"bench-{layout}"), board=board)
                built = time.perf_counter() - t0
                client = RegistryClient(target.host, scheme=target.scheme)
                [published] = publish_images(eng.client, [LocalImage(f"b2i/bench-{layout}", result.ref)], target,
                                             client, [result.tag, "latest"], cache=LayerCache(),
                                             echo=lambda m: None)
                pushed.append(published)
            t0 = time.perf_counter()
            build_app(eng, spec, AppRequest(jar=jar, name=f"bench-{layout}"), board=board)
            noop = time.perf_counter() - t0
            full, again = pushed
            report.add(f"{layout} jar: full image ({DEPENDENCIES // 10**6} MB of dependencies)", full.size / 1e6, "MB")
            report.add(f"{layout} jar: pushed for a new jar", again.stats.uploaded_bytes / 1e6, "MB",
                       baseline=full.size / 1e6, goal="app layers only")
            report.add(f"{layout} jar: blobs uploaded for a new jar", again.stats.uploaded, "blobs")
            report.add(f"{layout} jar: rebuild, same jar", noop, baseline=built, goal="no-op")
    finally:
        registry.stop()


def main() -> None:
    console = stderr_console()
    with tempfile.TemporaryDirectory(prefix="bench-b2i-") as tmp, engine() as eng:
        work = Path(tmp)
        classes = standins.compile_all(work / "v1")
        mirror = Mirror(work / "mirror")
        agents = standins.build_agents(classes, work / "mirror")
        spec = spec_mod.load(standins.write_spec(ROOT, work / "b2i", mirror.url, agents))
        variant = spec.variant(None)
        bootstrap(eng, variant.release, console=console)
        with BuildBoard(console) as board:
            build_base(eng, spec, variant, board=board, root=ROOT)
            app = build_app(eng, spec, AppRequest(jar=standins.fat_jar(classes, work / "hello.jar"),
                                                  name="bench-hello"), board=board)
        report = Report("B2I: JVM start to first request (median of 7, inside the container)")
        start_times(eng, app.ref, report)
        report.print()
        report = Report("B2I: app image rebuild for a new jar (embedded registry)")
        rebuild_pushes(eng, spec, work, report)
        report.print()


if __name__ == "__main__":
    main()
