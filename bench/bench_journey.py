"""The java-app pipeline end to end, ratios against baselines measured in the same run.

1. The whole push pipeline with warm images and a warm cache (gitlab-ci-local, every job in its
   published image: build, test with JaCoCo, Sonar scan and gate, deploy, gitops bump) against the
   same Maven commands run bare: one after the other in one container of the same maven image, with
   the same warm local repository and no pipeline around them. Goal: at most 1.5x.
2. The warm rerun's requests to the Maven mirror (the Nexus group and its Central proxy; deploy
   uploads go to the hosted snapshots repository and are counted apart). Goal: 0.
3. Build plus test as two jobs (maven-build, then maven-test on its artifacts) against one
   `mvn verify` run bare.

The company services are the journeys' stand-ins (tests/journeys); the gate's analysis task is
done at the first poll, so the stand-in's processing time is not what is measured. Needs podman,
the Debian base and the images (`pipeyard build`, cached); run with `make bench` or directly.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Report  # noqa: E402
from rich.console import Console  # noqa: E402

from pipeyard.charts.scaffold import ChartSpec, argocd_files, chart_files  # noqa: E402
from pipeyard.demo import jacoco_plugin  # noqa: E402
from pipeyard.demo.helper_image import ensure_helper_image  # noqa: E402
from pipeyard.demo.maven_repo import PROXY, MavenRepoServer  # noqa: E402
from pipeyard.images.base import bootstrap  # noqa: E402
from pipeyard.images.build import BuildRequest, build_images  # noqa: E402
from pipeyard.images.containers import engine  # noqa: E402
from pipeyard.model.provider import load_providers  # noqa: E402
from pipeyard.model.site import find_site, load_site  # noqa: E402
from tests.journeys.journey_support import (  # noqa: E402
    RECORD_DIR,
    SCANNER,
    published_images,
    record_dir,
    run_pipeline,
    stage,
)
from tests.servers.git_http import GitHttpServer  # noqa: E402
from tests.servers.sonarqube import TOKEN as SONAR_TOKEN  # noqa: E402
from tests.servers.sonarqube import SonarState, SonarStub  # noqa: E402

RUNS = 2
BUILDS = "/builds/acme/java-app"
USER, PASSWORD = "ci-deployer", "Bench-" + secrets.token_hex(6)
GITOPS_TOKEN = "glpat-bench-" + secrets.token_hex(6)
# The pipeline's Maven commands (providers/maven/provider.yaml), as the jobs run them.
BUILD = "mvn clean package -DskipTests"
TEST = ("mvn org.jacoco:jacoco-maven-plugin:{v}:prepare-agent verify org.jacoco:jacoco-maven-plugin:{v}:report")
DEPLOY = "mvn deploy -DskipTests"


def mirror_requests(nexus: MavenRepoServer) -> int:
    return len(nexus.requests_to("maven-public")) + len(nexus.requests_to(PROXY))


def bare(eng, image: str, project: Path, nexus: MavenRepoServer, script: str) -> float:
    """The commands in one container of the maven image, the project mounted where a job has it."""
    cmd = ["podman", "run", "--rm", "--network", "host", "-v", f"{project}:{BUILDS}", "-w", BUILDS,
           "-e", f"CI_PROJECT_DIR={BUILDS}", "-e", f"MAVEN_MIRROR_URL={nexus.group_url}",
           "-e", f"MAVEN_SNAPSHOTS_URL={nexus.snapshots_url}", "-e", f"MAVEN_RELEASES_URL={nexus.releases_url}",
           "-e", f"MAVEN_REPO_USER={USER}", "-e", f"MAVEN_REPO_PASSWORD={PASSWORD}",
           image, "bash", "-ec", script]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **eng.podman_env()})
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"the bare Maven run failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    console = Console(stderr=True, force_terminal=False)
    report = Report("java-app's pipeline in gitlab-ci-local, warm images and cache")
    with engine() as eng, tempfile.TemporaryDirectory(prefix="pipeyard-bench-journey-") as tmp_name:
        tmp = Path(tmp_name)
        bootstrap(eng, "trixie", console=console)
        site = load_site(find_site(ROOT), load_providers(ROOT))
        providers = load_providers(ROOT, ["maven", "sonar", "gitops"])
        built = {r.provider: r.ref for r in build_images(eng, BuildRequest(root=ROOT, providers=providers, site=site),
                                                         console=console)}
        helper = ensure_helper_image(eng, console)
        (tmp / "git").mkdir()
        git = GitHttpServer(tmp / "git", token=GITOPS_TOKEN).start()
        try:
            with published_images(eng, built, tmp) as registry, \
                    MavenRepoServer(tmp / "nexus", user=USER, password=PASSWORD) as nexus, \
                    SonarStub(SonarState(gate_status="OK", task_statuses=["SUCCESS"])) as sonar:
                jacoco = jacoco_plugin.install(nexus.storage)
                url = git.url("config")
                spec = ChartSpec(app="java-app", image="registry.example.com/acme/java-app", repo_url=url)
                git.create_repo("config", {**chart_files(spec), **argocd_files(spec, Path("/nonexistent"))})
                variables = {
                    "MAVEN_REPO_USER": USER, "MAVEN_REPO_PASSWORD": PASSWORD, "MAVEN_MIRROR_URL": nexus.group_url,
                    "MAVEN_SNAPSHOTS_URL": nexus.snapshots_url, "MAVEN_RELEASES_URL": nexus.releases_url,
                    "MAVEN_JACOCO_VERSION": jacoco, "SONAR_HOST_URL": sonar.url, "SONAR_TOKEN": SONAR_TOKEN,
                    "SONAR_SCANNER": f"{BUILDS}/{SCANNER}", "SCANNER_RECORD": f"{RECORD_DIR}/scan.json",
                    "GITOPS_REPO_URL": url, "GITOPS_TOKEN": GITOPS_TOKEN,
                }
                project = stage(tmp, "java-app", "java-app")
                record = record_dir(tmp)

                def pipeline(*jobs: str) -> float:
                    run = run_pipeline(project, registry, helper, record, variables, *jobs)
                    if run.returncode != 0:
                        sys.exit(f"the pipeline failed:\n{run.log[-4000:]}")
                    return run.seconds

                cold = pipeline()  # pulls the images, fills the cache
                warm, rerun_requests, deploy_requests = [], [], []
                for _ in range(RUNS):
                    nexus.clear()
                    warm.append(pipeline())
                    rerun_requests.append(mirror_requests(nexus))
                    deploy_requests.append(len(nexus.requests_to("maven-snapshots")))
                    for r in [*nexus.requests_to("maven-public"), *nexus.requests_to(PROXY)]:
                        print(f"warm rerun fetched {r.method} {r.path} ({r.status})", file=sys.stderr)
                two_jobs = statistics.median(pipeline("maven-build", "maven-test") for _ in range(RUNS))

                # The baselines: the same commands bare, on a copy with its own warm local repository.
                copy = tmp / "bare"
                shutil.copytree(project.path, copy, ignore=shutil.ignore_patterns(".gitlab-ci-local", "target"))
                copy.chmod(0o777)
                for p in copy.rglob("*"):
                    p.chmod(0o777 if p.is_dir() else 0o666)
                image = built["maven"]
                commands = " && ".join([BUILD, TEST.format(v=jacoco), DEPLOY])
                bare(eng, image, copy, nexus, commands)  # warms its local repository
                bare_pipeline = statistics.median(bare(eng, image, copy, nexus, commands) for _ in range(RUNS))
                verify = statistics.median(bare(eng, image, copy, nexus, "mvn verify") for _ in range(RUNS))
        finally:
            git.stop()

    pipe = statistics.median(warm)
    report.add("the pipeline's Maven commands bare (baseline)", bare_pipeline)
    report.add("whole push pipeline, warm (5 jobs)", pipe, baseline=bare_pipeline, goal="<= 1.5x")
    report.add("whole push pipeline, first run (pulls, empty cache)", cold, baseline=bare_pipeline)
    report.add("warm rerun: requests to the Maven mirror", max(rerun_requests), "requests", goal="0")
    report.add("warm rerun: deploy requests to maven-snapshots", max(deploy_requests), "requests")
    report.add("one `mvn verify` bare (baseline)", verify)
    report.add("build + test as two jobs, warm", two_jobs, baseline=verify)
    report.print()


if __name__ == "__main__":
    main()
