"""examples/java-app's pipelines, whole and for real, in gitlab-ci-local inside the published images.

- push to the default branch: build -> test (JUnit and JaCoCo of every module) -> Sonar scan and
  gate -> deploy to Nexus -> the gitops bump into a real git server;
- merge request: the same build, test and scan, in one pipeline only;
- tag: the release build deployed to the Nexus releases repository, and prod's bump as a merge
  request in the config repository;
- schedule: only the Sonar report mail, delivered to a real SMTP server.

JaCoCo is switched on by the provider through the mirror, with no pom edit: the stand-in Nexus
serves a stand-in of jacoco-maven-plugin (pipeyard.demo.jacoco_plugin) on Debian's JaCoCo, under
the version a site would name in MAVEN_JACOCO_VERSION. The scan uses the recording scanner
(SonarQube cannot run here): the tests read the properties it received, and the gate then waits
on the SonarQube stand-in for real. Until the B2I issue builds the app image in the pipeline, the
"image" the bump pins is the tag that build will push, and the jar is the artifact.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeyard.charts.scaffold import ChartSpec, argocd_files, chart_files
from pipeyard.demo import jacoco_plugin
from pipeyard.demo.maven_repo import DEBIAN_REPO, MavenRepoServer
from tests.journeys.journey_support import (
    RECORD_DIR,
    SCANNER,
    Inbox,
    Run,
    creates,
    git,
    gitlab_mr_api,
    merged,
    read_json,
    record_dir,
    run_pipeline,
    stage,
)
from tests.servers.git_http import GitHttpServer
from tests.servers.sonarqube import TOKEN as SONAR_TOKEN
from tests.servers.sonarqube import SonarState, SonarStub

BUILDS = "/builds/acme/java-app"
MODULES = ("api", "core", "app")
MAVEN_USER, MAVEN_PASSWORD = "ci-deployer", "Journey-" + secrets.token_hex(6)
GITOPS_TOKEN = "glpat-journey-" + secrets.token_hex(6)
SONAR_KEY = "com.example:java-app"  # the example's sendmail sonar-project-id

pytestmark = [pytest.mark.images, pytest.mark.pipelines,
              pytest.mark.skipif(not (DEBIAN_REPO / "org/apache/maven/plugins").is_dir(), reason="run `make setup`"),
              pytest.mark.skipif(jacoco_plugin.jacoco_version() is None, reason="run `make setup` (libjacoco-java)")]


@dataclass
class World:
    """The company services one java-app pipeline talks to."""
    nexus: MavenRepoServer
    sonar: SonarStub
    git: GitHttpServer
    config_url: str
    jacoco: str
    record: Path

    def variables(self, **extra: str) -> dict[str, str]:
        # Group-level CI/CD variables of a real project: the mirror's credentials, the tokens; the
        # stand-ins' addresses replace the site's, and the JaCoCo version is the one this Nexus has.
        return {
            "MAVEN_REPO_USER": MAVEN_USER, "MAVEN_REPO_PASSWORD": MAVEN_PASSWORD,
            "MAVEN_MIRROR_URL": self.nexus.group_url, "MAVEN_SNAPSHOTS_URL": self.nexus.snapshots_url,
            "MAVEN_RELEASES_URL": self.nexus.releases_url, "MAVEN_JACOCO_VERSION": self.jacoco,
            "SONAR_HOST_URL": self.sonar.url, "SONAR_TOKEN": SONAR_TOKEN,
            "SONAR_SCANNER": f"{BUILDS}/{SCANNER}", "SCANNER_RECORD": f"{RECORD_DIR}/scan.json",
            "GITOPS_REPO_URL": self.config_url, "GITOPS_TOKEN": GITOPS_TOKEN,
            **extra,
        }


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    git_root = tmp_path / "git"
    git_root.mkdir()
    git = GitHttpServer(git_root, token=GITOPS_TOKEN).start()
    try:
        with MavenRepoServer(tmp_path / "nexus", user=MAVEN_USER, password=MAVEN_PASSWORD) as nexus, \
                SonarStub(SonarState(gate_status="OK", project=SONAR_KEY, project_name="java-app")) as sonar:
            jacoco = jacoco_plugin.install(nexus.storage)
            url = git.url("config")
            spec = ChartSpec(app="java-app", image="registry.example.com/acme/java-app", repo_url=url)
            git.create_repo("config", {**chart_files(spec), **argocd_files(spec, Path("/nonexistent"))})
            yield World(nexus, sonar, git, url, jacoco, record_dir(tmp_path))
    finally:
        git.stop()


def _assert_built_tested_and_scanned(run: Run, project, world: World) -> dict:
    """What every pipeline that builds hands over: jars, JUnit and JaCoCo of every module, the scan's inputs."""
    run.assert_passed("maven-build", "maven-test", "sonar-scan")
    assert list((project.path / "app" / "target").glob("java-app-*.jar"))
    for module in MODULES:
        target = project.path / module / "target"
        assert list((target / "surefire-reports").glob("TEST-*.xml")), module
        report = ET.parse(target / "site" / "jacoco" / "jacoco.xml").getroot()
        covered = {c.get("type"): int(c.get("covered")) for c in report.findall("counter")}
        assert covered["LINE"] > 0, f"{module}: JaCoCo saw no line run"
    assert "Total coverage: " in run.log  # the line GitLab's coverage regex reads
    # Maven 3.9 names the plugin by its prefix: "--- jacoco:0.8.6:report (default-cli)".
    assert f"jacoco:{world.jacoco}:report (default-cli)" in run.log
    scan = read_json(world.record / "scan.json")
    props = scan["props"]
    assert set(props["sonar.java.binaries"].split(",")) == {f"{m}/target/classes" for m in MODULES}
    assert len(scan["files"]) == 3  # the classes were really there, from the build job's artifacts
    assert set(props["sonar.java.test.binaries"].split(",")) == {f"{m}/target/test-classes" for m in MODULES}
    assert set(props["sonar.junit.reportPaths"].split(",")) == {f"{m}/target/surefire-reports" for m in MODULES}
    assert set(props["sonar.coverage.jacoco.xmlReportPaths"].split(",")) == \
        {f"{m}/target/site/jacoco/jacoco.xml" for m in MODULES}
    assert scan["git_depth"] == "0" and scan["token"] and not scan["shallow"]
    # The gate waited on the SonarQube stand-in.
    assert world.sonar.state.calls("api/ce/task") >= 1
    assert world.sonar.state.calls("api/qualitygates/project_status") == 1
    assert MAVEN_PASSWORD not in run.log and GITOPS_TOKEN not in run.log
    return props


