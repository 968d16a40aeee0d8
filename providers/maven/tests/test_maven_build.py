"""Real builds: examples/java-app (api, core, app) with the real Maven, through the mvn wrapper, against the Nexus stand-in.

The first test builds cold (the mirror serves every plugin, about 15-25 s); the
others reuse its local repository, as GitLab's cache would. -DforkCount=0 runs
the tests inside Maven's JVM, which saves a JVM start per build.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from maven_support import PASSWORD, USER, copy_example, job_env

from tests.servers.maven_mirror import MavenRepoServer
from tests.servers.runner import output
from tests.servers.tls import self_signed, server_context


@pytest.fixture(scope="module")
def cold(runner, workdir, maven_repo):
    """The job `mvn clean deploy` on a fresh runner: nothing cached yet."""
    project = copy_example(workdir / "java-app")
    maven_repo.clear()
    done = runner.run(["mvn", "-DforkCount=0", "clean", "deploy"], env=job_env(maven_repo, project), cwd=project)
    return project, done, list(maven_repo.requests)


@pytest.fixture(scope="module")
def local_repo(cold) -> Path:
    project, done, _requests = cold
    assert done.returncode == 0, output(done)[-4000:]
    return project / ".m2" / "repository"


def test_cold_build_compiles_tests_and_deploys_a_snapshot(cold, maven_repo):
    project, done, requests = cold
    assert done.returncode == 0, output(done)[-4000:]
    assert "BUILD SUCCESS" in done.stdout
    report = ET.parse(project / "core" / "target" / "surefire-reports" /
                      "TEST-com.example.greeting.core.FriendlyGreeterTest.xml").getroot()
    assert (report.get("tests"), report.get("failures"), report.get("errors")) == ("3", "0", "0")
    # Every module of the reactor: the api, the core and the runnable service jar.
    assert (project / "app" / "target" / "java-app-1.0.0-SNAPSHOT.jar").is_file()
    assert (project / "api" / "target" / "java-app-api-1.0.0-SNAPSHOT.jar").is_file()
    # The local repository sits in the project, where GitLab's cache keeps it.
    assert (project / ".m2" / "repository" / "junit" / "junit" / "4.13.2" / "junit-4.13.2.jar").is_file()
    deployed = maven_repo.deployed("maven-snapshots")
    assert any(p.startswith("com/example/java-app/1.0.0-SNAPSHOT/java-app-1.0.0-") and p.endswith(".jar")
               for p in deployed), deployed
    # Every download went through the mirror with the credentials, none elsewhere.
    assert {r.path.split("/")[2] for r in requests} == {"maven-public", "maven-snapshots"}
    assert all(r.user == USER for r in requests if r.status < 400)
    assert PASSWORD not in output(done)
    assert "Downloading from" not in done.stdout  # --no-transfer-progress


def test_warm_build_makes_no_request_to_the_mirror(runner, cold, local_repo, maven_repo):
    project, _done, _requests = cold
    maven_repo.clear()
    done = runner.run(["mvn", "-DforkCount=0", "package"], env=job_env(maven_repo, project), cwd=project)
    assert done.returncode == 0, output(done)[-4000:]
    assert maven_repo.requests == []


def test_release_deploys_with_a_password_file(runner, workdir, local_repo, maven_repo):
    project = copy_example(workdir / "release", version="1.0.0")
    secret = workdir / "secrets" / "maven-password"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text(PASSWORD + "\n")
    env = job_env(maven_repo, project, MAVEN_LOCAL_REPOSITORY=str(local_repo), MAVEN_REPO_PASSWORD_FILE=str(secret))
    del env["MAVEN_REPO_PASSWORD"]
    maven_repo.clear()
    done = runner.run(["mvn", "-DskipTests", "deploy"], env=env, cwd=project)
    assert done.returncode == 0, output(done)[-4000:]
    assert "com/example/java-app/1.0.0/java-app-1.0.0.jar" in maven_repo.deployed("maven-releases")
    uploads = [r for r in maven_repo.requests if r.method == "PUT"]
    assert uploads and all(r.status == 201 and r.user == USER for r in uploads)
    assert {r.path.split("/")[2] for r in uploads} == {"maven-releases"}
    assert PASSWORD not in output(done)


def test_wrong_password_fails_naming_the_variable(runner, cold, local_repo, maven_repo):
    project, _done, _requests = cold
    env = job_env(maven_repo, project, MAVEN_REPO_PASSWORD="Wrong-Password-42")
    done = runner.run(["mvn", "-DskipTests", "deploy"], env=env, cwd=project)
    assert done.returncode != 0
    assert "401" in done.stdout  # Maven's own account of it
    assert "error: MAVEN_REPO_PASSWORD was refused for MAVEN_REPO_USER=deployer: HTTP 401 from" in done.stderr
    assert "Wrong-Password-42" not in output(done) and PASSWORD not in output(done)


def test_zero_variable_job_uses_the_site_defaults(runner, workdir, cold, local_repo, maven_repo):
    """The design's own job: the image's site file carries the Nexus URLs; only credentials are variables."""
    project, _done, _requests = cold
    site = workdir / "site.json"
    site.write_text(json.dumps({"defaults": {"MAVEN_MIRROR_URL": maven_repo.group_url,
                                             "MAVEN_RELEASES_URL": maven_repo.releases_url,
                                             "MAVEN_SNAPSHOTS_URL": maven_repo.snapshots_url}}))
    env = {"CI": "true", "CI_PROJECT_DIR": str(project), "PIPEYARD_SITE_FILE": str(site),
           "MAVEN_REPO_USER": USER, "MAVEN_REPO_PASSWORD": PASSWORD}
    maven_repo.clear()
    done = runner.run(["mvn", "clean", "deploy", "-DskipTests"], env=env, cwd=project)
    assert done.returncode == 0, output(done)[-4000:]
    assert f"maven-configure: mirror {maven_repo.group_url}" in done.stderr
    assert any(r.method == "PUT" and r.status == 201 for r in maven_repo.requests_to("maven-snapshots"))


def test_company_ca_makes_an_https_repository_trusted(runner, workdir, local_repo, maven_repo, tmp_path):
    cert, key = self_signed(workdir / "tls")
    with MavenRepoServer(tmp_path / "nexus-tls", user=USER, password=PASSWORD, tls=server_context(cert, key)) as tls:
        project = copy_example(workdir / "release-tls", version="1.0.1")
        env = job_env(maven_repo, project, MAVEN_LOCAL_REPOSITORY=str(local_repo), MAVEN_RELEASES_URL=tls.releases_url)

        untrusted = runner.run(["mvn", "-DskipTests", "deploy"], env=env, cwd=project)
        assert untrusted.returncode != 0
        assert f"error: {tls.releases_url} (MAVEN_RELEASES_URL) is unreachable" in untrusted.stderr
        assert "CUSTOM_CA_CERTS" in untrusted.stderr

        trusted = runner.run(["mvn", "-DskipTests", "deploy"], env={**env, "CUSTOM_CA_CERTS": str(cert)}, cwd=project)
        assert trusted.returncode == 0, output(trusted)[-4000:]
        assert "com/example/java-app/1.0.1/java-app-1.0.1.jar" in tls.deployed("maven-releases")


def test_password_is_in_no_file(local_repo, workdir):
    """Last, to see every file the builds above left: settings, state, reports, the local repository."""
    assert local_repo.is_dir()
    leaks = [p for p in workdir.rglob("*") if p.is_file() and not p.is_symlink()
             and PASSWORD.encode() in p.read_bytes() and p.name != "maven-password"]
    assert leaks == []
