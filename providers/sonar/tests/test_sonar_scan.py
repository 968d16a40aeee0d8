"""sonar-scan's wiring: the exact scanner command and properties CI variables produce.

A recording scanner stands in for pysonar (which downloads its engine from a
real server), then the gate wait runs against the SonarQube stub.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sonar_support import job_env

from tests.fixtures import run_cli
from tests.servers.sonarqube import TOKEN

POM = """<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId><artifactId>billing</artifactId><version>2.3.1</version>
  <packaging>jar</packaging>
</project>
"""


def maven_project(root: Path, compiled: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pom.xml").write_text(POM)
    (root / "src/main/java/com/acme").mkdir(parents=True)
    (root / "src/main/java/com/acme/App.java").write_text("class App {}")
    (root / "src/test/java/com/acme").mkdir(parents=True)
    if compiled:
        for d in ("target/classes/com/acme", "target/test-classes", "target/surefire-reports", "target/site/jacoco"):
            (root / d).mkdir(parents=True)
        (root / "target/site/jacoco/jacoco.xml").write_text("<report/>")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return maven_project(tmp_path / "billing")


def branch_env(stub_url: str, scanner, **extra: str) -> dict[str, str]:
    values = dict(SONAR_HOST_URL=stub_url, SONAR_TOKEN=TOKEN, CI_PROJECT_PATH="acme/payments/billing",
                  CI_PROJECT_TITLE="Billing", CI_COMMIT_BRANCH="feature/invoices", CI_DEFAULT_BRANCH="main",
                  CI_COMMIT_SHA="0123abcd" * 5, CI_PIPELINE_URL="https://gitlab.example.com/acme/p/-/pipelines/7",
                  SONAR_QUALITY_GATE_TIMEOUT="30", **scanner.env())
    return job_env(**{**values, **extra})


def test_branch_pipeline_passes_ci_properties_and_maven_output(sonar, scanner, project):
    stub = sonar("10.7", gate_status="OK", project="acme_payments_billing")
    r = run_cli("sonar-scan", "--poll-interval", "0", env=branch_env(stub.url, scanner), cwd=project)
    assert r.returncode == 0, r.stderr
    props = scanner.props()
    assert props["sonar.host.url"] == stub.url
    assert props["sonar.projectKey"] == "acme_payments_billing"
    assert props["sonar.projectName"] == "Billing"
    assert props["sonar.projectVersion"] == "2.3.1"
    assert props["sonar.branch.name"] == "feature/invoices"
    assert "sonar.pullrequest.key" not in props
    assert props["sonar.sources"] == "src/main"
    assert props["sonar.tests"] == "src/test"
    assert props["sonar.java.binaries"] == "target/classes"
    assert props["sonar.java.test.binaries"] == "target/test-classes"
    assert props["sonar.junit.reportPaths"] == "target/surefire-reports"
    assert props["sonar.coverage.jacoco.xmlReportPaths"] == "target/site/jacoco/jacoco.xml"
    assert props["sonar.scm.revision"] == "0123abcd" * 5
    assert props["sonar.scanner.metadataFilePath"] == str(project / ".scannerwork/report-task.txt")
    # The token reaches the scanner through its environment only.
    record = scanner.recorded()
    assert record["env"]["SONAR_TOKEN"] == TOKEN
    assert all(TOKEN not in a for a in record["argv"])
    assert TOKEN not in r.stdout + r.stderr
    assert "sonar.token" not in json.dumps(record["argv"])


def test_merge_request_pipeline_uses_pull_request_keys(sonar, scanner, project):
    stub = sonar("10.7", gate_status="OK")
    env = branch_env(stub.url, scanner, CI_COMMIT_BRANCH="", CI_MERGE_REQUEST_IID="42",
                     CI_MERGE_REQUEST_SOURCE_BRANCH_NAME="feature/invoices",
                     CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main")
    r = run_cli("sonar-scan", "--poll-interval", "0", env=env, cwd=project)
    assert r.returncode == 0, r.stderr
    props = scanner.props()
    assert props["sonar.pullrequest.key"] == "42"
    assert props["sonar.pullrequest.branch"] == "feature/invoices"
    assert props["sonar.pullrequest.base"] == "main"
    assert "sonar.branch.name" not in props


@pytest.mark.parametrize("extra", [{"CI_COMMIT_BRANCH": "main"}, {"SONAR_BRANCH_ANALYSIS": "false"}],
                         ids=["default-branch", "branch-analysis-off"])
def test_no_branch_properties_on_the_default_branch_or_when_disabled(sonar, scanner, project, extra):
    stub = sonar("10.7", gate_status="OK")
    r = run_cli("sonar-scan", "--poll-interval", "0", env=branch_env(stub.url, scanner, **extra), cwd=project)
    assert r.returncode == 0, r.stderr
    assert not [k for k in scanner.props() if k.startswith(("sonar.branch.", "sonar.pullrequest."))]


def test_explicit_settings_and_scanner_opts_win(sonar, scanner, project):
    stub = sonar("10.7", gate_status="OK", project="billing-core")
    (project / "sonar-project.properties").write_text("sonar.tests=src/it\nsonar.exclusions=**/gen/**\n")
    env = branch_env(stub.url, scanner, SONAR_PROJECT_KEY="billing-core", SONAR_PROJECT_NAME="Billing core",
                     SONAR_PROJECT_VERSION="9.9.9", CI_COMMIT_TAG="v2.3.1",
                     SONAR_SCANNER_OPTS="-Dsonar.sources=src/main/java '-Dsonar.links.issue=https://x/y z'")
    r = run_cli("sonar-scan", "--poll-interval", "0", "--", "-Dsonar.cpd.exclusions=gen/**", "-Dsonar.verbose=true",
                "-Dsonar.scanner.skipJreProvisioning=false", env=env, cwd=project)
    assert r.returncode == 0, r.stderr
    props = scanner.props()
    assert props["sonar.projectKey"] == "billing-core"
    assert props["sonar.projectName"] == "Billing core"
    assert props["sonar.projectVersion"] == "9.9.9"
    assert props["sonar.sources"] == "src/main/java"
    assert props["sonar.links.issue"] == "https://x/y z"
    assert "sonar.tests" not in props  # sonar-project.properties defines it; the scanner reads that file
    # Arguments after -- come last; pysonar's flags go out bare, or not at all when false.
    assert scanner.recorded()["argv"][-2:] == ["-Dsonar.cpd.exclusions=gen/**", "-Dsonar.verbose"]


def test_version_from_tag_then_pom(sonar, scanner, project):
    stub = sonar("10.7", gate_status="OK")
    r = run_cli("sonar-scan", "--dry-run", env=branch_env(stub.url, scanner, CI_COMMIT_TAG="v2.3.1"), cwd=project)
    assert r.returncode == 0, r.stderr
    assert "-Dsonar.projectVersion=v2.3.1" in r.stdout
    assert not scanner.ran and stub.state.calls() == 0


def test_token_file_and_dry_run_never_print_the_token(sonar, scanner, project, tmp_path):
    stub = sonar("10.7", gate_status="OK")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    env = branch_env(stub.url, scanner, SONAR_TOKEN="", SONAR_TOKEN_FILE=str(token_file))
    r = run_cli("sonar-scan", "--dry-run", env=env, cwd=project)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(str(scanner.path))
    assert TOKEN not in r.stdout + r.stderr
    r = run_cli("sonar-scan", "--poll-interval", "0", env=env, cwd=project)
    assert r.returncode == 0, r.stderr
    assert scanner.recorded()["env"]["SONAR_TOKEN"] == TOKEN


def test_java_sources_without_classes_fail_before_scanning(sonar, scanner, tmp_path):
    stub = sonar("10.7")
    root = maven_project(tmp_path / "app", compiled=False)
    r = run_cli("sonar-scan", env=branch_env(stub.url, scanner), cwd=root)
    assert r.returncode == 1
    assert r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    assert "no target/classes" in r.stderr and "mvn package" in r.stderr
    assert not scanner.ran


def test_multi_module_build(sonar, scanner, tmp_path):
    stub = sonar("10.7", gate_status="OK")
    root = tmp_path / "parent"
    root.mkdir()
    (root / "pom.xml").write_text(POM.replace("<packaging>jar", "<packaging>pom"))
    for module in ("api", "core"):
        maven_project(root / module)
    r = run_cli("sonar-scan", "--poll-interval", "0", env=branch_env(stub.url, scanner), cwd=root)
    assert r.returncode == 0, r.stderr
    props = scanner.props()
    assert props["sonar.java.binaries"] == "api/target/classes,core/target/classes"
    assert props["sonar.sources"] == "api/src/main,core/src/main"


def test_custom_ca_reaches_python_and_java_sides(sonar, scanner, project, tmp_path):
    stub = sonar("10.7", gate_status="OK")
    key, cert = tmp_path / "ca.key", tmp_path / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=Acme Test CA"], check=True, capture_output=True)
    pem = cert.read_text()
    r = run_cli("sonar-scan", "--poll-interval", "0", env=branch_env(stub.url, scanner, CUSTOM_CA_CERTS=pem),
                cwd=project)
    assert r.returncode == 0, r.stderr
    bundle = Path(scanner.recorded()["env"]["REQUESTS_CA_BUNDLE"])
    assert pem.strip() in bundle.read_text()
    assert bundle.read_text().count("BEGIN CERTIFICATE") > 10  # the default trust is kept too
    props = scanner.props()
    if "sonar.scanner.truststorePath" in props:  # keytool present (the image has a JRE)
        listing = subprocess.run(["keytool", "-list", "-keystore", props["sonar.scanner.truststorePath"],
                                  "-storepass", props["sonar.scanner.truststorePassword"]],
                                 capture_output=True, text=True, check=True)
        assert "pipeyard-custom-1" in listing.stdout


def test_bad_custom_ca_is_a_config_error(sonar, scanner, project):
    stub = sonar("10.7")
    r = run_cli("sonar-scan", env=branch_env(stub.url, scanner, CUSTOM_CA_CERTS="/no/such/ca.pem"), cwd=project)
    assert r.returncode == 1
    assert "CUSTOM_CA_CERTS='/no/such/ca.pem' is neither PEM text nor an existing file" in r.stderr
    assert not scanner.ran


def test_scanner_failure_is_one_error(sonar, scanner, project):
    stub = sonar("10.7")
    r = run_cli("sonar-scan", env=branch_env(stub.url, scanner, SCANNER_EXIT="3"), cwd=project)
    assert r.returncode == 1
    assert "error: the SonarScanner failed with exit code 3" in r.stderr
    assert "Traceback" not in r.stderr
    assert stub.state.calls() == 0


def test_missing_scanner_names_the_setting(sonar, project):
    stub = sonar("10.7")
    env = job_env(SONAR_HOST_URL=stub.url, SONAR_TOKEN=TOKEN, CI_PROJECT_PATH="a/b",
                  SONAR_SCANNER="/nonexistent/pysonar")
    r = run_cli("sonar-scan", env=env, cwd=project)
    assert r.returncode == 1
    assert "SONAR_SCANNER=/nonexistent/pysonar is not an executable on PATH" in r.stderr


def test_missing_settings_are_reported_together(project):
    r = run_cli("sonar-scan", env=job_env(), cwd=project)
    assert r.returncode == 1
    assert "SONAR_HOST_URL is not set" in r.stderr and "SONAR_TOKEN is not set" in r.stderr


def test_help_and_version():
    assert "quality gate" in run_cli("sonar-scan", "--help").stdout
    r = run_cli("sonar-scan", "--version")
    assert r.returncode == 0 and "sonar-scan, version" in r.stdout


def test_show_config_masks_the_token(project):
    r = run_cli("sonar-scan", "--show-config", env=job_env(SONAR_TOKEN=TOKEN, SONAR_HOST_URL="https://s.example"),
                cwd=project)
    assert r.returncode == 0
    assert "SONAR_TOKEN" in r.stdout and TOKEN not in r.stdout


def _real_pysonar() -> str | None:
    from tests.fixtures import VENV_BIN
    found = VENV_BIN / "pysonar"
    return str(found) if found.is_file() else None


@pytest.mark.skipif(_real_pysonar() is None, reason="pysonar (the `sonar` extra) is not installed in this venv")
def test_real_pysonar_accepts_the_command(sonar, scanner, project):
    """pysonar's own dry run validates the exact argument list sonar-scan builds (no server needed)."""
    stub = sonar("10.7")
    env = branch_env(stub.url, scanner, SONAR_SCANNER=_real_pysonar(),
                     SONAR_SCANNER_OPTS="-Dsonar.scanner.dryRun=true")
    r = run_cli("sonar-scan", "--no-wait", env=env, cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Configuration validation PASSED" in r.stdout + r.stderr
    assert TOKEN not in r.stdout + r.stderr
