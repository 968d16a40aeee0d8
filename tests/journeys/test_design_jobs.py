"""The design's own job definitions run unchanged on pipeyard's images, once a site names them as the
design does: `image_name: "{provider}-provider"` and `image_names: {sendmail: sendmail}`.

The design's jobs predate pipeyard's templates: a maven-provider build with `mvn clean package`, a
sonar-provider scan, and `/work/send-mail sonar ...` on schedules only, each naming its image in the
company registry's devops project. Here pipeyard's released images are mirrored into that project
by `pipeyard mirror --providers` under the site's names, and the design's pipeline then runs as it
is, in gitlab-ci-local, against the stand-ins.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from pipeyard.demo.maven_repo import DEBIAN_REPO, MavenRepoServer
from pipeyard.model.provider import load_provider
from tests.fixtures import ROOT, run_cli
from tests.journeys.journey_support import (
    RECORD_DIR,
    SCANNER,
    Inbox,
    read_json,
    record_dir,
    run_pipeline,
    stage,
)
from tests.servers.sonarqube import TOKEN as SONAR_TOKEN
from tests.servers.sonarqube import SonarState, SonarStub

# Written as the design has them; only the registry host is a variable, as in every real project.
DESIGN_PIPELINE = """\
stages: [build, test, report]

build:
  stage: build
  image: $HARBOR_HOST/devops/maven-provider:latest
  script:
    - mvn clean package
  artifacts:
    paths: ["**/target/"]
  rules:
    - if: $CI_PIPELINE_SOURCE != "schedule"

sonar:
  stage: test
  image: $HARBOR_HOST/devops/sonar-provider:latest
  variables:
    GIT_DEPTH: "0"
  script:
    - sonar-scan
  rules:
    - if: $CI_PIPELINE_SOURCE != "schedule"

sendmail:
  stage: report
  image: $HARBOR_HOST/devops/sendmail:latest
  script:
    - /work/send-mail sonar --email-to=$EMAIL_TO_LIST --email-cc=$EMAIL_CC_LIST --sonar-project-id=$PROJECT_NAME --sonar-internal-url=$SONAR_INTERNAL_ADDR --sonar-external-url=$SONAR_EXTERNAL_ADDR
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
"""
# The journeys build each provider's default variant only, so the design's site offers maven's alone
# (mirror --providers copies every variant the site offers).
DESIGN_SITE = ('registry: {registry}/devops\nimage_name: "{{provider}}-provider"\nimage_names: {{sendmail: sendmail}}\n'
               'variants: {{maven: {{only: ["{jdk}"]}}}}\n')
BUILDS = "/builds/acme/java-app"
PROJECT_KEY = "acme_java-app"
MAVEN_USER, MAVEN_PASSWORD = "ci-deployer", "Design-" + secrets.token_hex(6)
# The design's group-level CI/CD variables for the report mail.
MAIL = {"EMAIL_TO_LIST": "dev-team@example.com;lead@example.com", "EMAIL_CC_LIST": "qa@example.com",
        "EMAIL_FROM": "ci@example.com", "PROJECT_NAME": PROJECT_KEY,
        "SONAR_EXTERNAL_ADDR": "https://sonar.example.com"}

pytestmark = [pytest.mark.images, pytest.mark.pipelines, pytest.mark.journey_matrix,
              pytest.mark.skipif(not (DEBIAN_REPO / "org/apache/maven/plugins").is_dir(), reason="run `make setup`")]


@pytest.fixture(scope="module")
def devops(journey_registry, tmp_path_factory) -> str:
    """pipeyard's images mirrored into the devops project under the design's names; returns the host."""
    site = tmp_path_factory.mktemp("design") / "design.site.yaml"
    jdk = load_provider(ROOT, "maven").default_variant.value
    site.write_text(DESIGN_SITE.format(registry=journey_registry.address, jdk=jdk))
    done = run_cli("pipeyard", "mirror", "--providers", "maven,sonar,sendmail", "--from", journey_registry.prefix,
                   "--to", f"{journey_registry.address}/devops", "--site", str(site), "--tag", "latest")
    assert done.returncode == 0, done.stderr
    for name in ("maven-provider", "sonar-provider", "sendmail"):
        assert f"{journey_registry.address}/devops/{name}:latest" in done.stdout
    return journey_registry.address


def _project(scratch: Path, name: str):
    project = stage(scratch, "java-app", name)
    project.commit({".gitlab-ci.yml": DESIGN_PIPELINE}, "the design's own pipeline")
    return project


def test_the_designs_build_and_scan_run_unchanged(devops, journey_registry, helper, scratch, tmp_path):
    project = _project(scratch, "design-push")
    record = record_dir(tmp_path)
    with MavenRepoServer(tmp_path / "nexus", user=MAVEN_USER, password=MAVEN_PASSWORD) as nexus, \
            SonarStub(SonarState(gate_status="OK", project=PROJECT_KEY)) as sonar:
        run = run_pipeline(project, journey_registry, helper, record, {
            "HARBOR_HOST": devops, "MAVEN_MIRROR_URL": nexus.group_url,
            "MAVEN_REPO_USER": MAVEN_USER, "MAVEN_REPO_PASSWORD": MAVEN_PASSWORD,
            "SONAR_HOST_URL": sonar.url, "SONAR_TOKEN": SONAR_TOKEN,
            "SONAR_SCANNER": f"{BUILDS}/{SCANNER}", "SCANNER_RECORD": f"{RECORD_DIR}/scan.json"})
        run.assert_passed("build", "sonar")
        assert run.jobs == {"build", "sonar"}
        assert f"{devops}/devops/maven-provider:latest" in run.log and f"{devops}/devops/sonar-provider:latest" in run.log
        # `mvn clean package` ran the tests too; the scan got the classes and the reports.
        assert list((project.path / "app" / "target" / "surefire-reports").glob("TEST-*.xml"))
        props = read_json(record / "scan.json")["props"]
        assert set(props["sonar.java.binaries"].split(",")) == {f"{m}/target/classes" for m in ("api", "core", "app")}
        assert sonar.state.calls("api/qualitygates/project_status") == 1
        assert MAVEN_PASSWORD not in run.log


def test_the_designs_report_mail_runs_on_schedules_only(devops, journey_registry, helper, scratch, tmp_path):
    project = _project(scratch, "design-schedule")
    with SonarStub(SonarState(gate_status="OK", project=PROJECT_KEY)) as sonar, Inbox() as inbox:
        run = run_pipeline(project, journey_registry, helper, record_dir(tmp_path), {
            "HARBOR_HOST": devops, "CI_PIPELINE_SOURCE": "schedule", "SONAR_TOKEN": SONAR_TOKEN,
            "SONAR_INTERNAL_ADDR": sonar.url, **MAIL, **inbox.variables()})
    run.assert_passed("sendmail")
    assert run.jobs == {"sendmail"}
    assert f"{devops}/devops/sendmail:latest" in run.log
    inbox.assert_report(MAIL, PROJECT_KEY, sonar.url)
