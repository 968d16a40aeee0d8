"""Toolchain variants: what each one adds to a registry, what the matrix costs to build, and how fast
each package manager installs the same project.

1. Registry bytes: every variant of maven and npm, pushed one after the other into an empty
   docker-registry; the first variant of each provider is the baseline, each extra one should add
   little more than its tools layer (the base, the Python runtime and pipeyard's layers are shared,
   so the registry already has them).
2. Build time of the whole matrix (maven and npm, every variant) in a fresh image store with an
   empty download cache, only the Debian base copied in (cold), then again with nothing changed
   (warm). `--skip-cold` leaves the cold build out.
3. One project (a real dependency tree: express, lodash, commander and their dependencies, through
   verdaccio proxying the npm registry) installed from its lockfile by npm ci, pnpm install
   --frozen-lockfile, yarn install --immutable (yarn 4) and --frozen-lockfile (yarn 1), in the npm
   image's default variant: cold (empty package cache) and warm (cache kept, node_modules gone).
   Verdaccio is warmed first, so the upstream registry's latency is not measured; npm ci cold is
   the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _report import Report  # noqa: E402
from rich.console import Console  # noqa: E402

from pipeyard.images.base import base_ref, bootstrap
from pipeyard.images.build import BuildRequest, build_images
from pipeyard.images.containers import engine, podman_config
from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.model.provider import load_providers
from pipeyard.model.site import find_site, load_site
from pipeyard.publish import images as pub
from pipeyard.publish.archive import LayerCache
from pipeyard_kit.registry import RegistryClient, Target
from tests.fixtures import free_port  # noqa: E402
from tests.servers.runner import PodmanRunner  # noqa: E402
from tests.servers.verdaccio import Verdaccio  # noqa: E402

MB = 1_000_000
CONSOLE = Console(stderr=True, quiet=True)
NAMES = ["maven", "npm"]
# A small service's dependencies: about a hundred packages, as many a real project has.
DEPENDENCIES = {"express": "4.21.2", "lodash": "4.17.21", "commander": "12.1.0", "debug": "4.3.7",
                "dayjs": "1.11.13", "uuid": "10.0.0", "yargs": "17.7.2", "chalk": "4.1.2"}


def build_matrix(eng) -> list:
    providers = load_providers(ROOT, NAMES)
    site = load_site(find_site(ROOT), load_providers(ROOT))
    return build_images(eng, BuildRequest(root=ROOT, providers=providers, site=site, all_variants=True),
                        console=CONSOLE)


def registry_bytes(eng, results: list, report: Report) -> None:
    """Push each provider's variants in turn into an empty registry of its own: the first variant uploads
    the whole image (the baseline), what the registry lacks for each next one is what that variant adds."""
    for provider in dict.fromkeys(r.provider for r in results):
        with tempfile.TemporaryDirectory(prefix="bench-variants-") as tmp, \
                LocalRegistry(Path(tmp) / "registry", port=free_port()) as reg:
            target = Target.parse(f"{reg.address}/pipeyard")
            client = RegistryClient(reg.address, scheme="http")
            cache = LayerCache(Path(tmp) / "cache")
            base = None
            for r in (r for r in results if r.provider == provider):
                image = pub.LocalImage(r.provider, r.ref, r.variant, (r.ref.rsplit(":", 1)[1],))
                [done] = pub.publish_images(eng.client, [image], target, client, [], cache=cache,
                                            echo=lambda _: None)
                added = done.stats.uploaded_bytes / MB
                goal = ("baseline: the whole image, into an empty registry" if base is None
                        else "only the tools layer and the config are new")
                base = base or added
                report.add(f"{provider} {r.variant}: bytes added to the registry", added, "MB", baseline=base,
                           goal=f"{goal} (image {done.size / MB:.1f} MB, {done.stats.uploaded} blobs new, "
                                f"{done.stats.skipped} already there)")


def matrix(build_report: Report, bytes_report: Report, *, cold: bool) -> None:
    """The whole matrix, built at this commit in one run (every variant then shares pipeyard's layers):
    in a fresh image store and download cache (cold), then again (warm); then pushed, image by image."""
    with engine() as main:
        bootstrap(main, "trixie", console=CONSOLE)
        if not cold:
            results = build_matrix(main)
            registry_bytes(main, results, bytes_report)
            return
        base = main.client.images.get(base_ref("trixie"))
        with tempfile.TemporaryDirectory(prefix="bench-matrix-", dir=main.config.tmp_dir) as tmp:
            root = Path(tmp) / "store"
            saved = os.environ.get("PIPEYARD_CACHE_DIR")
            os.environ["PIPEYARD_CACHE_DIR"] = str(Path(tmp) / "cache")  # no tool tarball downloaded yet
            try:
                with engine(root, env={k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}) as fresh:
                    fresh.client.images.load(b"".join(base.save(named=True)))
                    t0 = time.perf_counter()
                    results = build_matrix(fresh)
                    cold_s = time.perf_counter() - t0
                    t0 = time.perf_counter()
                    build_matrix(fresh)
                    warm_s = time.perf_counter() - t0
                    registry_bytes(fresh, results, bytes_report)
            finally:
                if saved is None:
                    os.environ.pop("PIPEYARD_CACHE_DIR", None)
                else:
                    os.environ["PIPEYARD_CACHE_DIR"] = saved
                subprocess.run(["podman", "system", "reset", "-f"], env={**os.environ, **podman_config(root).env()},
                               capture_output=True, timeout=300)
    build_report.add(f"full matrix cold ({len(results)} images; base copied in, nothing else)", cold_s,
                     baseline=cold_s)
    build_report.add("full matrix warm (nothing changed)", warm_s, baseline=cold_s, goal="only cache hits")
    for r in results:
        build_report.add(f"  cold: {r.provider} {r.variant}", r.seconds, baseline=cold_s)


def install_times(report: Report, runs: int) -> None:
    with engine() as eng:
        bootstrap(eng, "trixie", console=CONSOLE)
        providers = load_providers(ROOT, ["npm"])
        site = load_site(find_site(ROOT), load_providers(ROOT))
        [image] = build_images(eng, BuildRequest(root=ROOT, providers=providers, site=site), console=CONSOLE)
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp, \
            Verdaccio(Path(tmp) / "verdaccio", free_port(), uplink="https://registry.npmjs.org/") as registry:
        token = registry.add_user("bench", "Bench-Pass-1")
        work = Path(tmp) / "work"
        work.mkdir()
        runner = PodmanRunner(image.ref, work)
        package = {"name": "bench-app", "version": "1.0.0", "private": True, "dependencies": DEPENDENCIES}
        env = {"CI": "true", "NPM_REGISTRY_URL": f"{registry.url}/", "NPM_TOKEN": token}
        managers = {  # name -> (NPM_PACKAGE_MANAGER, what the project says, the install that writes its lockfile)
            "npm ci": ("npm", {}, "npm install"),
            "pnpm install --frozen-lockfile": ("pnpm", {}, "pnpm install"),
            # CI makes yarn 4 immutable: creating the lockfile needs it off, once.
            "yarn install --immutable (yarn 4)": ("yarn", {"packageManager": "yarn@4.18.1"},
                                                  "YARN_ENABLE_IMMUTABLE_INSTALLS=false yarn install"),
            "yarn install --frozen-lockfile (yarn 1)": ("yarn", {}, "yarn install"),
        }
        baseline = None
        for label, (manager, extra, lock) in managers.items():
            project = work / manager / label.split()[-1].strip("()").replace(" ", "")
            project.mkdir(parents=True)
            (project / "package.json").write_text(json.dumps({**package, **extra}, indent=2))
            job = {**env, "CI_PROJECT_DIR": str(project), "NPM_PACKAGE_MANAGER": manager}
            # The lockfile, and verdaccio's own copy of every package (not timed).
            made = runner.run(["sh", "-c", f"{lock} && rm -rf node_modules .pnp.cjs .yarn/install-state.gz"],
                              env=job, cwd=project, timeout=1800)
            if made.returncode != 0:
                raise SystemExit(f"{lock} failed: {(made.stdout + made.stderr)[-2000:]}")
            cold, warm = [], []
            for _ in range(runs):
                shutil.rmtree(project / ".npm", ignore_errors=True)
                cold.append(_timed_install(runner, project, job))
                warm.append(_timed_install(runner, project, job))
            cold_s, warm_s = sorted(cold)[len(cold) // 2], sorted(warm)[len(warm) // 2]
            baseline = baseline or cold_s
            report.add(f"{label}: cold cache", cold_s, baseline=baseline, goal=f"median of {runs}")
            report.add(f"{label}: warm cache", warm_s, baseline=baseline, goal=f"median of {runs}")


def _timed_install(runner: PodmanRunner, project: Path, job: dict[str, str]) -> float:
    """One `package-manager install` in a fresh container, with the project's installed files removed."""
    for leftover in ("node_modules", ".pnp.cjs", ".pnp.loader.mjs", ".yarn"):
        path = project / leftover
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    done = runner.run(["package-manager", "install"], env=job, cwd=project, timeout=1800)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"package-manager install failed in {project}: {(done.stdout + done.stderr)[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-cold", action="store_true", help="leave out the cold build of the whole matrix")
    parser.add_argument("--runs", type=int, default=3, help="installs per package manager and cache state")
    parser.add_argument("--only", choices=["registry", "build", "install"], action="append",
                        help="run only these parts (repeatable)")
    args = parser.parse_args()
    parts = set(args.only or ["registry", "build", "install"])
    if parts & {"registry", "build"}:
        build = Report("variants: build time of the full matrix (ratio vs the cold build)")
        sizes = Report("variants: bytes each one adds to a registry (ratio vs the provider's first variant)")
        matrix(build, sizes, cold="build" in parts and not args.skip_cold)
        if build.rows:
            build.print()
        sizes.print()
    if "install" in parts:
        report = Report("package managers: one project's install through verdaccio (ratio vs npm ci, cold)")
        install_times(report, args.runs)
        report.print()


if __name__ == "__main__":
    main()
