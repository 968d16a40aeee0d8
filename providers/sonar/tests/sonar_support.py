"""The sonar provider's test helpers: a recording scanner and a clean job environment (the SonarQube
stand-in itself is tests.servers.sonarqube, shared with the sendmail provider)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.servers.sonarqube import sonar  # noqa: F401 - the SonarQube stand-in, shared with sendmail

# Stands in for pysonar: records what it was given, then writes the report-task.txt
# a real scanner leaves behind, with the server's *public* URL as SonarQube does.
RECORDING_SCANNER = '''#!{python}
import json, os, sys
args = sys.argv[1:]
props = dict(a[2:].split("=", 1) for a in args if a.startswith("-D") and "=" in a)
record = {{"argv": args, "cwd": os.getcwd(),
          "env": {{k: os.environ.get(k) for k in ("SONAR_TOKEN", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
                                              "SONAR_SCANNER_JSON_PARAMS")}}}}
with open(os.environ["SCANNER_RECORD"], "w") as fh:
    json.dump(record, fh)
code = int(os.environ.get("SCANNER_EXIT", "0"))
if code:
    print("ERROR: the analysis failed (stub)", file=sys.stderr)
    sys.exit(code)
task = props.get("sonar.scanner.metadataFilePath", ".scannerwork/report-task.txt")
os.makedirs(os.path.dirname(task) or ".", exist_ok=True)
public = "https://sonar.example.com"
key = props.get("sonar.projectKey", "my_project")
with open(task, "w") as fh:
    fh.write(f"projectKey={{key}}\\nserverUrl={{public}}\\nserverVersion=10.7.0.96327\\n"
             f"dashboardUrl={{public}}/dashboard?id={{key}}\\nceTaskId=AYhSC2-LY0CHkWJxvNA9\\n"
             f"ceTaskUrl={{public}}/api/ce/task?id=AYhSC2-LY0CHkWJxvNA9\\n")
print("INFO: ANALYSIS SUCCESSFUL (stub)")
'''


class Scanner:
    def __init__(self, folder: Path):
        self.path = folder / "fake-scanner"
        self.record = folder / "scanner-record.json"
        self.path.write_text(RECORDING_SCANNER.format(python=sys.executable))
        self.path.chmod(0o755)

    def env(self) -> dict[str, str]:
        return {"SONAR_SCANNER": str(self.path), "SCANNER_RECORD": str(self.record)}

    @property
    def ran(self) -> bool:
        return self.record.is_file()

    def recorded(self) -> dict:
        return json.loads(self.record.read_text())

    def props(self) -> dict[str, str]:
        return dict(a[2:].split("=", 1) for a in self.recorded()["argv"] if a.startswith("-D") and "=" in a)


@pytest.fixture
def scanner(tmp_path: Path) -> Scanner:
    folder = tmp_path / "bin"
    folder.mkdir()
    return Scanner(folder)


CI_VARS = ("CI_PROJECT_PATH", "CI_PROJECT_TITLE", "CI_PROJECT_NAME", "CI_COMMIT_TAG", "CI_COMMIT_BRANCH",
           "CI_DEFAULT_BRANCH", "CI_COMMIT_SHA", "CI_PIPELINE_URL", "CI_PROJECT_URL", "CI_MERGE_REQUEST_IID",
           "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
SONAR_SETTINGS = ("SONAR_HOST_URL", "SONAR_TOKEN", "SONAR_TOKEN_FILE", "SONAR_PROJECT_KEY", "SONAR_PROJECT_NAME",
                  "SONAR_PROJECT_VERSION", "SONAR_BRANCH_ANALYSIS", "SONAR_QUALITY_GATE_WAIT",
                  "SONAR_QUALITY_GATE_TIMEOUT", "SONAR_QUALITY_GATE_ALLOW_FAILURE", "SONAR_SCANNER_OPTS",
                  "SONAR_SCANNER", "SONAR_TIMEOUT", "CUSTOM_CA_CERTS", "SONAR_MAVEN_SCANNER", "SONAR_SCANNER_MIRROR_URL",
                  "SONAR_SCANNER_CLI_VERSION", "SONAR_SCANNER_CLI_SHA256", "SONAR_MAVEN_PLUGIN_VERSION",
                  "MAVEN_MIRROR_URL", "MAVEN_REPO_USER", "MAVEN_REPO_PASSWORD", "MAVEN_REPO_PASSWORD_FILE",
                  "SONAR_USER_HOME")


def job_env(**values: str) -> dict[str, str]:
    """A job environment with nothing inherited from the machine running the tests.

    Empty counts as unset for pipeyard, so blanking is enough to isolate a test
    from a CI job's own variables.
    """
    env = {name: "" for name in (*CI_VARS, *SONAR_SETTINGS)}
    env["PIPEYARD_SITE_FILE"] = "/nonexistent/site.json"
    env.update(values)
    return env
