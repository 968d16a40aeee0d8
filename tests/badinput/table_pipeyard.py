"""Bad input to `pipeyard` and each of its commands."""

from __future__ import annotations

from tests.badinput.harness import Case

CASES: list[Case] = []
