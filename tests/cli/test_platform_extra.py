"""`pipeyard` installed without its platform extra names the extra, not an internal error."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.fixtures import ROOT, VENV_BIN


@pytest.mark.parametrize("args, missing", [(["check"], "check_jsonschema"), (["lint", "x.yml"], "check_jsonschema"),
                                           (["build", "maven"], "docker")])
def test_a_missing_platform_package_names_the_extra_to_install(tmp_path, args, missing):
    # The package is made unimportable the way an installation without the extra would leave it.
    blocker = tmp_path / "blocked" / missing
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(f"raise ModuleNotFoundError({f'No module named {missing}'!r}, name={missing!r})\n")
    (tmp_path / "x.yml").write_text("job: {script: [true]}\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "blocked")}
    env.pop("TRACE", None)
    result = subprocess.run([str(VENV_BIN / "pipeyard"), *args], capture_output=True, text=True, cwd=ROOT if
                            args[0] != "lint" else tmp_path, env=env, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pip install 'pipeyard[platform]'" in result.stderr and "internal error" not in result.stderr
    assert "Traceback" not in result.stderr
