"""gitlab-ci-local gets a secret in a variables file, never on its command line where `ps` shows it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipeyard.demo.localci import LocalProject, secret_settings

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


def test_the_real_gitlab_ci_local_hands_the_secret_to_the_job(tmp_path: Path):
    """gitlab-ci-local reads the file at `${cwd}/${variablesFile}`: the job must really see the secret."""
    import subprocess

    from pipeyard.demo.localci import gitlab_ci_local
    from tests.fixtures import ROOT

    repo = tmp_path / "project"
    repo.mkdir()
    (repo / ".gitlab-ci.yml").write_text(
        'job:\n  script:\n    - test "$MAVEN_REPO_PASSWORD" = pw-Do-Not-Show && echo "password arrived for $MAVEN_REPO_USER"\n')
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "job"], cwd=repo, check=True)
    done = LocalProject(repo, gitlab_ci_local(ROOT)).run(
        "job", variables={"MAVEN_REPO_USER": "ci", "MAVEN_REPO_PASSWORD": "pw-Do-Not-Show"}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "password arrived for ci" in done.stdout
