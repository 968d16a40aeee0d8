"""The built sonar image, as a job runs it: the REAL pysonar on the image's Python (3.13) bootstraps
against the SonarQube stand-in, downloads the engine the server hands out and runs it on the image's
JRE; the SonarScanner CLI comes from the mirror for an old server; the sonar-maven-plugin resolves
through the Nexus stand-in with the image's Maven. The engine, CLI and plugin are stand-ins built by
scanner_support, so each run ends with the properties the scanner would have sent.

PIPEYARD_TEST_IMAGE_SONAR names a built image; without it the session builds one (cached layers).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scanner_support import CLI_VERSION, StaticMirror, engine_jar, maven_plugin, record, scanner_cli_zip
from test_sonar_scan import maven_project
from test_sonar_scanners import node_project

from tests.servers.runner import PodmanRunner, output
from tests.servers.sonarqube import TOKEN, VERSIONS

pytestmark = pytest.mark.images
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def sonar_image(request) -> str:
    """PIPEYARD_TEST_IMAGE_SONAR, else the image built once per session (tests/fixtures.py provider_image)."""
    return os.environ.get("PIPEYARD_TEST_IMAGE_SONAR") or request.getfixturevalue("provider_image")("sonar")


@pytest.fixture(scope="module")
def standins(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("image-standins")


def job(image: str, work: Path, project: Path, stub_url: str, **extra: str):
    env = {"SONAR_HOST_URL": stub_url, "SONAR_TOKEN": TOKEN, "CI_PROJECT_PATH": "acme/billing",
           "CI_PROJECT_TITLE": "Billing", "SONAR_QUALITY_GATE_TIMEOUT": "30", **extra}
    return PodmanRunner(image, work).run(["sonar-scan", "--poll-interval", "0"], cwd=project, env=env)


def test_the_image_runs_pysonar_on_python_3_13(sonar_image: str, tmp_path: Path) -> None:
    done = PodmanRunner(sonar_image, tmp_path).run(["/opt/pipeyard/bin/python3", "--version"])
    assert done.stdout.startswith("Python 3.13"), output(done)


def test_the_old_flag_syntax_breaks_pysonar_in_the_image(sonar_image: str, tmp_path: Path) -> None:
    """What sonar-scan passed before: `=true` on a flag; argparse of Python 3.12+ refuses it."""
    done = PodmanRunner(sonar_image, tmp_path).run(
        ["pysonar", "-Dsonar.host.url=http://127.0.0.1:9", "-Dsonar.scanner.skipJreProvisioning=true"])
    assert done.returncode == 2
    assert "ignored explicit argument 'true'" in done.stderr


def test_real_pysonar_bootstraps_and_sends_the_properties(sonar, sonar_image: str, standins: Path,
                                                           tmp_path: Path) -> None:
    stub = sonar("10.7", gate_status="OK", project="acme_billing", engine=engine_jar(standins / "engine"))
    project = node_project(tmp_path / "ui")
    done = job(sonar_image, tmp_path, project, stub.url, CI_COMMIT_BRANCH="feature/x", CI_DEFAULT_BRANCH="main",
               TRACE="1")
    assert done.returncode == 0, output(done)[-4000:]
    assert "Starting Pysonar 1.10.0.5888" in done.stdout and "ANALYSIS SUCCESSFUL (stand-in engine)" in done.stdout
    # The bootstrap pysonar made, in order, all with the token as Bearer.
    bootstrap = [(path, accept, scheme) for path, accept, scheme in stub.state.seen if "/analysis/" in path]
    assert bootstrap == [("api/v2/analysis/version", "*/*", "Bearer"),
                         ("api/v2/analysis/engine", "application/json", "Bearer"),
                         ("api/v2/analysis/engine", "application/octet-stream", "Bearer")]
    assert stub.state.calls("api/v2/analysis/jres") == 0, "the image's JRE: no JRE provisioning"
    seen = record(project)
    assert seen["scanner"] == "engine" and seen["java"].startswith("/usr/lib/jvm/java-21")
    props = seen["properties"]
    assert props["sonar.projectKey"] == "acme_billing" and props["sonar.branch.name"] == "feature/x"
    assert props["sonar.host.url"] == stub.url and props["sonar.scanner.apiBaseUrl"] == f"{stub.url}/api/v2"
    assert props["sonar.scanner.skipJreProvisioning"] == "true" and props["sonar.verbose"] == "true"
    assert props["sonar.scanner.javaExePath"] == "/usr/bin/java"
    assert props["sonar.scanner.metadataFilePath"] == str(project / ".scannerwork/report-task.txt")
    assert "quality gate of acme_billing: OK" in done.stderr
    assert TOKEN not in done.stderr, "the token never reaches the job log"


def test_an_old_server_gets_the_cli_from_the_mirror_on_the_images_jre(sonar, sonar_image: str, standins: Path,
                                                                      tmp_path: Path) -> None:
    mirror = StaticMirror(standins / "mirror")
    try:
        cli = scanner_cli_zip(standins / "mirror" / "sonarsource", standins / "cli")
        stub = sonar("9.9", gate_status="OK", project="acme_billing")
        project = node_project(tmp_path / "ui")
        done = job(sonar_image, tmp_path, project, stub.url, SONAR_SCANNER_MIRROR_URL=mirror.url,
                   SONAR_SCANNER_CLI_SHA256=cli.sha256)
    finally:
        mirror.close()
    assert done.returncode == 0, output(done)[-4000:]
    seen = record(project)
    assert seen["scanner"] == "cli" and seen["java"].startswith("/usr/lib/jvm/java-21")
    assert seen["server_version"] == VERSIONS["9.9"] and seen["token_in_env"]
    assert f"sonar-scanner-{CLI_VERSION}/bin/sonar-scanner" in done.stderr
    assert stub.state.calls("api/v2/analysis/engine") == 0


def test_a_maven_project_uses_the_images_maven_and_the_nexus_plugin(sonar, sonar_image: str, standins: Path,
                                                                    tmp_path: Path) -> None:
    from tests.servers.maven_mirror import DEBIAN_REPO, MavenRepoServer

    if not (DEBIAN_REPO / "org/apache/maven/maven-plugin-api").is_dir():
        pytest.skip("Debian's Maven repository is missing: run `make setup`")
    storage = standins / "nexus"
    maven_plugin(storage / "maven-releases", standins / "plugin")
    stub = sonar("10.4", gate_status="OK", project="acme_billing")
    project = maven_project(tmp_path / "billing")
    with MavenRepoServer(storage, user="ci-reader", password="Nexus-pw-1") as nexus:
        done = job(sonar_image, tmp_path, project, stub.url, MAVEN_MIRROR_URL=nexus.group_url,
                   MAVEN_REPO_USER="ci-reader", MAVEN_REPO_PASSWORD="Nexus-pw-1")
    assert done.returncode == 0, output(done)[-4000:]
    seen = record(project)
    assert seen["scanner"] == "maven" and seen["properties"]["sonar.projectKey"] == "acme_billing"
    assert "Nexus-pw-1" not in output(done)
