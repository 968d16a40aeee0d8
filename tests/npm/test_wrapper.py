"""The npm wrapper (providers/npm/rootfs/usr/local/bin/npm) in front of a recording stand-in for npm.

The stand-in (PIPEYARD_NPM_BIN) records the arguments and environment it gets, so
these tests check what the wrapper decides without starting npm. They run through
the runner, so on the host or inside the npm image alike.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.servers.runner import output

TOKEN = "npm_FakeToken_0123456789"
FAKE_NPM = """#!/bin/bash
# Records what the wrapper handed over, then exits as told.
{
  echo "--- call"
  printf 'arg=%s\\n' "$@"
  for name in NPM_CONFIG_USERCONFIG NPM_CONFIG_CACHE NODE_EXTRA_CA_CERTS; do printf '%s=%s\\n' "$name" "${!name-}"; done
  if [[ -z ${NPM_TOKEN-} ]]; then echo token=unset
  elif [[ $NPM_TOKEN == "$FAKE_EXPECT" ]]; then echo token=match
  else echo token=mismatch; fi
} >>"$FAKE_LOG"
echo fake-npm-output
exit "${FAKE_EXIT:-0}"
"""


class Job:
    """One test's project, state folder and stand-in npm, all under the runner's work folder."""

    def __init__(self, runner, folder: Path):
        self.runner = runner
        self.folder = folder
        self.project = folder / "project"
        self.project.mkdir(parents=True)
        self.state = folder / "state"
        self.log = folder / "npm.log"
        fake = folder / "fake-npm"
        fake.write_text(FAKE_NPM)
        fake.chmod(0o755)
        self.env = {"CI_PROJECT_DIR": str(self.project), "PIPEYARD_STATE_DIR": str(self.state),
                    "PIPEYARD_NPM_BIN": str(fake), "FAKE_LOG": str(self.log), "FAKE_EXPECT": TOKEN,
                    "NPM_REGISTRY_URL": "https://npm.example.com/repository/npm-group/"}

    def npm(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.runner.run(["npm", *args], env={**self.env, **env}, cwd=self.project)

    def calls(self) -> list[dict[str, list[str]]]:
        text = self.log.read_text() if self.log.exists() else ""
        found = []
        for chunk in text.split("--- call")[1:]:
            call: dict[str, list[str]] = {}
            for line in chunk.strip().splitlines():
                key, _, value = line.partition("=")
                call.setdefault(key, []).append(value)
            found.append(call)
        return found

    @property
    def current(self) -> Path:
        return self.state / "npm" / "current.sh"


@pytest.fixture
def job(runner, workdir, request):
    return Job(runner, workdir / re.sub(r"\W+", "-", request.node.name))


def test_first_call_configures_then_runs_npm_with_the_provider_environment(job):
    done = job.npm("ci", "--ignore-scripts")
    assert done.returncode == 0, output(done)
    assert done.stdout == "fake-npm-output\n"  # the configurator speaks on stderr only
    [call] = job.calls()
    assert call["arg"] == ["ci", "--ignore-scripts"]
    assert call["NPM_CONFIG_CACHE"] == [f"{job.project}/.npm"]
    userconfig = Path(call["NPM_CONFIG_USERCONFIG"][0])
    assert userconfig.parent.parent == job.state / "npm"
    assert "registry=https://npm.example.com/repository/npm-group/" in userconfig.read_text()
    assert call["NODE_EXTRA_CA_CERTS"] == [""]


def test_current_configuration_and_nested_calls_cost_no_configurator_run(job):
    job.npm("ci")
    stamp = job.current.stat().st_mtime_ns
    first = job.calls()[0]
    again = job.npm("test")
    # npm runs scripts with the wrapper's exports in their environment; a script calling npm again:
    nested = job.npm("run", "lint", NPM_CONFIG_CACHE=first["NPM_CONFIG_CACHE"][0],
                     NPM_CONFIG_USERCONFIG=first["NPM_CONFIG_USERCONFIG"][0])
    for done in (again, nested):
        assert done.returncode == 0, output(done)
        assert done.stderr == ""
    assert job.current.stat().st_mtime_ns == stamp


def test_token_file_reaches_npm_as_the_variable_only(job):
    secret = job.folder / "npm-token"
    secret.write_text(f"  {TOKEN}\n")
    first = job.npm("ci", NPM_TOKEN_FILE=str(secret))
    again = job.npm("ci", NPM_TOKEN_FILE=str(secret))
    for done in (first, again):
        assert done.returncode == 0, output(done)
        assert TOKEN not in output(done)
    assert [c["token"] for c in job.calls()] == [["match"], ["match"]]
    userconfig = Path(job.calls()[0]["NPM_CONFIG_USERCONFIG"][0]).read_text()
    assert "//npm.example.com/repository/npm-group/:_authToken=${NPM_TOKEN}" in userconfig


def test_publish_without_a_token_stops_before_npm(job):
    done = job.npm("publish", "--access", "restricted")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: NPM_TOKEN is not set: npm publish needs a token")
    assert job.calls() == []
    assert job.npm("publish", "--dry-run").returncode == 0


def test_a_bad_scope_stops_before_npm_with_one_line(job):
    done = job.npm("ci", NPM_SCOPED_REGISTRIES="corp=https://npm.example.com/corp/")
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: NPM_SCOPED_REGISTRIES entry 'corp=https://npm.example.com/corp/' has no @scope")
    assert job.calls() == []


def test_failed_install_names_a_refused_token(job, registry):
    done = job.npm("ci", FAKE_EXIT="1", NPM_REGISTRY_URL=registry.url, NPM_TOKEN=TOKEN)
    assert done.returncode == 1
    assert f"error: NPM_TOKEN was refused by {registry.url}/" in done.stderr
    assert TOKEN not in output(done)


def test_failed_install_with_a_good_token_adds_nothing(job, registry):
    done = job.npm("ci", FAKE_EXIT="1", NPM_REGISTRY_URL=registry.url, NPM_TOKEN=registry.token,
                   FAKE_EXPECT=registry.token)
    assert done.returncode == 1
    assert "error:" not in done.stderr


def test_exit_status_passes_through(job):
    assert job.npm("test", FAKE_EXIT="7").returncode == 7
