"""Example consumer projects staged as git repositories for gitlab-ci-local."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeyard.demo.localci import LocalProject, stage_project
from tests.fixtures import ROOT

COMPONENT_PROJECT = "gitlab.example.com/platform/pipeyard"


@pytest.fixture
def staged(tmp_path: Path) -> Callable[..., LocalProject]:
    def make(example: str, branch: str = "main") -> LocalProject:
        return stage_project(ROOT / "examples" / example, tmp_path / example, ROOT / "pipeline-templates",
                             COMPONENT_PROJECT, branch=branch, root=ROOT)

    return make
