"""`pipeyard chart` as a user runs it, and a real Helm."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import run_cli
from tests.tools.helm import helm_binary


def chart(*args: str, cwd: Path | None = None):
    return run_cli("python", "-m", "pipeyard.cli.chart", *args, cwd=cwd)


@pytest.fixture(scope="session")
def helm() -> Path:
    return helm_binary()