def test_the_push_pipeline_runs_every_job_in_the_published_images(journey_registry, helper, scratch, world):
    project = stage(scratch, "java-app", "java-push")
    run = run_pipeline(project, journey_registry, helper, world.record, world.variables())
    _assert_built_tested_and_scanned(run, project, world)
    run.assert_passed("maven-deploy", "deploy-dev-bump")
    assert "sendmail-sonar" not in run.jobs and "deploy-prod-bump" not in run.jobs
    # The jar went to the snapshots repository; the bump pinned the image in dev.
    assert any(p.endswith(".jar") and "java-app/1.0.0-SNAPSHOT" in p for p in world.nexus.deployed("maven-snapshots"))
    sha = git(project, "rev-parse", "--short=8", "HEAD")
    assert sha in world.git.show("config", "main", "apps/java-app/values-dev.yaml")
    assert len(world.git.log("config")) == 2  # the seed, then the bump: pushed directly, dev is unprotected
    # Every image came from the registry, pulled as a runner pulls it.
    for name in ("maven", "sonar", "gitops"):
        assert journey_registry.ref(name) in run.log
    print(f"java-app push pipeline: {run.seconds:.0f} s, {len(world.nexus.requests)} mirror requests")


@pytest.mark.journey_matrix
def test_a_merge_request_runs_build_test_and_scan_once(journey_registry, helper, scratch, world):
    project = stage(scratch, "java-app", "java-mr", branch="feature/greeting")
    project.pushed()
    project.commit({"core/src/main/java/com/example/greeting/core/Punctuation.java":
                    "package com.example.greeting.core;\n\nfinal class Punctuation {\n"
                    "    static String exclaim(String s) { return s + \"!\"; }\n}\n"}, "a change under review")
    branch = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature/greeting", "CI_DEFAULT_BRANCH": "main",
              "CI_COMMIT_REF_NAME": "feature/greeting", "CI_OPEN_MERGE_REQUESTS": "acme/java-app!7"}
    mr = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7", "CI_DEFAULT_BRANCH": "main",
          "CI_COMMIT_REF_NAME": "feature/greeting", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/greeting",
          "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_COMMIT_BRANCH": ""}
    # The push to a branch with an open merge request makes no pipeline; the merge request one does.
    assert not creates(project, branch) and creates(project, mr)
    run = run_pipeline(project, journey_registry, helper, world.record, world.variables(**mr))
    props = _assert_built_tested_and_scanned(run, project, world)
    assert run.jobs == {"maven-build", "maven-test", "sonar-scan"}
    assert sum(1 for line in run.log.splitlines() if line.lstrip().startswith("PASS  maven-build")) == 1
    assert props["sonar.pullrequest.key"] == "7"
    assert props["sonar.pullrequest.branch"] == "feature/greeting" and props["sonar.pullrequest.base"] == "main"
    assert world.nexus.deployed("maven-snapshots") == [] and len(world.git.log("config")) == 1


