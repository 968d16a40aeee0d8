"""pipeyard's own pipeline on this machine: the critical path of a full (tag) pipeline and of a change to
one provider, with the jobs run for real in the mode a Kubernetes runner allows.

Which jobs run comes from gitlab-ci-local on a staged copy of the repository (rules:changes included).
Each job then runs for real, as many at once as there are runner slots (--slots, default: the cores),
each build in its own fresh vfs store (a new pod) seeded with the Debian base:

    check          `pipeyard check` (what `make check` runs once the venv exists)
    build-<p>      the generated job in gitlab-ci-local: `pipeyard build` + `pipeyard release push`
    test-<p>       the generated job's script inside the pushed image (podman, no entrypoint)
    release-images `pipeyard release promote` against the same registry

Reported: the wall time (makespan with the slots), the critical path (the longest chain of needs), and
their ratio against the serial sum of the same jobs, measured in this run. No GitLab, no Harbor: the
registry is the embedded docker-registry. Takes tens of minutes (vfs copies every layer).

    .venv/bin/python bench/bench_selfci.py [--providers npm,maven] [--slots 2] [--only-one]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report  # noqa: E402

from pipeyard.demo.localci import LocalProject, gitlab_ci_local
from pipeyard.images.containers import podman_config
from pipeyard.images.containers.registry_server import LocalRegistry
from pipeyard.model.provider import load_providers
from pipeyard.model.site import load_site
from pipeyard.release.pipeline import render_self_pipeline
from pipeyard_kit import __version__
from tests.fixtures import VENV_BIN, free_port  # noqa: E402
from tests.selfci.conftest import checkout_files, stage_repo, touch  # noqa: E402
from tests.selfci.test_k8s_build import BASE, RunWatcher, _env_for, _pipeyard_on_path  # noqa: E402


@dataclass
class Job:
    name: str
    needs: list[str]
    seconds: float = 0.0
    start: float = 0.0
    end: float = 0.0
    ok: bool = False
    detail: str = ""


@dataclass
class Run:
    title: str
    jobs: dict[str, Job] = field(default_factory=dict)

    @property
    def makespan(self) -> float:
        return max(j.end for j in self.jobs.values()) - min(j.start for j in self.jobs.values())

    @property
    def serial(self) -> float:
        return sum(j.seconds for j in self.jobs.values())

    def critical_path(self) -> tuple[float, list[str]]:
        memo: dict[str, tuple[float, list[str]]] = {}

        def longest(name: str) -> tuple[float, list[str]]:
            if name not in memo:
                job = self.jobs[name]
                before = max((longest(n) for n in job.needs if n in self.jobs), default=(0.0, []))
                memo[name] = (before[0] + job.seconds, [*before[1], name])
            return memo[name]

        return max(longest(n) for n in self.jobs)


class Bench:
    def __init__(self, work: Path, slots: int):
        self.work = work
        self.slots = slots
        self.registry = LocalRegistry(work / "registry", port=free_port()).start()
        self.base_archive = work / "base.tar"
        self.lock = threading.Lock()
        self.pipeline_id = 100
        self._seed_archive()

    def close(self) -> None:
        self.registry.stop()

    def _seed_archive(self) -> None:
        env = _env_for(podman_config().root)
        if subprocess.run(["podman", "image", "exists", BASE], env=env).returncode != 0:
            subprocess.run([str(VENV_BIN / "pipeyard"), "base", "bootstrap"], env=env, check=True)
        subprocess.run(["skopeo", "copy", "--quiet", f"containers-storage:{BASE}", f"oci-archive:{self.base_archive}"],
                       env=env, check=True)

    def pod_store(self, name: str) -> Path:
        """A new pod's store: empty vfs, plus the base (as pulled from the base registry)."""
        root = self.work / "pods" / name / "containers"
        podman_config(root).write()
        subprocess.run(["skopeo", "copy", "--quiet", f"oci-archive:{self.base_archive}", f"containers-storage:{BASE}"],
                       env=_env_for(root, STORAGE_DRIVER="vfs"), check=True)
        return root

    def drop_store(self, root: Path, driver: str = "vfs") -> None:
        subprocess.run(["podman", "system", "reset", "-f"], env=_env_for(root, STORAGE_DRIVER=driver),
                       capture_output=True)
        shutil.rmtree(root.parent, ignore_errors=True)

    # -- the jobs ------------------------------------------------------------------------------
    def run_job(self, name: str, repo: Path, doc: dict) -> tuple[bool, str]:
        if name == "check":
            out = subprocess.run([str(VENV_BIN / "pipeyard"), "check"], cwd=repo, capture_output=True, text=True)
            return out.returncode == 0, (out.stdout + out.stderr).strip()[-200:]
        if name.startswith("build-"):
            return self.build(name, repo)
        if name.startswith("test-"):
            return self.test(name, repo, doc)
        if name == "release-images":
            out = subprocess.run([str(VENV_BIN / "python"), "-m", "pipeyard.cli.main", "release", "promote",
                                  "--registry", f"{self.registry.address}/pipeyard", "--digests",
                                  str(repo / ".pipeyard-ci"), "--version", f"v{__version__}"],
                                 cwd=repo, capture_output=True, text=True)
            return out.returncode == 0, (out.stdout + out.stderr).strip()[-200:]
        return True, "not timed (needs GitLab)"

    def build(self, name: str, repo: Path) -> tuple[bool, str]:
        root = self.pod_store(name)
        env = _env_for(root)
        for var in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF"):
            env.pop(var, None)
        env.update({"PATH": _pipeyard_on_path(self.work / "bin"), "PIPEYARD_CONTAINERS_ROOT": str(root)})
        # Each job runs in its own copy of the checkout, as each pod clones the repository.
        job_dir = self.work / "jobs" / name
        shutil.copytree(repo, job_dir, symlinks=True)
        try:
            out = subprocess.run([str(gitlab_ci_local(ROOT)), name, "--force-shell-executor", "--no-color",
                                  "--variable", f"PIPEYARD_REGISTRY={self.registry.address}/pipeyard",
                                  "--variable", f"CI_PIPELINE_ID={self.pipeline_id}",
                                  "--ignore-predefined-vars", "CI_PIPELINE_ID"],
                                 cwd=job_dir, env=env, capture_output=True, text=True)
            record = job_dir / ".pipeyard-ci" / f"{name.removeprefix('build-')}.json"
            if out.returncode == 0 and record.is_file():
                (repo / ".pipeyard-ci").mkdir(exist_ok=True)
                shutil.copy(record, repo / ".pipeyard-ci" / record.name)
            return out.returncode == 0, (out.stdout + out.stderr).strip()[-300:]
        finally:
            self.drop_store(root)
            shutil.rmtree(job_dir, ignore_errors=True)

    def test(self, name: str, repo: Path, doc: dict) -> tuple[bool, str]:
        provider = name.removeprefix("test-")
        record = json.loads((repo / ".pipeyard-ci" / f"{provider}.json").read_text())
        image = f"{self.registry.address}/{record['repository']}:{record['tag']}"
        root = self.work / "pods" / name / "containers"
        podman_config(root).write()
        conf = root / "conf" / "registries-test.conf"
        conf.write_text(f'unqualified-search-registries = []\n[[registry]]\nlocation = "{self.registry.address}"\n'
                        "insecure = true\n")
        # The node's container runtime pulls and runs the image (overlayfs), not the job's vfs store.
        env = _env_for(root, CONTAINERS_REGISTRIES_CONF=str(conf))
        try:
            script = "set -e\n" + "\n".join(doc[name]["script"]) + "\n"
            out = subprocess.run(["podman", "run", "--rm", "--network", "host", "--entrypoint", "",
                                  "-v", f"{repo}:/builds/pipeyard:ro", "-w", "/builds/pipeyard",
                                  "-e", f"PIPEYARD_REGISTRY={self.registry.address}/pipeyard",
                                  "-e", f"CI_PIPELINE_ID={self.pipeline_id}", image, "sh", "-c", script],
                                 env=env, capture_output=True, text=True)
            return out.returncode == 0, (out.stdout + out.stderr).strip()[-300:]
        finally:
            self.drop_store(root, "overlay")

    # -- scheduling ----------------------------------------------------------------------------
    def execute(self, title: str, repo: Path, names: list[str]) -> Run:
        doc = yaml.safe_load((repo / ".gitlab-ci.yml").read_text())
        run = Run(title)
        for n in names:
            needs = [x if isinstance(x, str) else x["job"] for x in doc[n].get("needs", [])]
            run.jobs[n] = Job(n, [x for x in needs if x in names])
        done: set[str] = set()
        running: dict = {}
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.slots) as pool:
            while len(done) < len(run.jobs):
                ready = [j for j in run.jobs.values() if j.name not in done and j.name not in running.values()
                         and all(n in done for n in j.needs)]
                # Builds first: they are the long jobs every other one waits for.
                ready.sort(key=lambda j: (not j.name.startswith("build-"), j.name))
                while ready and len(running) < self.slots:
                    job = ready.pop(0)
                    job.start = time.monotonic() - t0
                    running[pool.submit(self.run_job, job.name, repo, doc)] = job.name
                    print(f"  {job.start:7.1f} s  start {job.name}", flush=True)
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    job = run.jobs[running.pop(fut)]
                    job.end = time.monotonic() - t0
                    job.seconds = job.end - job.start
                    job.ok, job.detail = fut.result()
                    done.add(job.name)
                    print(f"  {job.end:7.1f} s  {'done' if job.ok else 'FAILED'} {job.name} "
                          f"({job.seconds:.1f} s){'' if job.ok else ': ' + job.detail}", flush=True)
                    if not job.ok:
                        # Jobs that need a failed one do not run, as in GitLab.
                        for other in run.jobs.values():
                            if job.name in other.needs and other.name not in done:
                                other.ok, other.detail = False, f"skipped: {job.name} failed"
                                done.add(other.name)
                                other.start = other.end = job.end
        return run


