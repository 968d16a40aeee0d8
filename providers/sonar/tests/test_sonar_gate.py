"""The quality-gate wait against a SonarQube stub: polling, the URL rewrite, the verdict, the artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sonar_support import job_env

from pipeyard_kit.errors import RemoteError
from pipeyard_kit.sonarqube.client import SonarClient
from pipeyard_kit.sonarqube.compat import Compat, parse_version
from pipeyard_sonar import gate
from tests.fixtures import run_cli
from tests.servers.sonarqube import ANALYSIS_ID, PROJECT, TASK_ID, TOKEN, VERSIONS

PUBLIC = "https://sonar.example.com"  # what the scanner records; unreachable from here on purpose


def write_task(folder: Path, where: str = ".scannerwork") -> Path:
    path = folder / where / "report-task.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"projectKey={PROJECT}\nserverUrl={PUBLIC}\nserverVersion=10.7.0.96327\n"
                    f"dashboardUrl={PUBLIC}/dashboard?id={PROJECT}\nceTaskId={TASK_ID}\n"
                    f"ceTaskUrl={PUBLIC}/api/ce/task?id={TASK_ID}\n")
    return path


def wait_env(url: str, **extra: str) -> dict[str, str]:
    return job_env(**{"SONAR_HOST_URL": url, "SONAR_TOKEN": TOKEN, "SONAR_QUALITY_GATE_TIMEOUT": "30", **extra})


def wait(tmp_path: Path, url: str, *args: str, **extra: str):
    return run_cli("sonar-scan", "--skip-scan", "--poll-interval", "0", *args, env=wait_env(url, **extra),
                   cwd=tmp_path)


@pytest.mark.parametrize("version", ["9.9", "10.7", "2025.1"])
def test_red_gate_fails_the_job_and_writes_artifacts(sonar, tmp_path, version):
    stub = sonar(version)
    write_task(tmp_path)
    r = wait(tmp_path, stub.url)
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "quality gate of my_project failed" in lines[0]
    assert "Coverage on new code 64.0% (required ≥ 80.0%)" in lines[0]
    assert "SONAR_QUALITY_GATE_ALLOW_FAILURE=true" in lines[0]
    # The task was polled on the internal URL until done, then the gate read by analysis id.
    assert stub.state.calls("api/ce/task") == 3
    status_calls = [p for path, p in stub.state.requests if path == "api/qualitygates/project_status"]
    assert status_calls == [{"analysisId": ANALYSIS_ID}]
    summary = json.loads((tmp_path / "sonar-gate.json").read_text())
    assert summary["status"] == "ERROR" and summary["analysis_id"] == ANALYSIS_ID
    assert [c["metricKey"] for c in summary["conditions"] if c["status"] == "ERROR"] == [
        "new_coverage", "new_reliability_rating"]
    dotenv = dict(line.split("=", 1) for line in (tmp_path / "sonar-gate.env").read_text().splitlines())
    assert dotenv["SONAR_GATE_STATUS"] == "ERROR"
    assert dotenv["SONAR_GATE_FAILED_CONDITIONS"] == "2"
    assert dotenv["SONAR_GATE_DASHBOARD_URL"] == f"{PUBLIC}/dashboard?id={PROJECT}"
    assert TOKEN not in r.stderr + r.stdout


def test_allow_failure_reports_but_exits_zero(sonar, tmp_path):
    stub = sonar("10.7")
    write_task(tmp_path)
    r = wait(tmp_path, stub.url, SONAR_QUALITY_GATE_ALLOW_FAILURE="true")
    assert r.returncode == 0, r.stderr
    assert "quality gate of my_project: ERROR" in r.stderr
    assert "keeps the job green" in r.stderr


def test_green_gate_and_maven_plugin_report_location(sonar, tmp_path):
    stub = sonar("9.9", gate_status="OK")
    write_task(tmp_path, "target/sonar")
    r = wait(tmp_path, stub.url)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "sonar-gate.json").read_text())["status"] == "OK"


def test_no_wait_skips_the_gate(sonar, tmp_path):
    stub = sonar("10.7")
    r = wait(tmp_path, stub.url, "--no-wait")
    assert r.returncode == 0, r.stderr
    assert stub.state.calls() == 0


def test_failed_background_task_names_the_cause(sonar, tmp_path):
    stub = sonar("10.7", task_statuses=["IN_PROGRESS", "FAILED"])
    write_task(tmp_path)
    r = wait(tmp_path, stub.url)
    assert r.returncode == 1
    assert "could not process the analysis" in r.stderr and "Unsupported language: cobol" in r.stderr
    assert "Background Tasks" in r.stderr


def test_timeout_while_queued(sonar, tmp_path):
    stub = sonar("10.7", task_statuses=["PENDING"])
    write_task(tmp_path)
    r = run_cli("sonar-scan", "--skip-scan", "--poll-interval", "0.2",
                env=wait_env(stub.url, SONAR_QUALITY_GATE_TIMEOUT="1"), cwd=tmp_path)
    assert r.returncode == 1
    assert "had not processed the analysis after 1 s" in r.stderr
    assert "SONAR_QUALITY_GATE_TIMEOUT" in r.stderr
    assert 2 <= stub.state.calls("api/ce/task") <= 8  # backed off, not hammered
    assert json.loads((tmp_path / "sonar-gate.json").read_text())["status"] == "UNKNOWN"


def test_wrong_token_is_one_clear_error(sonar, tmp_path):
    stub = sonar("10.7")
    write_task(tmp_path)
    r = wait(tmp_path, stub.url, SONAR_TOKEN="squ_wrong")
    assert r.returncode == 1
    assert f"SonarQube at {stub.url} (SONAR_HOST_URL) rejected the token (401" in r.stderr
    assert "squ_wrong" not in r.stderr


def test_server_error_is_one_clear_error(sonar, tmp_path):
    stub = sonar("10.7", fail={"api/qualitygates/project_status": (500, "An error has occurred")})
    write_task(tmp_path)
    r = wait(tmp_path, stub.url)
    assert r.returncode == 1
    assert "failed with HTTP 500 on api/qualitygates/project_status: An error has occurred" in r.stderr
    assert r.stderr.count("error:") == 1


def test_unreachable_server_names_the_setting(tmp_path):
    write_task(tmp_path)
    r = wait(tmp_path, "http://127.0.0.1:9")
    assert r.returncode == 1
    assert "cannot reach SonarQube at http://127.0.0.1:9" in r.stderr and "check SONAR_HOST_URL" in r.stderr


def test_missing_report_task(sonar, tmp_path):
    stub = sonar("10.7")
    r = wait(tmp_path, stub.url)
    assert r.returncode == 1
    assert "no report-task.txt" in r.stderr


# -- in-process: the pieces -------------------------------------------------


def test_ce_task_url_is_rewritten_onto_the_internal_url(tmp_path):
    task = gate.read_report_task(write_task(tmp_path))
    assert gate.task_path(task) == f"api/ce/task?id={TASK_ID}"
    with_context = gate.ReportTask(tmp_path, "k", "https://pub.example/sonar", "", "T1",
                                   "https://pub.example/sonar/api/ce/task?id=T1")
    assert gate.task_path(with_context) == "api/ce/task?id=T1"
    other_host = gate.ReportTask(tmp_path, "k", "", "", "T2", "http://10.0.0.5:9000/api/ce/task?id=T2")
    assert gate.task_path(other_host) == "api/ce/task?id=T2"


def test_polling_backs_off(sonar, tmp_path):
    stub = sonar("10.7", task_statuses=["PENDING", "PENDING", "IN_PROGRESS", "IN_PROGRESS", "SUCCESS"])
    task = gate.read_report_task(write_task(tmp_path))
    slept: list[float] = []
    now = [0.0]

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    client = SonarClient(stub.url, token=TOKEN)
    result = gate.wait_for_task(client, task, timeout=300, poll_interval=2, clock=lambda: now[0], sleep=sleep)
    assert result["analysisId"] == ANALYSIS_ID
    assert slept == [2, 3, 4.5, 6.75]


def test_transient_503_is_retried(sonar):
    stub = sonar("10.7")
    stub.state.fail["api/server/version"] = (503, None)
    client = SonarClient(stub.url, token=TOKEN, retries=2, backoff=0.01)
    with pytest.raises(RemoteError, match="HTTP 503"):
        client.compat()
    assert stub.state.calls("api/server/version") == 3


def test_versions_order_and_parameters():
    assert parse_version(VERSIONS["2025.1"]) > parse_version(VERSIONS["10.7"]) > parse_version(VERSIONS["9.9"])
    old, new = Compat(parse_version(VERSIONS["9.9"])), Compat(parse_version(VERSIONS["2025.1"]))
    assert (old.issues_component_param, new.issues_component_param) == ("componentKeys", "components")
    assert (old.hotspots_project_param, new.hotspots_project_param) == ("projectKey", "project")
    assert "impactSeverities" not in old.issue_facets and "impactSeverities" in new.issue_facets
    assert "software_quality_security_rating" in new.report_metrics()
    assert "software_quality_security_rating" not in old.report_metrics()
    with pytest.raises(RemoteError, match="not a version"):
        parse_version("<html>login</html>")
