"""B2I benchmarks, ratios against a baseline measured in the same run.

1. JVM start to first request of a small app, inside the B2I image: `b2i-launch` with every agent off
   against a plain `java -jar` (goal: at most 1.05x), then the cost of each agent switched on. The
   agents are the test stand-ins (tests/b2i/agents): the numbers show what the launcher and the
   javaagent mechanism cost, not what the real SkyWalking does at start.
2. Build and push of an app image, the daemonless builder against today's engine path (`--engine`:
   a Docker build through Podman's service, then `pipeyard publish`'s push) on the same jars in the
   same run: time and bytes uploaded, for a first build and for a code-only change (goal: at most
   0.3x the engine path's time, and only the changed layer and the config uploaded); and the
   code-only change again on a fresh runner (no local cache, as a CI pod).
3. JVM start to first request with a class-data sharing archive (B2I_CDS=on, the archive written at
   the first exit) against the same start without one.

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
from pipeyard.b2i.app import build_app
from pipeyard.b2i.base import build_base
from pipeyard.images.base import bootstrap
from pipeyard.images.containers import engine
from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.images.progress import BuildBoard, stderr_console
from pipeyard.publish.images import LocalImage, publish_images
from pipeyard_kit.b2i.build import Destination, build
from pipeyard_kit.b2i.request import AppRequest, app_repository, validate
from pipeyard_kit.ocibuild.base import resolve
from pipeyard_kit.ocibuild.cache import LayerCache
from pipeyard_kit.registry import Reference, RegistryClient, Target
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


class Pushes:
    """The two paths to an app image in the registry, timed from the jar to the moved tags."""

    def __init__(self, eng, spec, registry: LocalRegistry, work: Path):
        self.eng, self.spec, self.registry, self.work = eng, spec, registry, work
        self.client = RegistryClient(registry.address, scheme="http")
        self.board = BuildBoard(stderr_console())
        self.base = resolve(self.client, Reference.parse(f"{registry.address}/bench/b2i-java:21-trixie"))

    def engine(self, jar: Path, name: str) -> tuple[float, int, int]:
        """`pipeyard b2i build --engine --push`: build in the engine, export, push."""
        t0 = time.perf_counter()
        result = build_app(self.eng, self.spec, AppRequest(jar=jar, name=name), board=self.board)
        [published] = publish_images(self.eng.client, [LocalImage(f"b2i/{name}", result.ref)],
                                     Target.parse(f"{self.registry.address}/bench-engine"), self.client,
                                     [result.tag, "latest"], cache=LayerCache(self.work / "engine-cache"),
                                     echo=lambda m: None)
        return time.perf_counter() - t0, published.stats.uploaded_bytes, published.stats.uploaded

    def daemonless(self, jar: Path, name: str, cache: Path) -> tuple[float, int, int]:
        """`pipeyard b2i build`: the layers written in Python, pushed over the registry API."""
        t0 = time.perf_counter()
        checked = validate(AppRequest(jar=jar, name=name))
        dest = Destination(self.client, self.registry.address, app_repository("bench", name))
        result = build(checked, base=self.base, base_client=self.client, dest=dest, env={"SOURCE_DATE_EPOCH": "1717243200"},
                       cache=LayerCache(cache), echo=lambda m: None)
        return time.perf_counter() - t0, result.report.uploaded_bytes, len(result.report.uploaded)


def build_and_push(eng, spec, registry: LocalRegistry, work: Path, report: Report) -> None:
    pushes = Pushes(eng, spec, registry, work)
    jars = {}
    for label in ("v1", "v2"):
        classes = standins.compile_all(work / f"push-{label}", label)
        jars[label] = standins.layered_jar(classes, work / f"push-{label}" / "app.jar", dependency_bytes=DEPENDENCIES)
    engine_first = pushes.engine(jars["v1"], "bench-app")
    engine_change = pushes.engine(jars["v2"], "bench-app")
    offset = registry.log_offset()
    daemonless_first = pushes.daemonless(jars["v1"], "bench-app", work / "laptop-cache")
    first_uploads = registry.blob_uploads(offset)
    offset = registry.log_offset()
    daemonless_change = pushes.daemonless(jars["v2"], "bench-app", work / "laptop-cache")
    change_uploads = registry.blob_uploads(offset)
    # A fresh CI pod: no local cache; the app's previous image in the registry names the layers it has.
    pushes.daemonless(jars["v1"], "bench-ci", work / "ci-seed-cache")
    fresh_change = pushes.daemonless(jars["v2"], "bench-ci", work / "fresh-pod-cache")
    mb = 1e6
    report.add("first build+push: engine path (baseline)", engine_first[0], baseline=engine_first[0])
    report.add("first build+push: daemonless", daemonless_first[0], baseline=engine_first[0])
    report.add("first push, bytes uploaded: engine path", engine_first[1] / mb, "MB")
    report.add("first push, bytes uploaded: daemonless (base mounted)", daemonless_first[1] / mb, "MB",
               baseline=engine_first[1] / mb)
    report.add("first push, blobs uploaded (registry log): daemonless", first_uploads, "blobs")
    report.add("code-only change: engine path (baseline)", engine_change[0], baseline=engine_change[0])
    report.add("code-only change: daemonless, warm cache", daemonless_change[0], baseline=engine_change[0],
               goal="<= 0.30x")
    report.add("code-only change: daemonless, fresh runner (no cache)", fresh_change[0], baseline=engine_change[0],
               goal="<= 0.30x")
    report.add("code-only change, bytes uploaded: engine path", engine_change[1] / mb, "MB")
    report.add("code-only change, bytes uploaded: daemonless", daemonless_change[1] / mb, "MB",
               baseline=engine_change[1] / mb, goal="changed layer + config")
    report.add("code-only change, blobs uploaded (registry log): daemonless", change_uploads, "blobs",
               goal="2 (application, config)")
    report.add(f"  (the app's {DEPENDENCIES // 10**6} MB of dependencies: not uploaded again)",
               engine_change[2], "blobs by the engine path")


def cds_start_times(eng, image: str, work: Path, report: Report) -> None:
    """Start to first request with B2I_CDS off, then on (the archive written by a first start, at its exit)."""
    import os

    env = {**os.environ, **eng.podman_env()}
    volume = work / "cds"
    volume.mkdir()
    port = free_port()
    name = f"b2i-bench-cds-{os.getpid()}"
    subprocess.run(["podman", "run", "-d", "--name", name, "--memory", "1g", "-e", f"PORT={port}",
                    "-e", f"B2I_APP_PORT={port}", "-v", f"{volume}:/var/lib/b2i/cds:U", "--entrypoint", "sleep",
                    image, "infinity"], env=env, check=True, capture_output=True)
    variants = {
        "agents off, no CDS (baseline)": ("env", "B2I_METRICS=off", "B2I_CDS=off", "b2i-launch"),
        "agents off, CDS archive mapped": ("env", "B2I_METRICS=off", "B2I_CDS=on", "b2i-launch"),
        "JMX exporter on, no CDS": ("env", "B2I_METRICS=on", "B2I_CDS=off", "b2i-launch"),
        "JMX exporter on, CDS archive mapped": ("env", "B2I_METRICS=on", "B2I_CDS=on", "b2i-launch"),
    }

    def once(cmd: tuple[str, ...]) -> float:
        out = subprocess.run(["podman", "exec", name, "bash", "-c", DRIVER, "driver", str(port), *cmd], env=env,
                             capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1]) / 1e6

    samples: dict[str, list[float]] = {k: [] for k in variants}
    try:
        # The first start of each CDS variant writes its archive when the JVM exits (the driver stops it
        # with SIGTERM, as Kubernetes does); from then on the archive is mapped.
        for label, cmd in variants.items():
            if "CDS archive" in label:
                once(cmd)
        archives = sorted(p.name for p in volume.glob("*.jsa"))
        for _ in range(RUNS + 1):
            for label, cmd in variants.items():
                samples[label].append(once(cmd))
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=env, capture_output=True)
    medians = {k: statistics.median(v[1:]) for k, v in samples.items()}
    for label, value in medians.items():
        base = medians["agents off, no CDS (baseline)"] if label.startswith("agents off") \
            else medians["JMX exporter on, no CDS"]
        report.add(label, value, baseline=base, goal="< 1.00x" if "mapped" in label else "")
    report.add(f"  archives written: {', '.join(a.split('-jdk')[0].rsplit('-', 1)[0] for a in archives) or 'none'}",
               len(archives), "files")


def main() -> None:
    import os

    console = stderr_console()
    with tempfile.TemporaryDirectory(prefix="bench-b2i-") as tmp, engine() as eng:
        work = Path(tmp)
        classes = standins.compile_all(work / "v1")
        mirror = Mirror(work / "mirror")
        agents = standins.build_agents(classes, work / "mirror")
        spec = spec_mod.load(standins.write_spec(ROOT, work / "b2i", mirror.url, agents))
        variant = spec.variant(None)
        bootstrap(eng, variant.release, console=console)
        registry = LocalRegistry(work / "registry", port=free_port()).start()
        try:
            with BuildBoard(console) as board:
                base = build_base(eng, spec, variant, board=board, root=ROOT)
            client = RegistryClient(registry.address, scheme="http")
            publish_images(eng.client, [LocalImage("b2i-java", base.ref)], Target.parse(f"{registry.address}/bench"),
                           client, [variant.name], echo=lambda m: None)
            # The app the start-up benchmarks run: built with no engine, pulled into the store podman runs from.
            jar = standins.fat_jar(classes, work / "hello.jar")
            base_image = resolve(client, Reference.parse(f"{registry.address}/bench/b2i-java:{variant.name}"))
            app = build(validate(AppRequest(jar=jar, name="bench-hello")), base=base_image, base_client=client,
                        dest=Destination(client, registry.address, app_repository("bench", "bench-hello")),
                        env={}, cache=LayerCache(work / "hello-cache"), echo=lambda m: None)
            subprocess.run(["podman", "pull", "--tls-verify=false", app.pinned], check=True, capture_output=True,
                           env={**os.environ, **eng.podman_env()})
            report = Report("B2I: JVM start to first request (median of 7, inside the container)")
            start_times(eng, app.pinned, report)
            report.print()
            report = Report("B2I: build and push of an app image, daemonless against the engine path (same jars, "
                            f"Spring Boot layered, {DEPENDENCIES // 10**6} MB of dependencies)")
            build_and_push(eng, spec, registry, work, report)
            report.print()
            report = Report("B2I: JVM start to first request with a class-data sharing archive (median of 7)")
            cds_start_times(eng, app.pinned, work, report)
            report.print()
        finally:
            registry.stop()


if __name__ == "__main__":
    main()
