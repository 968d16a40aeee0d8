"""`sonar-scan`: run the SonarScanner with CI-derived properties, then wait for the quality gate."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from pipeyard_kit import options, settings, trust
from pipeyard_kit.console import run_main, setup_logging
from pipeyard_kit.sonarqube.client import SonarClient
from pipeyard_sonar import arguments, gate, scan, scanners

PROVIDER = "sonar"
log = logging.getLogger("pipeyard.sonar")


@click.command(context_settings={"help_option_names": ["-h", "--help"], "ignore_unknown_options": True})
@options.common_options(PROVIDER, "sonar-scan")
@click.option("--dry-run", is_flag=True, help="Print the scanner command and its properties, run nothing.")
@click.option("--skip-scan", is_flag=True,
              help="Only wait for the gate of an analysis already run in this job (e.g. by mvn sonar:sonar).")
@options.setting_options(PROVIDER)
@click.option("--report-task", type=click.Path(path_type=Path),
              help="The scanner's report-task.txt (default: .scannerwork/ or target/sonar/, the newest).")
@click.option("--poll-interval", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds before the first poll of the background task; later polls back off to 10 s.")
@click.argument("scanner_args", nargs=-1, type=click.UNPROCESSED)
def sonar_scan(dry_run: bool, skip_scan: bool, report_task: Path | None, poll_interval: float,
               scanner_args: tuple[str, ...], **setting_flags: Any) -> None:
    """Scan the project with SonarScanner, then wait for its quality gate.

    Properties come from CI variables: the project key (SONAR_PROJECT_KEY or the
    GitLab project path), name, version, branch or merge request, and the output
    of a Maven build. Arguments after -- go to the scanner unchanged.

    The scanner follows the server: pysonar from SonarQube 10.6, the SonarScanner
    CLI (from SONAR_SCANNER_MIRROR_URL, checked against its pinned sha256) below,
    the sonar-maven-plugin for Maven projects as SONAR_MAVEN_SCANNER says.

    Writes sonar-gate.json and sonar-gate.env (dotenv) and exits non-zero when
    the gate is ERROR, unless SONAR_QUALITY_GATE_ALLOW_FAILURE=true.
    """
    own = [o for p in click.get_current_context().command.params for o in (*p.opts, *p.secondary_opts)]
    arguments.refuse_lookalikes(scanner_args, own)
    cwd = Path.cwd()
    resolved = settings.load(PROVIDER, overrides=options.overrides(setting_flags))

    def client() -> SonarClient:
        return SonarClient(resolved["SONAR_HOST_URL"], token=resolved["SONAR_TOKEN"], timeout=resolved["SONAR_TIMEOUT"],
                           verify=trust.bundle_file(resolved.get("CUSTOM_CA_CERTS")) or True)

    if not skip_scan:
        plan = scan.plan_scan(resolved, os.environ, cwd, scanner_args)
        version = client().compat().version if scanners.needs_version(resolved) else None
        choice = scanners.choose(resolved, cwd, version, resolved["SONAR_HOST_URL"])
        log.info("scanner: %s (%s)", choice.kind, choice.reason)
        scan.bind(plan, choice, resolved, os.environ, cwd, dry_run=dry_run)
        if dry_run:
            click.echo(plan.shown())
            click.echo("# SONAR_TOKEN, and any credential given as an argument, reach the scanner in its "
                       "environment (SONAR_TOKEN, SONAR_SCANNER_JSON_PARAMS)", err=True)
            return
        scan.run_scan(plan, cwd)
    elif dry_run:
        click.echo("# --skip-scan: nothing to run", err=True)
        return
    if not resolved["SONAR_QUALITY_GATE_WAIT"]:
        log.info("not waiting for the quality gate (SONAR_QUALITY_GATE_WAIT=false)")
        return
    task = gate.read_report_task(gate.find_report_task(cwd, report_task))
    try:
        result = gate.wait_for_gate(client(), task, resolved["SONAR_QUALITY_GATE_TIMEOUT"], poll_interval)
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
