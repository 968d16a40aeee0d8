"""examples/node-app's pipelines (classic includes configured by CI/CD variables), whole and for real,
in gitlab-ci-local inside the published images, against a real npm registry (verdaccio):

- push: npm ci and build, npm test with JUnit and lcov coverage, a Sonar scan that takes both;
- merge request: the same jobs, in one pipeline only;
- tag: the package published to the registry;
- schedule: only the Sonar report mail, delivered to a real SMTP server.

The private dependency @corp/greeting is published to verdaccio first (the committed tarball, whose
integrity the example's lockfile pins), so `npm ci` proves the private-registry path.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures import ROOT, free_port
from tests.journeys.journey_support import (
    RECORD_DIR,
    SCANNER,
    Inbox,
    Run,
    creates,
    merged,
    read_json,
    record_dir,
    run_pipeline,
    stage,
)
from tests.servers.sonarqube import TOKEN as SONAR_TOKEN
from tests.servers.sonarqube import SonarState, SonarStub
from tests.servers.verdaccio import VERDACCIO, Verdaccio

BUILDS = "/builds/acme/node-app"
GREETING_TGZ = ROOT / "providers" / "npm" / "tests" / "fixtures" / "corp-greeting-1.0.0.tgz"
SONAR_KEY = "com.example:node-app"  # the example's PROJECT_NAME

pytestmark = [pytest.mark.images, pytest.mark.pipelines, pytest.mark.journey_matrix,
              pytest.mark.skipif(not VERDACCIO.is_file(), reason="run `make setup` (verdaccio)")]


@dataclass
class World:
    npm: Verdaccio
    token: str
    sonar: SonarStub
    record: Path

    def variables(self, **extra: str) -> dict[str, str]:
        return {
            "NPM_REGISTRY_URL": f"{self.npm.url}/", "NPM_SCOPED_REGISTRIES": f"@corp={self.npm.url}/",
            "NPM_TOKEN": self.token,
            "SONAR_HOST_URL": self.sonar.url, "SONAR_TOKEN": SONAR_TOKEN,
            "SONAR_SCANNER": f"{BUILDS}/{SCANNER}", "SCANNER_RECORD": f"{RECORD_DIR}/scan.json",
            **extra,
        }


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    with Verdaccio(tmp_path / "verdaccio", free_port()) as npm, \
            SonarStub(SonarState(gate_status="OK", project=SONAR_KEY, project_name="node-app")) as sonar:
        token = npm.add_user("ci", "Ci-Journey-2024")
        rc = tmp_path / "publish.npmrc"
        rc.write_text(f"//127.0.0.1:{npm.port}/:_authToken={token}\n")
        rc.chmod(0o600)
        subprocess.run(["npm", "publish", str(GREETING_TGZ), "--registry", npm.url + "/", "--userconfig", str(rc),
                        "--loglevel", "warn"], check=True, capture_output=True)
        yield World(npm, token, sonar, record_dir(tmp_path))


def _assert_built_tested_and_scanned(run: Run, project, world: World) -> dict:
    run.assert_passed("npm-build", "npm-test", "sonar-scan")
    assert (project.path / "dist" / "index.js").is_file()
    assert "<testsuite" in (project.path / "junit.xml").read_text()
    lcov = (project.path / "coverage" / "lcov.info").read_text()
    assert "SF:" in lcov and "LH:" in lcov
    assert "all files" in run.log  # the line GitLab's coverage regex reads
    scan = read_json(world.record / "scan.json")
    props = scan["props"]
    assert props["sonar.javascript.lcov.reportPaths"] == "coverage/lcov.info"
    assert scan["git_depth"] == "0" and scan["token"] and not scan["shallow"]
    assert world.sonar.state.calls("api/qualitygates/project_status") == 1
    assert world.token not in run.log
    return props


def test_the_push_pipeline_builds_tests_and_scans(journey_registry, helper, scratch, world):
    project = stage(scratch, "node-app", "node-push")
    run = run_pipeline(project, journey_registry, helper, world.record, world.variables())
    _assert_built_tested_and_scanned(run, project, world)
    assert "npm-publish" not in run.jobs and "sonar-report" not in run.jobs
    assert world.npm.packument("@corp/node-app", world.token) is None


def test_a_merge_request_runs_its_jobs_once(journey_registry, helper, scratch, world):
    project = stage(scratch, "node-app", "node-mr", branch="feature/welcome")
    branch = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature/welcome", "CI_DEFAULT_BRANCH": "main",
              "CI_OPEN_MERGE_REQUESTS": "acme/node-app!3"}
    mr = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "3", "CI_DEFAULT_BRANCH": "main",
          "CI_COMMIT_REF_NAME": "feature/welcome", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/welcome",
          "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "CI_COMMIT_BRANCH": ""}
    assert not creates(project, branch) and creates(project, mr)
    run = run_pipeline(project, journey_registry, helper, world.record, world.variables(**mr))
    props = _assert_built_tested_and_scanned(run, project, world)
    assert run.jobs == {"npm-build", "npm-test", "sonar-scan"}
    assert props["sonar.pullrequest.key"] == "3"


def test_a_tag_publishes_the_package(journey_registry, helper, scratch, world):
    project = stage(scratch, "node-app", "node-tag")
    subprocess.run(["git", "tag", "v1.0.0"], cwd=project.path, check=True)
    tag = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0.0", "CI_COMMIT_REF_NAME": "v1.0.0",
           "CI_COMMIT_BRANCH": "", "CI_DEFAULT_BRANCH": "main"}
    assert creates(project, tag)
    run = run_pipeline(project, journey_registry, helper, world.record, world.variables(**tag))
    _assert_built_tested_and_scanned(run, project, world)
    run.assert_passed("npm-publish")
    published = world.npm.packument("@corp/node-app", world.token)
    assert published and published["dist-tags"]["latest"] == "1.0.0"
    assert "dist/index.js" in subprocess.run(
        ["tar", "-tzf", "-"], input=_tarball(world, published), capture_output=True, check=True).stdout.decode()


def _tarball(world: World, packument: dict) -> bytes:
    import urllib.request

    url = packument["versions"]["1.0.0"]["dist"]["tarball"]
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {world.token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def test_the_schedule_mails_the_sonar_report(journey_registry, helper, scratch, world):
    project = stage(scratch, "node-app", "node-schedule")
    schedule = {"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main"}
    assert creates(project, schedule)
    with Inbox() as inbox:
        run = run_pipeline(project, journey_registry, helper, world.record,
                           world.variables(**schedule, **inbox.variables(), SONAR_INTERNAL_ADDR=world.sonar.url))
    run.assert_passed("sonar-report")
    assert run.jobs == {"sonar-report"}
    inbox.assert_report(merged(project)["sonar-report"]["variables"], SONAR_KEY, world.sonar.url)
