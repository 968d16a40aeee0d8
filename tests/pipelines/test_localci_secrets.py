"""gitlab-ci-local gets a secret in a variables file, never on its command line where `ps` shows it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeyard.demo.localci import LocalProject, gitlab_ci_local, secret_settings
from pipeyard_kit.errors import UsageError
from tests.fixtures import ROOT

# Stands in for gitlab-ci-local: records its command line and the variables file it was handed.
RECORDER = '''#!{python}
import json, os, sys
args = sys.argv[1:]
found = {{}}
if "--variables-file" in args:
    path = args[args.index("--variables-file") + 1]
    found = {{"mode": oct(os.stat(path).st_mode & 0o777), "text": open(path).read(), "path": path}}
json.dump({{"argv": args, "file": found}}, open(os.environ["RECORD"], "w"))
'''


def test_secrets_go_in_a_private_variables_file(tmp_path: Path):
    tool = tmp_path / "gitlab-ci-local"
    tool.write_text(RECORDER.format(python=sys.executable))
    tool.chmod(0o755)
    record = tmp_path / "record.json"
    project = LocalProject(tmp_path, tool)
    assert {"MAVEN_REPO_PASSWORD", "SONAR_TOKEN", "GITOPS_TOKEN", "NPM_TOKEN", "SMTP_PASSWORD"} <= secret_settings()
    done = project.run("maven-build", variables={"MAVEN_REPO_USER": "ci", "MAVEN_REPO_PASSWORD": "pw-Do-Not-Show",
                                                 "SONAR_TOKEN": "squ_Do-Not-Show"},
                       env={"RECORD": str(record)})
    assert done.returncode == 0, done.stderr
    seen = json.loads(record.read_text())
    assert not any("Do-Not-Show" in a for a in seen["argv"])
    assert "MAVEN_REPO_USER=ci" in seen["argv"]
    assert seen["file"]["mode"] == "0o600"
    assert json.loads(seen["file"]["text"]) == {"MAVEN_REPO_PASSWORD": "pw-Do-Not-Show",
                                                "SONAR_TOKEN": "squ_Do-Not-Show"}
    assert not Path(seen["file"]["path"]).exists(), "the variables file outlives the run"


def test_no_variables_file_without_a_secret(tmp_path: Path):
    assert "--variables-file" not in LocalProject(tmp_path, tmp_path / "gcl").command(
        ("--list-json",), {"CI_PIPELINE_SOURCE": "push"}, None)


@pytest.mark.pipelines
def test_the_real_gitlab_ci_local_hands_the_secret_to_the_job(tmp_path: Path):
    """gitlab-ci-local joins --variables-file to its cwd: the secret must reach the job, not vanish."""
    try:
        tool = gitlab_ci_local(ROOT)
    except UsageError:
        pytest.skip("run `make setup` (gitlab-ci-local)")
    (tmp_path / ".gitlab-ci.yml").write_text('job:\n  script: [\'echo "seen=${MAVEN_REPO_PASSWORD:-unset}"\']\n')
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "a job"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, env=env)
    done = LocalProject(tmp_path, tool).run("--force-shell-executor", "job",
                                            variables={"MAVEN_REPO_PASSWORD": "pw-reaches-the-job"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "seen=pw-reaches-the-job" in done.stdout
