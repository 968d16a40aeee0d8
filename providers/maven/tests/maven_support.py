"""Fixtures of the maven provider's tests: the Nexus stand-in, the runner, the example project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.servers.maven_mirror import DEBIAN_REPO, MavenRepoServer
from tests.servers.runner import ROOT
from tests.servers.toolwrap import runner_fixtures, skip_tests_using

EXAMPLE = ROOT / "examples" / "java-app"
USER = "deployer"
# Markup and a dollar sign: the password must survive settings.xml interpolation intact.
PASSWORD = 'Nx&s<ecret>"pa$$1'


def pytest_collection_modifyitems(items):
    if not (DEBIAN_REPO / "org" / "apache" / "maven" / "plugins" / "maven-deploy-plugin" / "3.0.0").is_dir():
        skip_tests_using(items, "maven_repo", "Debian's Maven plugins are missing: run `make setup`")


@pytest.fixture(scope="session")
def maven_repo(tmp_path_factory):
    with MavenRepoServer(tmp_path_factory.mktemp("nexus"), user=USER, password=PASSWORD) as repo:
        yield repo


workdir, runner = runner_fixtures("maven")


def copy_example(dest: Path, version: str | None = None) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("target", ".m2", ".gitlab-ci.yml"))
    if version:  # the parent's version and every module's reference to it
        for pom in dest.rglob("pom.xml"):
            pom.write_text(pom.read_text().replace("<version>1.0.0-SNAPSHOT</version>", f"<version>{version}</version>"))
    return dest


def job_env(repo: MavenRepoServer, project: Path, **extra: str) -> dict[str, str]:
    """The CI/CD variables of a job in `project`, as GitLab would set them."""
    return {
        "CI": "true",
        "CI_PROJECT_DIR": str(project),
        "MAVEN_MIRROR_URL": repo.group_url,
        "MAVEN_RELEASES_URL": repo.releases_url,
        "MAVEN_SNAPSHOTS_URL": repo.snapshots_url,
        "MAVEN_REPO_USER": USER,
        "MAVEN_REPO_PASSWORD": PASSWORD,
        **extra,
    }
