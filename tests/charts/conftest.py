"""`pipeyard chart` as a user runs it, a real Helm, and the validators every chart test uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures import run_cli
from tests.tools.helm import helm_binary

KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"
# The oldest Kubernetes pipeyard's charts support and the newest it is checked against.
KUBERNETES_VERSIONS = ("1.33.0", "1.35.0")
REPO_URL = "https://gitlab.example.com/platform/config.git"


def chart(*args: str, cwd: Path | None = None):
    return run_cli("python", "-m", "pipeyard.cli.chart", *args, cwd=cwd)


def init(root: Path, app: str = "orders", *args: str, image: str = "harbor.example.com/shop/orders:1.4.2"):
    result = chart("init", app, "--image", image, "--config-repo", str(root), "--repo-url", REPO_URL, *args)
    assert result.returncode == 0, result.stderr
    return result


def helm_template(helm: Path, chart_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), "template", chart_dir.name, str(chart_dir), *args], capture_output=True,
                          text=True, timeout=120)


def helm_lint(helm: Path, chart_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), "lint", "--strict", str(chart_dir), *args], capture_output=True, text=True,
                          timeout=120)


def objects(text: str) -> dict[str, dict]:
    """Rendered manifests by kind (the chart renders at most one of each)."""
    return {d["kind"]: d for d in yaml.safe_load_all(text) if d}


def kubernetes_validate(path: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KUBERNETES_VALIDATE), "-k", version, "--strict", str(path)], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="session")
def helm() -> Path:
    return helm_binary()
