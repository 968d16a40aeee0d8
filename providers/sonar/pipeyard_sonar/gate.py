"""Waiting for the quality gate after a scan, as SonarSource's own gate action does.

1. read report-task.txt; 2. rewrite its ceTaskUrl onto the internal host URL
(the scanner records the server's public base URL, which runners often cannot
reach); 3. poll api/ce/task with backoff until done or timed out; 4. read
api/qualitygates/project_status?analysisId=. The summary is written as JSON and
as a dotenv file for later jobs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay

from pipeyard_kit.errors import PipeyardError, RemoteError
from pipeyard_kit.sonarqube import metrics
from pipeyard_kit.sonarqube.client import SonarClient

log = logging.getLogger("pipeyard.sonar")

CANDIDATES = (Path(".scannerwork/report-task.txt"), Path("target/sonar/report-task.txt"),
              Path("build/sonar/report-task.txt"))
WAITING = {"PENDING", "IN_PROGRESS"}
MAX_POLL_INTERVAL = 10.0
JSON_FILE = "sonar-gate.json"
ENV_FILE = "sonar-gate.env"


class QualityGateFailed(PipeyardError):
    """The gate is ERROR and failure is not allowed."""


@dataclass(frozen=True)
class ReportTask:
    path: Path
    project_key: str
    server_url: str
    dashboard_url: str
    ce_task_id: str
    ce_task_url: str


@dataclass
class GateResult:
    project_key: str
    status: str
    analysis_id: str = ""
    ce_task_id: str = ""
    dashboard_url: str = ""
    conditions: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def failed_conditions(self) -> list[dict[str, Any]]:
        return [c for c in self.conditions if c.get("status") == "ERROR"]


def find_report_task(cwd: Path, explicit: Path | None = None) -> Path:
    if explicit:
        path = explicit if explicit.is_absolute() else cwd / explicit
        if not path.is_file():
            raise PipeyardError(f"{explicit} does not exist", fix="point --report-task at the scanner's report-task.txt")
        return path
    found = [cwd / c for c in CANDIDATES if (cwd / c).is_file()]
    if not found:
        raise PipeyardError("no report-task.txt in .scannerwork/, target/sonar/ or build/sonar/",
                            fix="run the analysis first in this job (sonar-scan, or mvn sonar:sonar), "
                                "or pass --report-task FILE")
    # Both can exist when a job ran two scanners; the newest is this job's.
    return max(found, key=lambda p: p.stat().st_mtime)


def read_report_task(path: Path) -> ReportTask:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    missing = [k for k in ("ceTaskId", "ceTaskUrl") if not values.get(k)]
    if missing:
        raise PipeyardError(f"{path} lacks {', '.join(missing)}",
                            fix="the scan did not finish uploading: read the scanner output, then rerun the job")
    return ReportTask(path=path, project_key=values.get("projectKey", ""), server_url=values.get("serverUrl", ""),
                      dashboard_url=values.get("dashboardUrl", ""), ce_task_id=values["ceTaskId"],
                      ce_task_url=values["ceTaskUrl"])


def task_path(task: ReportTask) -> str:
    """ceTaskUrl relative to the server, so the client puts it on the internal URL."""
    server = task.server_url.rstrip("/")
    if server and task.ce_task_url.startswith(server + "/"):
        return task.ce_task_url[len(server) + 1:]
    parts = urlsplit(task.ce_task_url)
    index = parts.path.find("api/ce/task")
    if index >= 0:
        return parts.path[index:] + (f"?{parts.query}" if parts.query else "")
    return f"api/ce/task?id={task.ce_task_id}"


def _capped_wait(first: float, deadline: float, clock: Callable[[], float]) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        step = min(first * (1.5 ** (state.attempt_number - 1)), MAX_POLL_INTERVAL)
        return max(0.0, min(step, deadline - clock()))
    return wait


def wait_for_task(client: SonarClient, task: ReportTask, timeout: float, poll_interval: float = 2.0,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
                  ) -> dict[str, Any]:
    """Poll until the background task left the queue; the task dict on SUCCESS."""
    path = task_path(task)
    log.info("waiting up to %ss for SonarQube to process task %s", int(timeout), task.ce_task_id)
    deadline = clock() + timeout

    def poll() -> dict[str, Any]:
        data = client.json(path).get("task") or {}
        log.debug("task %s is %s", task.ce_task_id, data.get("status"))
        return data

    retrying = Retrying(retry=retry_if_result(lambda t: t.get("status") in WAITING),
                        stop=stop_after_delay(timeout), wait=_capped_wait(poll_interval, deadline, clock),
                        sleep=sleep, retry_error_callback=lambda state: state.outcome.result())
    result = retrying(poll)
    status = result.get("status", "")
    if status in WAITING:
        raise RemoteError(f"SonarQube had not processed the analysis after {int(timeout)} s "
                          f"(task {task.ce_task_id} still {status})",
                          fix="raise SONAR_QUALITY_GATE_TIMEOUT, or ask the SonarQube admins about the "
                              "Background Tasks queue")
    if status != "SUCCESS":
        detail = f": {result['errorMessage']}" if result.get("errorMessage") else ""
        raise RemoteError(f"SonarQube could not process the analysis (task {task.ce_task_id} {status}){detail}",
                          fix="open Project Settings > Background Tasks in SonarQube for the details")
    if not result.get("analysisId"):
        raise RemoteError(f"task {task.ce_task_id} finished without an analysisId",
                          fix="rerun the job; the server did not record the analysis")
    return result


def gate_status(client: SonarClient, analysis_id: str) -> dict[str, Any]:
    data = client.json("api/qualitygates/project_status", {"analysisId": analysis_id})
    return data.get("projectStatus") or {}


def wait_for_gate(client: SonarClient, task: ReportTask, timeout: float, poll_interval: float = 2.0) -> GateResult:
    ce = wait_for_task(client, task, timeout, poll_interval)
    status = gate_status(client, ce["analysisId"])
    return GateResult(project_key=task.project_key or ce.get("componentKey", ""), status=status.get("status", "NONE"),
                      analysis_id=ce["analysisId"], ce_task_id=task.ce_task_id, dashboard_url=task.dashboard_url,
                      conditions=[{k: c.get(k) for k in ("status", "metricKey", "comparator", "errorThreshold",
                                                         "actualValue")} for c in status.get("conditions", [])])


def write_artifacts(result: GateResult, folder: Path) -> None:
    (folder / JSON_FILE).write_text(json.dumps(asdict(result), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    env = {
        "SONAR_GATE_STATUS": result.status,
        "SONAR_GATE_PROJECT_KEY": result.project_key,
        "SONAR_GATE_ANALYSIS_ID": result.analysis_id,
        "SONAR_GATE_TASK_ID": result.ce_task_id,
        "SONAR_GATE_DASHBOARD_URL": result.dashboard_url,
        "SONAR_GATE_FAILED_CONDITIONS": str(len(result.failed_conditions)),
    }
    # dotenv reports take one line per variable: no newlines in values.
    lines = [f"{k}={' '.join(str(v).split())}" for k, v in env.items()]
    (folder / ENV_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary_lines(result: GateResult) -> list[str]:
    lines = [f"quality gate of {result.project_key}: {result.status}"]
    for cond in result.conditions:
        mark = "FAILED" if cond.get("status") == "ERROR" else cond.get("status", "")
        lines.append(f"  {mark:<6} {metrics.condition_text(cond)}")
    if result.dashboard_url:
        lines.append(f"  {result.dashboard_url}")
    return lines


def judge(result: GateResult, allow_failure: bool) -> None:
    """Raise on a red gate unless failure is allowed."""
    if result.status != "ERROR":
        return
    failed = "; ".join(metrics.condition_text(c) for c in result.failed_conditions) or "see the dashboard"
    if allow_failure:
        log.warning("the quality gate failed (%s); SONAR_QUALITY_GATE_ALLOW_FAILURE=true keeps the job green", failed)
        return
    where = f"see {result.dashboard_url}; " if result.dashboard_url else ""
    raise QualityGateFailed(f"the quality gate of {result.project_key} failed: {failed}",
                            fix=f"{where}fix the code, or set SONAR_QUALITY_GATE_ALLOW_FAILURE=true to report "
                                "without failing the job")
