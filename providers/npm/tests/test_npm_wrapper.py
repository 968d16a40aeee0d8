"""The npm wrapper (providers/npm/rootfs/usr/local/bin/npm) in front of a recording stand-in for npm.

The stand-in (PIPEYARD_NPM_BIN) records the arguments and environment it gets, so
these tests check what the wrapper decides without starting npm. They run through
the runner, so on the host or inside the npm image alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers.runner import output
from tests.servers.toolwrap import WrapperJob, folder_for

TOKEN = "npm_FakeToken_0123456789"


class Job(WrapperJob):
    """A job whose stand-in npm logs npm's variables and whether NPM_TOKEN is TOKEN."""

    provider, command = "npm", "npm"
    shown = ("NPM_CONFIG_USERCONFIG", "NPM_CONFIG_CACHE", "NODE_EXTRA_CA_CERTS")
    secret, label = "NPM_TOKEN", "token"
    defaults = {"FAKE_EXPECT": TOKEN, "NPM_REGISTRY_URL": "https://npm.example.com/repository/npm-group/"}
    npm = WrapperJob.run

    def calls(self) -> list[dict[str, list[str]]]:
        """Each call's log as {key: values}: `arg` holds the arguments in order."""
        found = []
        for lines in self.log_lines():
            call: dict[str, list[str]] = {}
            for line in lines:
                key, _, value = line.partition("=")
                call.setdefault(key, []).append(value)
            found.append(call)
        return found


@pytest.fixture
def job(runner, workdir, request):
    return Job(runner, folder_for(workdir, request))


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
    # No CUSTOM_CA_CERTS: the wrapper adds nothing of its own; in the image, the image's setting (the
    # system bundle, for Node's own builds) stays as it was.
    assert call["NODE_EXTRA_CA_CERTS"] in ([""], ["/etc/ssl/certs/ca-certificates.crt"])


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
