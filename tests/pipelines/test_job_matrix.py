"""Which jobs the example pipelines run, executed by gitlab-ci-local against the
rendered templates: one example includes components with inputs, the other the
classic files with variables."""

from __future__ import annotations

import pytest

PUSH: dict[str, str] = {}
MERGE_REQUEST = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7"}
TAG = {"CI_COMMIT_TAG": "v2.3.0"}
SCHEDULE = {"CI_PIPELINE_SOURCE": "schedule"}

MATRIX = {
    # (example, branch, pipeline) -> jobs
    ("java-app", "main", "push"): ["b2i-build", "deploy-dev-bump", "maven-build", "maven-deploy", "maven-test",
                                   "sonar-scan"],
    ("java-app", "feature/login", "push"): ["b2i-build", "maven-build", "maven-test", "sonar-scan"],
    ("java-app", "feature/login", "mr"): ["b2i-build", "maven-build", "maven-test", "sonar-scan"],
    ("java-app", "feature/login", "tag"): ["b2i-build", "deploy-prod-bump", "maven-build", "maven-deploy", "maven-test",
                                           "sonar-scan"],
    ("java-app", "main", "schedule"): ["sendmail-sonar"],
    ("node-app", "main", "push"): ["npm-build", "npm-test", "sonar-scan"],
    ("node-app", "feature/login", "push"): ["npm-build", "npm-test", "sonar-scan"],
    ("node-app", "feature/login", "mr"): ["npm-build", "npm-test", "sonar-scan"],
    ("node-app", "feature/login", "tag"): ["npm-build", "npm-publish", "npm-test", "sonar-scan"],
    ("node-app", "main", "schedule"): ["sonar-report"],
}
SOURCES = {"push": PUSH, "mr": MERGE_REQUEST, "tag": TAG, "schedule": SCHEDULE}


@pytest.mark.pipelines
@pytest.mark.parametrize("example, branch, pipeline", sorted(MATRIX))
def test_jobs_per_pipeline(staged, example, branch, pipeline):
    project = staged(example, branch)
    assert project.jobs(SOURCES[pipeline]) == MATRIX[(example, branch, pipeline)]


@pytest.mark.pipelines
def test_component_inputs_reach_the_job(staged):
    merged = staged("java-app").preview()
    assert "sendmail-sonar:" in merged
    assert "EMAIL_TO_LIST: dev-team@example.com;lead@example.com" in merged
    # The image input's default names the registry through the job's PIPEYARD_REGISTRY, as the
    # classic include does; the registry input sets that variable.
    assert "name: $PIPEYARD_REGISTRY/sendmail:1.0.0" in merged
    assert "PIPEYARD_REGISTRY: 127.0.0.1:5000/pipeyard" in merged
    assert "- k8s-runner" in merged
