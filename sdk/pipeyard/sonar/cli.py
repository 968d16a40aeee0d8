"""`sonar-scan`: run the SonarScanner with CI-derived properties, then wait for the quality gate."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import click

from .. import __version__, settings
from ..cli.config_option import show_config_option
from ..cli.errors import debug_option, run_main, setup_logging
from . import gate, scan, tls
from .client import SonarClient

log = logging.getLogger("pipeyard.sonar")


@click.command(context_settings={"help_option_names": ["-h", "--help"], "ignore_unknown_options": True})
@click.version_option(__version__, prog_name="sonar-scan")
@debug_option
@show_config_option("sonar")
@click.option("--dry-run", is_flag=True, help="Print the scanner command and its properties, run nothing.")
@click.option("--skip-scan", is_flag=True,
              help="Only wait for the gate of an analysis already run in this job (e.g. by mvn sonar:sonar).")
@click.option("--wait/--no-wait", default=None, help="Wait for the quality gate [SONAR_QUALITY_GATE_WAIT].")
@click.option("--report-task", type=click.Path(path_type=Path),
              help="The scanner's report-task.txt (default: .scannerwork/ or target/sonar/, the newest).")
@click.option("--poll-interval", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds before the first poll of the background task; later polls back off to 10 s.")
@click.argument("scanner_args", nargs=-1, type=click.UNPROCESSED)
def sonar_scan(dry_run: bool, skip_scan: bool, wait: bool | None, report_task: Path | None, poll_interval: float,
               scanner_args: tuple[str, ...]) -> None:
    """Scan the project with SonarScanner, then wait for its quality gate.

    Properties come from CI variables: the project key (SONAR_PROJECT_KEY or the
    GitLab project path), name, version, branch or merge request, and the output
    of a Maven build. Arguments after -- go to the scanner unchanged.

    Writes sonar-gate.json and sonar-gate.env (dotenv) and exits non-zero when
    the gate is ERROR, unless SONAR_QUALITY_GATE_ALLOW_FAILURE=true.
    """
    cwd = Path.cwd()
    resolved = settings.load("sonar", overrides={"SONAR_QUALITY_GATE_WAIT": wait})
    if not skip_scan:
        plan = scan.plan_scan(resolved, os.environ, cwd, scanner_args)
        if dry_run:
            click.echo(plan.shown())
            click.echo("# SONAR_TOKEN is passed in the scanner's environment", err=True)
            return
        scan.run_scan(plan, cwd)
    elif dry_run:
        click.echo("# --skip-scan: nothing to run", err=True)
        return
    if not resolved["SONAR_QUALITY_GATE_WAIT"]:
        log.info("not waiting for the quality gate (SONAR_QUALITY_GATE_WAIT=false)")
        return
    task = gate.read_report_task(gate.find_report_task(cwd, report_task))
    pem = tls.custom_pem(resolved.get("CUSTOM_CA_CERTS"))
    with tempfile.TemporaryDirectory(prefix="pipeyard-") as folder:
        client = SonarClient(resolved["SONAR_HOST_URL"], token=resolved["SONAR_TOKEN"],
                             timeout=resolved["SONAR_TIMEOUT"], verify=tls.bundle_file(pem, Path(folder)) or True)
        try:
            result = gate.wait_for_gate(client, task, resolved["SONAR_QUALITY_GATE_TIMEOUT"], poll_interval)
        except Exception as exc:
            # Later jobs read the artifacts even when the wait failed, so leave an honest summary.
            gate.write_artifacts(gate.GateResult(project_key=task.project_key, status="UNKNOWN",
                                                 ce_task_id=task.ce_task_id, dashboard_url=task.dashboard_url,
                                                 error=str(exc)), cwd)
            raise
    gate.write_artifacts(result, cwd)
    for line in gate.summary_lines(result):
        click.echo(line, err=True)
    gate.judge(result, resolved["SONAR_QUALITY_GATE_ALLOW_FAILURE"])


def main() -> None:
    setup_logging()
    run_main(sonar_scan, "sonar-scan")
