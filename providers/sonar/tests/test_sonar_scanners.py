"""Which scanner runs against which SonarQube, and each one end to end against the SonarQube stand-in:
pysonar from 10.6, the SonarScanner CLI from the site's mirror below it, the sonar-maven-plugin through
the Nexus group for Maven projects. The CLI and the plugin are stand-ins built here (scanner_support);
Maven and the JRE are the host's real ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scanner_support import (
    CLI_VERSION,
    PLUGIN_VERSION,
    StaticMirror,
    engine_jar,
    java_home,
    maven_plugin,
    record,
    scanner_cli_zip,
)
from sonar_support import job_env
from test_sonar_scan import maven_project

from pipeyard_sonar import scanners
from tests.fixtures import VENV_BIN, run_cli
from tests.servers.sonarqube import TOKEN, VERSIONS

PINNED_SHA = "ab76ab3c360025e9108be5b55be066f304a164f8b2850d2f2f333915db51bc1b"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scanner-standins")


@pytest.fixture(scope="module")
def mirror(work: Path):
    root = work / "mirror"
    served = StaticMirror(root)
    cli = scanner_cli_zip(root / "sonarsource", work / "cli-build")
    yield served, cli
    served.close()


def env_for(stub_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    values = dict(SONAR_HOST_URL=stub_url, SONAR_TOKEN=TOKEN, CI_PROJECT_PATH="acme/billing", CI_PROJECT_TITLE="Billing",
                  CI_COMMIT_BRANCH="main", CI_DEFAULT_BRANCH="main", CI_COMMIT_SHA="0123abcd" * 5,
                  SONAR_QUALITY_GATE_TIMEOUT="30", SONAR_USER_HOME=str(tmp_path / "sonar-home"),
                  JAVA_HOME=java_home(), HOME=str(tmp_path / "home"))
    return job_env(**{**values, **extra})


def node_project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "package.json").write_text('{"name": "billing-ui", "version": "1.2.0"}')
    (root / "src" / "index.js").write_text("module.exports = 1;\n")
    return root


# -- pysonar's flags -------------------------------------------------------------------------------------
def test_the_flag_list_is_pysonars_own() -> None:
    """Every -D option pysonar's argparse declares without a value, read from the installed pysonar."""
    script = ("from pysonar_scanner.configuration import cli\n"
              "p = cli.CliConfigurationLoader._CliConfigurationLoader__create_parser()\n"
              "print('\\n'.join(o[2:] for a in p._actions if a.nargs == 0 for o in a.option_strings "
              "if o.startswith('-D')))")
    out = subprocess.run([str(VENV_BIN / "python"), "-c", script], capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) == scanners.PYSONAR_FLAGS


def test_flags_go_out_bare_and_false_ones_not_at_all() -> None:
    args = scanners.pysonar_args({"sonar.host.url": "http://s", "sonar.scanner.skipJreProvisioning": "true",
                                  "sonar.verbose": "false"}, ["-Dsonar.python.analysis.parallel=true", "-X"])
    assert args == ["-Dsonar.host.url=http://s", "-Dsonar.scanner.skipJreProvisioning",
                    "-Dsonar.python.analysis.parallel", "-X"]
    assert scanners.java_args({"sonar.verbose": "true"}, []) == ["-Dsonar.verbose=true"]


# -- the choice --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version, expected", [("9.9", "cli"), ("10.4", "cli"), ("10.5", "cli"), ("10.6", "pysonar"),
                                               ("10.8", "pysonar"), ("2025.1", "pysonar"), ("2026.4", "pysonar")])
def test_the_server_version_picks_the_scanner(sonar, tmp_path, version, expected) -> None:
    stub = sonar(version)
    project = node_project(tmp_path / "ui")
    r = run_cli("sonar-scan", "--dry-run", env=env_for(stub.url, tmp_path, SONAR_SCANNER_MIRROR_URL="http://m"),
                cwd=project)
    assert r.returncode == 0, r.stderr
    command = r.stdout.split()[0]
    assert (command.endswith(f"sonar-scanner-{CLI_VERSION}/bin/sonar-scanner") if expected == "cli"
            else command == "pysonar"), r.stdout
    assert f"scanner: {expected}" in r.stderr and stub.state.calls("api/server/version") == 1
    if expected == "pysonar":
        assert "-Dsonar.scanner.skipJreProvisioning " in r.stdout + " " and "=true" not in r.stdout


@pytest.mark.parametrize("version, preference, expected", [
    ("10.5", "old-servers", "maven"), ("10.7", "old-servers", "pysonar"), ("10.7", "always", "maven"),
    ("9.9", "never", "cli")])