def report(runs: list[Run], slots: int, runtimes: set[str]) -> None:
    isolation = {"buildah-chroot-runtime": "chroot", "buildah-oci-runtime": "OCI/runc"}
    seen = ", ".join(sorted(isolation.get(r, r) for r in runtimes)) or "none seen"
    rep = Report(f"selfci: pipeyard's own pipeline on this machine ({slots} runner slots; vfs stores; "
                 f"RUN steps isolated by: {seen})")
    for run in runs:
        length, path = run.critical_path()
        rep.add(f"{run.title}: serial sum of {len(run.jobs)} jobs (baseline)", run.serial)
        rep.add(f"{run.title}: wall time with {slots} slots", run.makespan, baseline=run.serial)
        rep.add(f"{run.title}: critical path {' -> '.join(path)}", length, baseline=run.serial)
        for job in sorted(run.jobs.values(), key=lambda j: j.start):
            rep.add(f"  {run.title}: {job.name}{'' if job.ok else ' (FAILED)'}", job.seconds)
    rep.print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--providers", help="comma-separated providers of the full pipeline (default: all)")
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only-one", action="store_true", help="measure only the one-provider change")
    args = parser.parse_args()
    providers = load_providers(ROOT)
    site = load_site(ROOT / "pipeyard.site.yaml", providers)
    pipeline = render_self_pipeline(providers, site)
    chosen = args.providers.split(",") if args.providers else [p.name for p in providers]
    with tempfile.TemporaryDirectory(prefix="bench-selfci-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        bench = Bench(work, args.slots)
        runs = []
        watcher = RunWatcher(work / "pods")
        watcher.start()
        try:
            one = stage_repo(work / "one", pipeline, checkout_files())
            touch(one, "providers/npm/README.md", branch="feature/npm")
            jobs = LocalProject(one, gitlab_ci_local(ROOT)).jobs()
            print(f"one provider changed (providers/npm/ only): gitlab-ci-local plans {jobs}", flush=True)
            runs.append(bench.execute("npm only", one, jobs))
            if not args.only_one:
                full = stage_repo(work / "full", pipeline, checkout_files())
                tag = {"CI_COMMIT_TAG": f"v{__version__}", "CI_COMMIT_BRANCH": ""}
                planned = LocalProject(full, gitlab_ci_local(ROOT)).jobs(tag)
                jobs = [j for j in planned if j in ("check", "release-images")
                        or j.removeprefix("build-").removeprefix("test-") in chosen]
                print(f"full tag pipeline: gitlab-ci-local plans {planned}; running {jobs}", flush=True)
                runs.append(bench.execute("full (tag)", full, jobs))
        finally:
            watcher.done.set()
            watcher.join()
            bench.close()
        report(runs, args.slots, watcher.seen)


if __name__ == "__main__":
    main()
