"""Provider images: rebuild cost and pipeyard's own size in each image.

1. Build time: a first build in a fresh image store (the baseline; only the Debian base is
   copied in), then a rebuild with nothing changed, then a rebuild after a one-line change in
   the provider's rootfs. Default providers: sendmail and maven (`--cold NAME...` to choose).
2. Sizes, for every provider image in the usual store: the Debian base, the Python runtime
   stage pipeyard's CLIs need (shared by every image), the tool layer, the extras' Python
   packages, and pipeyard's own layers (site, wheel, rootfs). Goal: pipeyard's overhead under
   40 MB per image; the Python runtime is listed on its own line because every image shares it.
   Sizes are uncompressed, as the engine reports them, and gzip-compressed, as a registry
   stores them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
from rich.console import Console  # noqa: E402

from pipeyard.images.base import base_ref, bootstrap
from pipeyard.images.build import BuildRequest, build_images
from pipeyard.images.containers import engine, podman_config
from pipeyard.model.provider import load_providers
from pipeyard.model.site import find_site, load_site
from tests.images.image_scan import _IterReader  # noqa: E402

MB = 1_000_000
CONSOLE = Console(stderr=True, quiet=True)


def timed_build(eng, request: BuildRequest) -> tuple[float, list]:
    t0 = time.perf_counter()
    results = build_images(eng, request, console=CONSOLE)
    return time.perf_counter() - t0, results


def build_times(names: list[str], report: Report) -> None:
    providers = load_providers(ROOT, names)
    releases = sorted({p.base.split(":")[1] for p in providers})
    with engine() as main:
        for release in releases:
            bootstrap(main, release, console=CONSOLE)
        bases = [main.client.images.get(base_ref(r)) for r in releases]
        with tempfile.TemporaryDirectory(prefix="bench-images-", dir=main.config.tmp_dir) as tmp:
            root = Path(tmp) / "store"
            try:
                with engine(root, env={k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}) as fresh:
                    for base in bases:
                        fresh.client.images.load(b"".join(base.save(named=True)))
                    # A copy of the checkout's providers, so the one-line change touches nothing real.
                    work = Path(tmp) / "checkout"
                    shutil.copytree(ROOT / "providers", work / "providers")
                    for f in ("pyproject.toml", "README.md", "LICENSE"):
                        if (ROOT / f).exists():
                            shutil.copy2(ROOT / f, work / f)
                    shutil.copytree(ROOT / "sdk", work / "sdk", ignore=shutil.ignore_patterns("__pycache__"))
                    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
                    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
                           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
                    subprocess.run(["git", "add", "-A"], cwd=work, check=True, env=env)
                    subprocess.run(["git", "commit", "-qm", "bench"], cwd=work, check=True, env=env)
                    request = BuildRequest(root=work, providers=load_providers(work, names), site=load_site(None))
                    cold, _ = timed_build(fresh, request)
                    warm, _ = timed_build(fresh, request)
                    for p in request.providers:
                        marker = p.path / "rootfs" / "etc" / "pipeyard-bench"
                        marker.parent.mkdir(parents=True, exist_ok=True)
                        marker.write_text("one line changed\n")
                    changed, _ = timed_build(fresh, request)
            finally:
                subprocess.run(["podman", "system", "reset", "-f"], env={**os.environ, **podman_config(root).env()},
                               capture_output=True, timeout=300)
    what = ", ".join(names)
    report.add(f"first build, fresh store ({what})", cold, baseline=cold)
    report.add(f"rebuild, nothing changed ({what})", warm, baseline=cold, goal="only cache hits")
    report.add(f"rebuild, one rootfs line changed ({what})", changed, baseline=cold, goal="last layers only")


def layer_sizes(image) -> list[tuple[int, int]]:
    """(tar bytes, gzip -6 bytes) of every layer in RootFS order, from the engine's docker-archive export."""
    sizes: dict[str, tuple[int, int]] = {}
    manifest = None
    with tarfile.open(fileobj=_IterReader(iter(image.save(named=True))), mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            f = tar.extractfile(member)
            if member.name == "manifest.json":
                manifest = json.loads(f.read())
            elif member.name.endswith(".tar"):
                z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
                packed = 0
                while chunk := f.read(1 << 20):
                    packed += len(z.compress(chunk))
                sizes[member.name] = (member.size, packed + len(z.flush()))
    return [sizes.get(layer, (0, 0)) for layer in manifest[0]["Layers"]]


def stage_layer_counts(provider) -> dict[str, int]:
    """How many layers the runtime and tool stages end with: where the image's parts begin. Counted
    from the generated Dockerfile (every RUN, COPY and ADD makes a layer, the Debian base is one)."""
    import re

    text = re.sub(r"\\\n", " ", (provider.path / provider.default_variant.dockerfile).read_text())
    counts, layers, stage = {}, 0, None
    for line in (ln.strip() for ln in text.splitlines()):
        if line.startswith("FROM "):
            stage = line.split()[-1] if " AS " in line else "final"
            layers = 1 if stage == "runtime" else (counts["runtime"] if stage == "tool" else layers)
        elif stage in ("runtime", "tool") and line.split(" ", 1)[0] in ("RUN", "COPY", "ADD"):
            layers += 1
        if stage in ("runtime", "tool"):
            counts[stage] = layers
    return counts


def stage_sizes(eng, provider, ref: str) -> dict[str, tuple[float, float]]:
    """(uncompressed MB, compressed MB) of each part of the image."""
    counts = stage_layer_counts(provider)
    layers = layer_sizes(eng.client.images.get(ref))
    n_runtime, n_tool = counts["runtime"], counts["tool"]

    def part(lo: int, hi: int) -> tuple[float, float]:
        return sum(r for r, _ in layers[lo:hi]) / MB, sum(p for _, p in layers[lo:hi]) / MB

    # The final stage starts FROM tool with COPY --from=pipeyard (the extras), then site, code and rootfs.
    return {
        "total": part(0, len(layers)),
        "base": part(0, 1),
        "python runtime": part(1, n_runtime),
        "tool": part(n_runtime, n_tool),
        "extras": part(n_tool, n_tool + 1),
        "pipeyard own": part(n_tool + 1, len(layers)),
    }


def sizes(report: Report) -> None:
    providers = load_providers(ROOT)
    with engine() as eng:
        for release in sorted({p.base.split(":")[1] for p in providers}):
            bootstrap(eng, release, console=CONSOLE)
        site = load_site(find_site(ROOT), providers)
        results = build_images(eng, BuildRequest(root=ROOT, providers=providers, site=site), console=CONSOLE)
        for provider, result in zip(providers, results):
            parts = stage_sizes(eng, provider, result.ref)
            tool = parts["tool"][0] or None
            for name in ("total", "base", "python runtime", "tool", "extras", "pipeyard own"):
                raw, packed = parts[name]
                note = "shared by every image; " if name == "python runtime" else ""
                report.add(f"{provider.name}: {name}", raw, "MB", baseline=tool, goal=f"{note}{packed:.1f} MB gzip")
            raw = parts["python runtime"][0] + parts["pipeyard own"][0]
            packed = parts["python runtime"][1] + parts["pipeyard own"][1]
            verdict = "met" if raw < 40 else ("met compressed" if packed < 40 else "NOT met")
            report.add(f"{provider.name}: overhead (runtime + own)", raw, "MB", baseline=tool,
                       goal=f"< 40 MB: {verdict} ({packed:.1f} MB gzip)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", nargs="*", default=["sendmail", "maven"], help="providers for the build times")
    parser.add_argument("--skip-times", action="store_true", help="only the sizes")
    args = parser.parse_args()
    if not args.skip_times:
        times = Report("provider images: build time (ratio vs the first build)")
        build_times(args.cold, times)
        times.print()
    size_report = Report("provider images: size by part (ratio vs the tool layer)")
    sizes(size_report)
    size_report.print()


if __name__ == "__main__":
    main()
