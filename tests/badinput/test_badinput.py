"""The bad-input suite: every console script, given bad flags, variables and files, unreachable and
misbehaving servers, wrong checksums and planted secrets, answers with one `error:` line that names
the setting and the fix, exits 2 for usage and 1 for a failure, shows no traceback, and leaks no
secret into its output or any file it writes.

The cases run in this process (PIPEYARD_BADINPUT=process runs each as a real process instead);
tests/images/test_badinput_images.py runs the provider commands' cases again inside the images.
"""

from __future__ import annotations

import os

import pytest

from tests.badinput import harness
from tests.badinput.tables import ALL_CASES, scripts_covered

PROCESS = os.environ.get("PIPEYARD_BADINPUT") == "process"


def _param(case: harness.Case):
    marks = [pytest.mark.browser] if case.browser else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in ALL_CASES])
def test_bad_input_gets_one_clear_error(case: harness.Case, context: harness.Context, planted: dict[str, str]):
    run = harness.run_process if (PROCESS or not case.inprocess) else harness.run_here
    outcome = run(case, context)
    found = harness.problems(case, outcome, planted)
    assert not found, (f"{'; '.join(found)}\n--- stderr ---\n{outcome.err[-3000:]}\n--- stdout ---\n"
                       f"{outcome.out[-1500:]}")


def test_every_console_script_has_its_cases():
    """Every console script the project installs (pipeyard's commands and each provider's cli) is in the
    tables, with enough cases to matter; and the suite keeps at least 400 of them."""
    missing = {script: count for script, count in scripts_covered().items() if count < 5}
    assert not missing, f"console scripts with fewer than 5 bad-input cases: {missing}"
    assert len(ALL_CASES) >= 400
    assert len({c.id for c in ALL_CASES}) == len(ALL_CASES), "two cases share a name"
