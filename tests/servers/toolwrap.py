"""What the tests of a wrapped build tool share: the maven provider's mvn, the npm provider's npm.

Each such provider puts a bash wrapper in front of its tool, and the wrapper
runs the provider's `<provider>-configure` command. The parts of their tests
kept here differ only in names, which are the parameters: the provider, the
command its wrapper is named after, the variables worth recording.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.fixtures import VENV_BIN
from tests.servers.runner import make_runner


def runner_fixtures(provider: str):
    """The module-scoped `workdir` and `runner` fixtures for `provider`; a conftest binds them to those names.

    The runner comes from make_runner(), so setting PIPEYARD_TEST_IMAGE_<PROVIDER>
    runs the tests inside that built image.
    """

    @pytest.fixture(scope="module")
    def workdir(tmp_path_factory) -> Path:
        """One folder per test module: the podman runner mounts it, so all inputs live here."""
        return tmp_path_factory.mktemp(f"{provider}-work")

    @pytest.fixture(scope="module")
    def runner(workdir):
        return make_runner(provider, workdir)

    return workdir, runner


def skip_tests_using(items: list[pytest.Item], fixture: str, reason: str) -> None:
    """Skip each collected test that asks for `fixture`; the others still run."""
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if fixture in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


# The stand-in for the wrapped tool, after a line of WrapperJob's that names what
# to log ($shown), the secret to check against FAKE_EXPECT ($secret, logged as
# $label) and what to print ($output). WrapperJob.log_lines() reads the log back.
STAND_IN = """\
# Records what the wrapper handed over, then exits as told.
{
  echo "--- call"
  printf 'arg=%s\\n' "$@"
  for name in $shown; do printf '%s=%s\\n' "$name" "${!name-}"; done
  if [[ -z ${!secret-} ]]; then echo "$label=unset"
  elif [[ ${!secret} == "$FAKE_EXPECT" ]]; then echo "$label=match"
  else echo "$label=mismatch"; fi
} >>"$FAKE_LOG"
echo "$output"
exit "${FAKE_EXIT:-0}"
"""


class WrapperJob:
    """One test's project, state folder and stand-in tool, all under the runner's work folder.

    A subclass names the provider and `command`, the variables the stand-in
    records (`shown`), the secret variable it compares with FAKE_EXPECT and the
    word it logs that under (`secret`, `label`), and the job's variables
    (`defaults`). The wrapper finds the stand-in through PIPEYARD_<COMMAND>_BIN.
    """

    provider: str
    command: str
    shown: tuple[str, ...]
    secret: str
    label: str
    defaults: dict[str, str]

    def __init__(self, runner, folder: Path):
        self.runner = runner
        self.folder = folder
        self.project = folder / "project"
        self.project.mkdir(parents=True)
        self.state = folder / "state"
        self.log = folder / f"{self.command}.log"
        self.fake = folder / f"fake-{self.command}"
        names = (f"shown='{' '.join(self.shown)}' secret={self.secret} label={self.label}"
                 f" output=fake-{self.command}-output")
        self.fake.write_text(f"#!/bin/bash\n{names}\n{STAND_IN}")
        self.fake.chmod(0o755)
        self.env = {"CI_PROJECT_DIR": str(self.project), "PIPEYARD_STATE_DIR": str(self.state),
                    f"PIPEYARD_{self.command.upper()}_BIN": str(self.fake), "FAKE_LOG": str(self.log),
                    **self.defaults}

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`command *args` through the wrapper in the project, with `env` over the job's variables."""
        return self.runner.run([self.command, *args], env={**self.env, **env}, cwd=self.project)

    def log_lines(self) -> list[list[str]]:
        """The stand-in's log lines, one list per call; none when it never ran."""
        text = self.log.read_text() if self.log.exists() else ""
        return [c.strip().splitlines() for c in text.split("--- call")[1:]]

    @property
    def current(self) -> Path:
        return self.state / self.provider / "current.sh"


def folder_for(workdir: Path, request: pytest.FixtureRequest) -> Path:
    """A folder in `workdir` named after the requesting test, so each test starts clean."""
    return workdir / re.sub(r"\W+", "-", request.node.name)


def env_for(tmp_path: Path, **values: str) -> dict[str, str]:
    """A clean job environment: no host variables, no site file unless a test gives one."""
    (tmp_path / "project").mkdir(exist_ok=True)
    return {"HOME": str(tmp_path), "CI_PROJECT_DIR": str(tmp_path / "project"),
            "PIPEYARD_SITE_FILE": str(tmp_path / "no-site.json"), "PATH": os.environ["PATH"], **values}


def run_configure(command: str, tmp_path: Path, *args: str,
                  env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run this checkout's `command` (e.g. maven-configure) with exactly `env`, capturing its output."""
    return subprocess.run([str(VENV_BIN / command), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False)
