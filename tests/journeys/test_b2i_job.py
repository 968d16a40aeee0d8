"""The .b2i-build job of the classic include, in gitlab-ci-local inside the b2i-builder image, against a
real registry: the jar the build job left becomes an image there, the job's dotenv report reaches the
job that needs it, and the image has the digest a build of the same jar on this machine gives.

The build job stands in for maven (its jar is committed under ci/jars): examples/java-app's journey runs the
real maven build into the b2i component and the gitops bump.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import requests

from pipeyard.demo.localci import stage_project
from tests.b2i import standins
from tests.fixtures import ROOT, VENV_BIN
from tests.journeys.journey_support import COMPONENT, git, record_dir, run_pipeline

PIPELINE = """\
stages: [build, deploy]
include:
  - project: platform/pipeyard
    ref: 1.0.0
    file: /b2i.gitlab-ci.yml

# Stands in for maven-build: the jar and the dependencies copy-dependencies leaves, as its artifacts.
maven-build:
  stage: build
  image: $PIPEYARD_REGISTRY/b2i-builder:1.0.0
  script: ["mkdir -p target", "cp -r ci/jars/. target/"]
  artifacts:
    paths: ["target/*.jar", "target/dependency/"]

b2i-build:
  extends: .b2i-build

# Any job that needs b2i-build gets its report as variables (the gitops bump does: image: $B2I_IMAGE).
announce:
  stage: deploy
  image: $PIPEYARD_REGISTRY/b2i-builder:1.0.0
  needs: [b2i-build]
  script:
    - 'test -n "$B2I_DIGEST"'
    - 'echo "deploying image=$B2I_IMAGE digest=$B2I_DIGEST"'
"""


def _project(scratch: Path) -> Path:
    source = scratch / "b2i-job-src" / "orders"
    if source.exists():
        shutil.rmtree(source)
    classes = standins.compile_all(scratch / "b2i-job-classes", "pipeline")
    # Not under a target/ folder: the staged project leaves those out, as a fresh clone has none.
    standins.thin_jar(classes, source / "ci" / "jars", dependency_bytes=200_000)
    (source / "ci" / "jars" / "app.jar").rename(source / "ci" / "jars" / "orders-1.0.jar")
    (source / ".gitlab-ci.yml").write_text(PIPELINE, encoding="utf-8")
    return source


@pytest.mark.images
@pytest.mark.pipelines
def test_the_job_pushes_the_image_and_its_report_reaches_the_next_job(journey_registry, helper, scratch, tmp_path,
                                                                      app_registry) -> None:
    project = stage_project(_project(scratch), scratch / "b2i-job", ROOT / "pipeline-templates", COMPONENT, root=ROOT)
    run = run_pipeline(project, journey_registry, helper, record_dir(tmp_path), {
        "B2I_APP_REGISTRY": f"{app_registry.address}/acme",
        "B2I_BASE_IMAGE": f"{app_registry.address}/pipeyard/b2i-java:21-trixie"}, timeout=900)
    run.assert_passed("maven-build", "b2i-build", "announce")
    log = run.log
    report = dict(line.split("=", 1) for line in (project.path / "b2i.env").read_text().splitlines())
    sha = git(project, "rev-parse", "--short=8", "HEAD")
    repo = f"{app_registry.address}/acme/b2i/orders"
    assert report == {"B2I_IMAGE": f"{repo}:{sha}@{report['B2I_DIGEST']}", "B2I_DIGEST": report["B2I_DIGEST"]}
    # The next job saw exactly that: GitLab (and gitlab-ci-local) hand the report to the jobs that need it.
    assert re.search(rf"deploying image={re.escape(report['B2I_IMAGE'])} digest={report['B2I_DIGEST']}", log)
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    head = requests.head(f"{app_registry.url}/v2/acme/b2i/orders/manifests/{sha}", headers=accept, timeout=5)
    assert head.headers["Docker-Content-Digest"] == report["B2I_DIGEST"]
    assert "base layers (1): 1 mounted from pipeyard/b2i-java" in log

    # The same jar built on this machine (another Python, another zlib, another clock) from what the
    # image's config records of its commit gives the same digest.
    manifest = requests.get(f"{app_registry.url}/v2/acme/b2i/orders/manifests/{report['B2I_DIGEST']}",
                            headers=accept, timeout=5).json()
    config = json.loads(requests.get(f"{app_registry.url}/v2/acme/b2i/orders/blobs/{manifest['config']['digest']}",
                                     timeout=5).content)
    labels = config["config"]["Labels"]
    epoch = int(datetime.fromisoformat(config["created"].replace("Z", "+00:00")).timestamp())
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(scratch), "PIPEYARD_SITE_FILE": "/nonexistent",
           "CI_PROJECT_DIR": str(project.path), "CI_PROJECT_NAME": "orders", "SOURCE_DATE_EPOCH": str(epoch),
           "CI_COMMIT_SHA": labels["org.opencontainers.image.revision"],
           "CI_PROJECT_URL": labels["org.opencontainers.image.source"],
           "PIPEYARD_CACHE_DIR": str(scratch / "b2i-job-host-cache"),
           "B2I_APP_REGISTRY": f"{app_registry.address}/host",
           "B2I_BASE_IMAGE": f"{app_registry.address}/pipeyard/b2i-java:21-trixie"}
    here = subprocess.run([str(VENV_BIN / "b2i-build"), "--dotenv", str(scratch / "host.env")], env=env,
                          cwd=project.path, capture_output=True, text=True, timeout=300)
    assert here.returncode == 0, here.stderr[-3000:]
    assert here.stdout.strip().endswith(f"@{report['B2I_DIGEST']}"), (here.stderr, report)
