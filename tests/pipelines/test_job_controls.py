"""Job controls and the workflow template, run by gitlab-ci-local against the rendered templates.

The design's own build job (branch develop only, and only when src/ changed) must be written
with the components' inputs alone; a job switched off or given other needs must say so in the
pipeline gitlab-ci-local plans. Workflow rules are evaluated by tests/pipelines/workflow_rules.py
(gitlab-ci-local does not apply them).
"""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml

from tests.fixtures import ROOT
from tests.pipelines.workflow_rules import creates_pipeline

COMPONENT = "gitlab.example.com/platform/pipeyard"

DESIGN_BUILD = f"""
stages: [build, test, deploy, report]
include:
  - component: {COMPONENT}/workflow@1.0.0
  - component: {COMPONENT}/maven@1.0.0
    inputs:
      # The design's build job: branch develop only, and only when the sources changed.
      build-rules:
        - if: $CI_COMMIT_BRANCH == "develop"
          changes: ["**/src/**/*"]
        - when: never
      deploy-enabled: false
      test-needs: []
"""


def _planned(project, **variables: str) -> dict[str, dict]:
    out = project.run("--list-json", variables=variables or None)
    assert out.returncode == 0, out.stderr[-2000:]
    listing = json.loads(out.stdout[out.stdout.index("["):])
    return {j["name"]: j for j in listing if j.get("when") != "never"}


@pytest.mark.pipelines
def test_the_design_build_job_runs_on_develop_only_when_src_changed(staged):
    project = staged("java-app", "develop")
    project.commit({".gitlab-ci.yml": DESIGN_BUILD}, "the design's pipeline")
    project.pushed()  # origin/main is this commit: what follows is the push under test
    project.commit({"README.md": "docs only\n"}, "docs")
    assert "maven-build" not in _planned(project)
    project.commit({"core/src/main/java/com/example/greeting/core/Note.java": "package com.example.greeting.core;\n"
                    "final class Note {}\n"}, "a source change")
    jobs = _planned(project)
    assert "maven-build" in jobs
    assert "maven-deploy" not in jobs  # switched off
    assert jobs["maven-test"]["needs"] == []  # needs replaced: it starts at once
    # The same change on another branch builds nothing.
    other = staged("java-app", "feature/x")
    other.commit({".gitlab-ci.yml": DESIGN_BUILD}, "the design's pipeline")
    other.pushed()
    other.commit({"core/src/main/java/Y.java": "class Y {}\n"}, "a source change")
    assert "maven-build" not in _planned(other)


@pytest.mark.pipelines
def test_changes_input_narrows_the_providers_own_rules(staged):
    project = staged("java-app", "feature/x")
    text = f"""
        stages: [build, test, deploy, report]
        include:
          - component: {COMPONENT}/maven@1.0.0
            inputs:
              build-changes: ["**/src/**/*", "**/pom.xml"]
    """
    project.commit({".gitlab-ci.yml": textwrap.dedent(text)}, "pipeline")
    project.pushed()
    project.commit({"README.md": "docs only\n"}, "docs")
    jobs = _planned(project)
    assert "maven-build" not in jobs and "maven-test" in jobs
    project.commit({"app/pom.xml": (ROOT / "examples/java-app/app/pom.xml").read_text() + "\n"}, "a pom change")
    assert "maven-build" in _planned(project)
    assert "maven-build" not in _planned(project, CI_PIPELINE_SOURCE="schedule")  # the provider's rules still hold


@pytest.mark.pipelines
def test_classic_variables_switch_a_job_off_and_narrow_it(staged):
    project = staged("node-app", "feature/x")
    assert {"npm-build", "npm-test", "sonar-scan"} <= set(_planned(project))
    assert "npm-test" not in _planned(project, NPM_TEST_DISABLED="true")
    project.pushed()
    project.commit({"README.md": "docs only\n"}, "docs")
    assert "npm-build" not in _planned(project, NPM_BUILD_CHANGES="src/**/*")
    assert "npm-build" in _planned(project, NPM_BUILD_CHANGES="README.md")


@pytest.mark.pipelines
def test_an_image_override_reaches_every_job(staged):
    project = staged("java-app", "feature/x")
    text = f"""
        stages: [build, test, deploy, report]
        include:
          - component: {COMPONENT}/maven@1.0.0
            inputs:
              provider-image: harbor.example.com/devops/maven-provider:jdk17
    """
    project.commit({".gitlab-ci.yml": textwrap.dedent(text)}, "pipeline")
    merged = yaml.safe_load(project.preview().split("---", 1)[-1])
    assert {merged[j]["image"]["name"] for j in ("maven-build", "maven-test", "maven-deploy")} == \
        {"harbor.example.com/devops/maven-provider:jdk17"}


# -- the workflow template: one pipeline per push ----------------------------------------------------
PUSH = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "feature/login", "CI_DEFAULT_BRANCH": "main"}


@pytest.mark.parametrize("env, created", [
    (PUSH, True),                                                         # a branch without a merge request
    ({**PUSH, "CI_OPEN_MERGE_REQUESTS": "acme/java-app!7"}, False),       # ... with one: only the MR pipeline
    ({"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7"}, True),
    ({"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.2.0"}, True),
    ({"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main", "CI_OPEN_MERGE_REQUESTS": "x!1"}, True),
    ({"CI_PIPELINE_SOURCE": "web", "CI_COMMIT_BRANCH": "feature/login", "CI_OPEN_MERGE_REQUESTS": "x!1"}, True),
])
def test_the_workflow_template_creates_one_pipeline_per_event(env, created):
    for name in ("templates/workflow.yml", "workflow.gitlab-ci.yml"):
        doc = list(yaml.safe_load_all((ROOT / "pipeline-templates" / name).read_text()))[-1]
        assert creates_pipeline(doc["workflow"]["rules"], env) is created, name
