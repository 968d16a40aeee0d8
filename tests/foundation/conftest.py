"""A scratch copy of the checkout, so tests can break provider files safely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """providers/, examples/, pipeline-templates/ and the site file, in a temp folder."""
    dest = tmp_path / "repo"
    dest.mkdir()
    for name in ("providers", "examples", "pipeline-templates"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("node_modules", "target", ".npm"))
    for name in ("pyproject.toml", "pipeyard.site.yaml"):
        shutil.copy(ROOT / name, dest / name)
    (dest / "sdk" / "pipeyard" / "generated").mkdir(parents=True)
    shutil.copy(ROOT / "sdk/pipeyard/generated/providers.json", dest / "sdk/pipeyard/generated/providers.json")
    return dest
