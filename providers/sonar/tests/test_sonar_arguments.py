"""What sonar-scan hands the scanner unchanged: typos of its own flags refused, credentials never on the
scanner's command line nor in a dry run or a log."""

from __future__ import annotations

import json

import pytest
from test_sonar_scan import branch_env, maven_project

from pipeyard_sonar import arguments
from tests.fixtures import run_cli

SECRET = "squ_Passed-As-An-Argument-7f3a"


@pytest.mark.parametrize("argv, wanted", [
    (["--dryrun"], "--dry-run"),
    (["--skip-scn"], "--skip-scan"),
    (["--host-ur", "https://sonar.example.com"], "--host-url"),
    (["--", "--projet-key", "shop"], "--project-key"),
])
def test_a_typo_of_its_own_flags_is_a_usage_error_with_the_right_flag(argv, wanted, tmp_path):
    r = run_cli("sonar-scan", *argv, env={"SONAR_HOST_URL": "", "SONAR_TOKEN": ""}, cwd=tmp_path)
    assert r.returncode == 2
    [line] = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert f"did you mean {wanted}?" in line


def test_real_scanner_arguments_pass():
    arguments.refuse_lookalikes(["-Dsonar.exclusions=vendor/**", "--sonar-host-url", "https://h", "--verbose",
                                 "--dry-run", "--project-key", "k", "-X", "--define", "a=b", "--batch-mode"],
                                own=["--dry-run", "--skip-scan", "--host-url", "--project-key", "--wait"])


def test_credentials_given_as_arguments_reach_the_scanner_in_its_environment_only(sonar, scanner, tmp_path):
    project = maven_project(tmp_path / "billing")
    stub = sonar("10.7", gate_status="OK", project="acme_payments_billing")
    env = branch_env(stub.url, scanner, SONAR_SCANNER_OPTS=f"-Dsonar.login={SECRET}-login -Dsonar.exclusions=x")
    args = ["-Dsonar.password=" + SECRET + "-password", "--", "--token", SECRET, "--password", SECRET + "-unknown"]
    dry = run_cli("sonar-scan", "--dry-run", *args, env=env, cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert SECRET not in dry.stdout + dry.stderr
    assert "--password '********'" in dry.stdout
    real = run_cli("sonar-scan", "--poll-interval", "0", *args, env=env, cwd=project)
    assert real.returncode == 0, real.stderr
    assert SECRET not in real.stdout + real.stderr
    record = scanner.recorded()
    known = [a for a in record["argv"] if SECRET in a]
    # Only what no scanner knows as a credential option stays (masked in every log line).
    assert known == [SECRET + "-unknown"]
    assert record["env"]["SONAR_TOKEN"] == SECRET
    assert json.loads(record["env"][arguments.JSON_PARAMS]) == {
        "sonar.login": SECRET + "-login", "sonar.password": SECRET + "-password", "sonar.token": SECRET}


def test_masking_covers_every_form():
    argv = ["pysonar", "-Dsonar.token=a1", "--token", "b2", "-t", "c3", "--sonar-token=d4", "-Dsonar.login=e5",
            "--sonar-scanner-proxy-password", "f6", "-Dsonar.projectKey=shop", "-Dsonar.host.url=https://s/"]
    assert arguments.shown(argv) == ["pysonar", "-Dsonar.token=********", "--token", "********", "-t", "********",
                                     "--sonar-token=********", "-Dsonar.login=********",
                                     "--sonar-scanner-proxy-password", "********", "-Dsonar.projectKey=shop",
                                     "-Dsonar.host.url=https://s/"]


def test_the_pysonar_options_list_is_pysonars():
    """The list sonar-scan checks typos against is the installed pysonar's own (pysonar pins it)."""
    cli = pytest.importorskip("pysonar_scanner.configuration.cli")
    parser = cli.CliConfigurationLoader._CliConfigurationLoader__create_parser()
    installed = {o for action in parser._actions for o in action.option_strings if o.startswith("--")}
    assert installed == arguments.PYSONAR_OPTIONS