@pytest.mark.journey_matrix
def test_a_tag_deploys_the_release_and_asks_for_prod(journey_registry, helper, scratch, world):
    project = stage(scratch, "java-app", "java-tag")
    # The release commit, as maven-release-plugin makes it: every pom at the release version, tagged.
    poms = {str(p.relative_to(project.path)): p.read_text().replace("1.0.0-SNAPSHOT", "1.0.0")
            for p in project.path.rglob("pom.xml")}
    project.commit(poms, "[release] java-app 1.0.0")
    git(project, "tag", "v1.0.0")
    tag = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0.0", "CI_COMMIT_REF_NAME": "v1.0.0",
           "CI_COMMIT_BRANCH": "", "CI_DEFAULT_BRANCH": "main"}
    assert creates(project, tag)
    api = gitlab_mr_api(token=GITOPS_TOKEN, project_path="config").start()
    try:
        run = run_pipeline(project, journey_registry, helper, world.record,
                           world.variables(**tag, GITOPS_GITLAB_URL=api.url, GITOPS_PROJECT="config"))
        props = _assert_built_tested_and_scanned(run, project, world)
        run.assert_passed("maven-deploy", "deploy-prod-bump")
        assert "deploy-dev-bump" not in run.jobs and "sendmail-sonar" not in run.jobs
        assert props["sonar.projectVersion"] == "v1.0.0"
        released = world.nexus.deployed("maven-releases")
        for artifact in ("java-app", "java-app-api", "java-app-core"):
            assert f"com/example/{artifact}/1.0.0/{artifact}-1.0.0.jar" in released, released
        assert world.nexus.deployed("maven-snapshots") == []
        # prod is protected: the bump waits in a merge request of the config repository.
        (request,) = api.merge_requests
        assert request["target_branch"] == "main" and request["source_branch"] in world.git.branches("config")
        assert "v1.0.0" in world.git.show("config", request["source_branch"], "apps/java-app/values-prod.yaml")
        assert len(world.git.log("config")) == 1  # main untouched until someone merges
    finally:
        api.stop()


@pytest.mark.journey_matrix
def test_the_schedule_mails_the_sonar_report(journey_registry, helper, scratch, world):
    project = stage(scratch, "java-app", "java-schedule")
    schedule = {"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}
    assert creates(project, schedule)
    with Inbox() as inbox:
        run = run_pipeline(project, journey_registry, helper, world.record,
                           world.variables(**schedule, **inbox.variables(), SONAR_INTERNAL_ADDR=world.sonar.url))
    run.assert_passed("sendmail-sonar")
    assert run.jobs == {"sendmail-sonar"}  # nothing is built, scanned or deployed on a schedule
    inbox.assert_report(merged(project)["sendmail-sonar"]["variables"], SONAR_KEY, world.sonar.url)
    assert world.sonar.state.calls("api/measures/component") >= 1
    assert SONAR_TOKEN not in run.log