def test_maven_projects_follow_the_site_preference(sonar, tmp_path, version, preference, expected) -> None:
    stub = sonar(version)
    project = maven_project(tmp_path / "billing")
    env = env_for(stub.url, tmp_path, SONAR_MAVEN_SCANNER=preference, MAVEN_MIRROR_URL="http://nexus/group",
                  SONAR_SCANNER_MIRROR_URL="http://m")
    r = run_cli("sonar-scan", "--dry-run", env=env, cwd=project)
    assert r.returncode == 0, r.stderr
    assert f"scanner: {expected}" in r.stderr
    if expected == "maven":
        assert f"org.sonarsource.scanner.maven:sonar-maven-plugin:{PLUGIN_VERSION}:sonar" in r.stdout
        assert "sonar.java.binaries" not in r.stdout, "the plugin works the build's layout out itself"


def test_pysonar_is_refused_up_front_on_a_server_it_does_not_support(sonar, tmp_path) -> None:
    stub = sonar("9.9")
    r = run_cli("sonar-scan", env=env_for(stub.url, tmp_path, SONAR_SCANNER="pysonar"), cwd=node_project(tmp_path / "u"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"SonarQube at {stub.url} is 9.9.8; pysonar supports SonarQube 10.6 and newer only" in r.stderr
    assert "SONAR_SCANNER=auto" in r.stderr


# -- the SonarScanner CLI from the mirror -------------------------------------------------------------------
def test_an_old_server_is_scanned_by_the_cli_from_the_mirror(sonar, mirror, tmp_path) -> None:
    served, cli = mirror
    stub = sonar("9.9", gate_status="OK", project="acme_billing")
    project = node_project(tmp_path / "ui")
    env = env_for(stub.url, tmp_path, SONAR_SCANNER_MIRROR_URL=served.url, SONAR_SCANNER_CLI_SHA256=cli.sha256)
    before = len(served.requests)
    r = run_cli("sonar-scan", "--poll-interval", "0", env=env, cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
    seen = record(project)
    assert seen["scanner"] == "cli" and seen["token_in_env"] and seen["server_version"] == VERSIONS["9.9"]
    assert seen["java"].startswith(java_home())
    props = seen["properties"]
    assert props["sonar.projectKey"] == "acme_billing" and props["sonar.host.url"] == stub.url
    assert props["sonar.scanner.metadataFilePath"] == str(project / ".scannerwork/report-task.txt")
    assert "sonar.token" not in props and TOKEN not in r.stdout + r.stderr
    assert served.requests[before:] == [f"/sonarsource/Distribution/sonar-scanner-cli/sonar-scanner-cli-{CLI_VERSION}.zip"]
    assert "quality gate of acme_billing: OK" in r.stderr
    # The verified copy is reused: a second job on the same runner cache downloads nothing.
    again = run_cli("sonar-scan", "--poll-interval", "0", env=env, cwd=project)
    assert again.returncode == 0 and len(served.requests) == before + 1


def test_a_zip_that_is_not_the_pinned_one_is_refused(sonar, mirror, tmp_path) -> None:
    served, cli = mirror
    stub = sonar("10.4")
    project = node_project(tmp_path / "ui")
    r = run_cli("sonar-scan", env=env_for(stub.url, tmp_path, SONAR_SCANNER_MIRROR_URL=served.url), cwd=project)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"checksum mismatch for sonar-scanner-cli-{CLI_VERSION}.zip: expected sha256:{PINNED_SHA}, " \
           f"got sha256:{cli.sha256}" in r.stderr
    assert "SONAR_SCANNER_CLI_SHA256" in r.stderr
    assert not (project / ".scannerwork" / "standin-record.json").exists()
    assert not list((tmp_path / "sonar-home").rglob("*.zip")), "an unverified download is never kept"


def test_an_old_server_without_a_mirror_names_the_setting(sonar, tmp_path) -> None:
    stub = sonar("10.5")
    r = run_cli("sonar-scan", env=env_for(stub.url, tmp_path), cwd=node_project(tmp_path / "ui"))
    assert r.returncode == 1
    assert ("SONAR_SCANNER_MIRROR_URL is not set, and SonarQube at "
            f"{stub.url} is 10.5.1, older than 10.6 which pysonar needs needs the SonarScanner CLI {CLI_VERSION}"
            ) in r.stderr


def test_a_missing_zip_on_the_mirror_is_one_clear_error(sonar, mirror, tmp_path) -> None:
    served, _ = mirror
    stub = sonar("9.9")
    env = env_for(stub.url, tmp_path, SONAR_SCANNER_MIRROR_URL=served.url, SONAR_SCANNER_CLI_VERSION="7.0.0.1",
                  SONAR_SCANNER_CLI_SHA256="1" * 64)
    r = run_cli("sonar-scan", env=env, cwd=node_project(tmp_path / "ui"))
    assert r.returncode == 1 and r.stderr.count("error:") == 1
    assert "SONAR_SCANNER_MIRROR_URL: download of" in r.stderr and "HTTP 404" in r.stderr
    assert "upload sonar-scanner-cli-7.0.0.1.zip to the mirror" in r.stderr


# -- the sonar-maven-plugin through Nexus --------------------------------------------------------------------
@pytest.fixture(scope="module")
def nexus(work: Path):
    from tests.servers.maven_mirror import DEBIAN_REPO, MavenRepoServer

    if not (DEBIAN_REPO / "org/apache/maven/maven-plugin-api").is_dir():
        pytest.skip("Debian's Maven repository is missing: run `make setup`")
    storage = work / "nexus"
    maven_plugin(storage / "maven-releases", work / "plugin-build")
    with MavenRepoServer(storage, user="ci-reader", password="Nexus-pw-1") as repo:
        yield repo


def test_a_maven_project_is_scanned_by_the_plugin_through_nexus(sonar, nexus, tmp_path) -> None:
    stub = sonar("10.5", gate_status="OK", project="acme_billing")
    project = maven_project(tmp_path / "billing")
    env = env_for(stub.url, tmp_path, MAVEN_MIRROR_URL=nexus.group_url, MAVEN_REPO_USER="ci-reader",
                  MAVEN_REPO_PASSWORD="Nexus-pw-1", CI_COMMIT_BRANCH="feature/x")
    r = run_cli("sonar-scan", "--poll-interval", "0", env=env, cwd=project)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    seen = record(project)
    assert seen["scanner"] == "maven" and seen["token_in_env"]
    props = seen["properties"]
    assert props["sonar.projectKey"] == "acme_billing" and props["sonar.branch.name"] == "feature/x"
    assert "sonar.java.binaries" not in props, "the plugin derives the layout from the POM"
    plugin_jar = f"/org/sonarsource/scanner/maven/sonar-maven-plugin/{PLUGIN_VERSION}/sonar-maven-plugin-{PLUGIN_VERSION}.jar"
    assert any(q.path.endswith(plugin_jar) and q.status == 200 and q.user == "ci-reader" for q in nexus.requests)
    assert (tmp_path / "home/.m2/repository/org/sonarsource/scanner/maven").is_dir(), "the job's own local repo"
    settings = (project / ".scannerwork" / "pipeyard-maven-settings.xml").read_text()
    assert "${env.MAVEN_REPO_PASSWORD}" in settings and "Nexus-pw-1" not in settings
    assert "Nexus-pw-1" not in r.stdout + r.stderr and TOKEN not in r.stdout + r.stderr
    assert "quality gate of acme_billing: OK" in r.stderr


def test_the_plugin_needs_a_pom(sonar, tmp_path) -> None:
    stub = sonar("10.7")
    r = run_cli("sonar-scan", env=env_for(stub.url, tmp_path, SONAR_SCANNER="maven"), cwd=node_project(tmp_path / "u"))
    assert r.returncode == 1 and "SONAR_SCANNER=maven, but there is no pom.xml" in r.stderr


# -- the real pysonar, with the stand-in engine the server hands out ------------------------------------------
def test_real_pysonar_bootstraps_and_runs_the_servers_engine(sonar, work, tmp_path) -> None:
    """pysonar on this machine's Python; test_sonar_image runs the same inside the image (Python 3.13)."""
    stub = sonar("10.7", gate_status="OK", project="acme_billing", engine=engine_jar(work / "engine-build"))
    project = node_project(tmp_path / "ui")
    env = env_for(stub.url, tmp_path, PATH=f"{VENV_BIN}:/usr/bin:/bin")
    r = run_cli("sonar-scan", "--poll-interval", "0", env=env, cwd=project)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    seen = record(project)
    assert seen["scanner"] == "engine" and seen["properties"]["sonar.projectKey"] == "acme_billing"
    bootstrap = [(path, accept, scheme) for path, accept, scheme in stub.state.seen if "analysis" in path]
    assert bootstrap == [("api/v2/analysis/version", "*/*", "Bearer"),
                         ("api/v2/analysis/engine", "application/json", "Bearer"),
                         ("api/v2/analysis/engine", "application/octet-stream", "Bearer")]
    assert sys.version_info >= (3, 11)
