"""A job's script really runs: the example's maven-build job, executed by
gitlab-ci-local with the shell executor against a stand-in Nexus, produces its jar
as an artifact. (tests/images runs the same jobs inside the provider images.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipeyard.demo.maven_repo import DEBIAN_REPO, MavenRepoServer
from tests.fixtures import ROOT

USER, PASSWORD = "ci-deployer", "s3cret-Maven-pw"


@pytest.mark.pipelines
@pytest.mark.skipif(not (DEBIAN_REPO / "org/apache/maven/plugins").is_dir(), reason="run `make setup` first")
def test_maven_build_job_runs_its_script_and_keeps_the_jar(staged, tmp_path):
    with MavenRepoServer(tmp_path / "nexus", user=USER, password=PASSWORD) as nexus:
        project = staged("java-app")
        # The provider's wrapper and CLIs, as the image puts them on PATH.
        path = os.pathsep.join([str(ROOT / "providers/maven/rootfs/usr/local/bin"), str(Path(sys.executable).parent),
                                os.environ["PATH"]])
        out = project.run("--force-shell-executor", "maven-build",
                          # The shell executor runs in the project folder but would report
                          # /builds/...; GitLab's runner makes them the same folder.
                          variables={"MAVEN_MIRROR_URL": nexus.group_url, "MAVEN_REPO_USER": USER,
                                     "MAVEN_REPO_PASSWORD": PASSWORD, "CI_PROJECT_DIR": str(project.path)},
                          env={"PATH": path, "HOME": str(tmp_path / "home")})
        log = out.stdout + out.stderr
        assert out.returncode == 0, log[-3000:]
        assert "BUILD SUCCESS" in log
        assert any(r.path.endswith(".jar") for r in nexus.requests), "the build resolved nothing through the mirror"
    assert (project.path / ".m2" / "repository").is_dir(), "the local repository is not under CI_PROJECT_DIR"
    jars = sorted((project.path / "app" / "target").glob("java-app-*.jar"))
    assert jars, "the job's artifact (**/target/*.jar) was not kept"
    # copy-dependencies left the runtime dependencies beside it (junit is a test dependency), for the B2I image.
    copied = sorted(p.name for p in (project.path / "app" / "target" / "dependency").glob("*.jar"))
    assert copied == ["java-app-api-1.0.0-SNAPSHOT.jar", "java-app-core-1.0.0-SNAPSHOT.jar"]
    assert PASSWORD not in log
