"""examples/java-app's push pipeline, whole and for real, in gitlab-ci-local inside the provider images:
build -> test -> Sonar scan and gate -> deploy to Nexus -> the app image built from the jar with no
daemon and pushed to a real registry -> the gitops bump of exactly that digest into a real git server.

The scan uses a recording scanner (SonarQube cannot run here): it records the properties
sonar-scan handed it and leaves the report-task.txt a real scanner leaves, so the gate then
waits on the SonarQube stand-in for real.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from pipeyard.charts.scaffold import ChartSpec, argocd_files, chart_files
from pipeyard.demo.helper_image import container_args
from pipeyard.demo.localci import LocalProject, stage_project
from pipeyard.demo.maven_repo import DEBIAN_REPO, MavenRepoServer
from tests.fixtures import ROOT
from tests.servers.git_http import GitHttpServer
from tests.servers.sonarqube import TOKEN as SONAR_TOKEN
from tests.servers.sonarqube import SonarState, SonarStub

COMPONENT = "gitlab.example.com/platform/pipeyard"
BUILDS = "/builds/acme/java-app"
RECORD_DIR = "/journey"
# Stands in for the scanner inside the sonar image: records what sonar-scan gave it (properties,
# GIT_DEPTH, the history it sees), then writes the report-task.txt a real scanner leaves.
RECORDING_SCANNER = '''#!/opt/pipeyard/bin/python3
import json, os, sys
args = sys.argv[1:]
props = dict(a[2:].split("=", 1) for a in args if a.startswith("-D") and "=" in a)
# A real scanner reads the history with JGit, no git CLI: a shallow clone leaves .git/shallow.
record = {"props": props, "cwd": os.getcwd(), "git_depth": os.environ.get("GIT_DEPTH"),
          "git": os.path.isdir(".git"), "shallow": os.path.exists(".git/shallow"),
          "files": sorted(p for p in props.get("sonar.java.binaries", "").split(",") if os.path.isdir(p)),
          "token": bool(os.environ.get("SONAR_TOKEN"))}
with open(os.environ["SCANNER_RECORD"], "w") as fh:
    json.dump(record, fh)
task = props["sonar.scanner.metadataFilePath"]
os.makedirs(os.path.dirname(task), exist_ok=True)
with open(task, "w") as fh:
    fh.write("projectKey=my_project\\nserverUrl=https://sonar.example.com\\nserverVersion=10.7.0.96327\\n"
             "dashboardUrl=https://sonar.example.com/dashboard?id=my_project\\nceTaskId=AYhSC2-LY0CHkWJxvNA9\\n"
             "ceTaskUrl=https://sonar.example.com/api/ce/task?id=AYhSC2-LY0CHkWJxvNA9\\n")
print("INFO: ANALYSIS SUCCESSFUL (recording scanner)")
'''
MAVEN_USER, MAVEN_PASSWORD = "ci-deployer", "Journey-" + secrets.token_hex(6)
GITOPS_TOKEN = "glpat-journey-" + secrets.token_hex(6)


def _config_repo(server: GitHttpServer, image: str) -> str:
    url = server.url("config")
    spec = ChartSpec(app="java-app", image=image, repo_url=url)
    server.create_repo("config", {**chart_files(spec), **argocd_files(spec, Path("/nonexistent"))})
    return url


def _stage(scratch: Path, name: str, branch: str) -> LocalProject:
    project = stage_project(ROOT / "examples" / "java-app", scratch / name, ROOT / "pipeline-templates", COMPONENT,
                            root=ROOT, branch=branch)
    scanner = {"ci/recording-scanner": RECORDING_SCANNER}
    project.commit(scanner, "the recording scanner the journey's scan job runs")
    (project.path / "ci" / "recording-scanner").chmod(0o755)
    return project


@pytest.mark.images
@pytest.mark.pipelines
@pytest.mark.skipif(not (DEBIAN_REPO / "org/apache/maven/plugins").is_dir(), reason="run `make setup` first")
def test_the_push_pipeline_of_java_app_runs_every_job_in_the_images(journey_images, helper, eng, scratch, tmp_path,
                                                                    app_registry):
    record = tmp_path / "record"
    record.mkdir()
    record.chmod(0o777)  # the jobs run as the images' own user
    git_root = tmp_path / "git"
    git_root.mkdir()
    git = GitHttpServer(git_root, token=GITOPS_TOKEN).start()
    try:
        with MavenRepoServer(tmp_path / "nexus", user=MAVEN_USER, password=MAVEN_PASSWORD) as nexus, \
                SonarStub(SonarState(gate_status="OK")) as sonar:
            app_repo = f"{app_registry.address}/acme/b2i/java-app"
            config_url = _config_repo(git, app_repo)
            project = _stage(scratch, "java-push", "main")
            os.chmod(project.path / "ci" / "recording-scanner", 0o755)
            started = time.monotonic()
            out = project.run(
                *container_args(helper), "--volume", f"{record}:{RECORD_DIR}",
                variables={
                    # Group-level CI/CD variables of a real project: the registry, the mirror's
                    # credentials, the tokens; the stand-ins' addresses replace the site's.
                    "PIPEYARD_REGISTRY": "localhost/pipeyard",
                    "MAVEN_REPO_USER": MAVEN_USER, "MAVEN_REPO_PASSWORD": MAVEN_PASSWORD,
                    "MAVEN_MIRROR_URL": nexus.group_url, "MAVEN_SNAPSHOTS_URL": nexus.snapshots_url,
                    "MAVEN_RELEASES_URL": nexus.releases_url, "MAVEN_JACOCO_VERSION": "none",
                    "SONAR_HOST_URL": sonar.url, "SONAR_TOKEN": SONAR_TOKEN,
                    "SONAR_SCANNER": f"{BUILDS}/ci/recording-scanner", "SCANNER_RECORD": f"{RECORD_DIR}/scan.json",
                    "GITOPS_REPO_URL": config_url, "GITOPS_TOKEN": GITOPS_TOKEN,
                    "B2I_APP_REGISTRY": f"{app_registry.address}/acme",
                    "B2I_BASE_IMAGE": f"{app_registry.address}/pipeyard/b2i-java:21-trixie",
                },
                env=eng.podman_env(), timeout=1800)
            seconds = time.monotonic() - started
            log = out.stdout + out.stderr
            assert out.returncode == 0, log[-6000:]
            for job in ("maven-build", "maven-test", "sonar-scan", "maven-deploy", "b2i-build", "deploy-dev-bump"):
                assert f"PASS  {job}" in log, f"{job} did not pass:\n{log[-4000:]}"
            assert "sendmail-sonar" not in log  # schedules only
            # Artifacts: the jar of the service, and every module's JUnit reports.
            assert (project.path / "app" / "target" / "java-app-1.0.0-SNAPSHOT.jar").is_file()
            for module in ("api", "core", "app"):
                assert list((project.path / module / "target" / "surefire-reports").glob("TEST-*.xml")), module
            # The scan got the build's classes and the tests' reports of every module, and full history.
            scan = json.loads((record / "scan.json").read_text())
            props = scan["props"]
            assert set(props["sonar.java.binaries"].split(",")) == {"api/target/classes", "core/target/classes",
                                                                   "app/target/classes"}
            assert len(scan["files"]) == 3  # the classes were really there, from the build job's artifacts
            assert set(props["sonar.java.test.binaries"].split(",")) == {"api/target/test-classes",
                                                                        "core/target/test-classes",
                                                                        "app/target/test-classes"}
            assert set(props["sonar.junit.reportPaths"].split(",")) == {"api/target/surefire-reports",
                                                                       "core/target/surefire-reports",
                                                                       "app/target/surefire-reports"}
            assert scan["git_depth"] == "0" and scan["token"] and not scan["shallow"]
            # The gate waited on the SonarQube stand-in.
            assert sonar.state.calls("api/ce/task") >= 1 and sonar.state.calls("api/qualitygates/project_status") == 1
            # The jar went to the snapshots repository; the bump pinned the image in dev.
            assert any(p.endswith(".jar") and "java-app/1.0.0-SNAPSHOT" in p for p in nexus.deployed("maven-snapshots"))
            sha = subprocess.run(["git", "rev-parse", "--short=8", "HEAD"], cwd=project.path, capture_output=True,
                                 text=True, check=True).stdout.strip()
            # The app image: the jar and the dependencies copy-dependencies left, in their own layers, pushed
            # by the b2i job; the bump pinned exactly the digest its dotenv report named.
            pinned = git.show("config", "main", "apps/java-app/values-dev.yaml")
            report = dict(line.split("=", 1) for line in (project.path / "b2i.env").read_text().splitlines())
            assert report["B2I_IMAGE"] == f"{app_repo}:{sha}@{report['B2I_DIGEST']}"
            assert sha in pinned and report["B2I_DIGEST"] in pinned
            assert "layer snapshot-dependencies: 2 files" in log and "layer application: 1 file" in log
            assert len(git.log("config")) == 2  # the seed, then the bump: pushed directly, dev is unprotected
            assert MAVEN_PASSWORD not in log and GITOPS_TOKEN not in log
            print(f"java-app push pipeline: {seconds:.0f} s, {len(nexus.requests)} mirror requests")
    finally:
        git.stop()
