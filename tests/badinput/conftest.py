"""The bad-input suite's session: fault servers on loopback, planted secrets, a checkout to run in."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.model.provider import load_providers
from tests.badinput import servers
from tests.badinput.harness import Context

ROOT = Path(__file__).resolve().parents[2]
# Every variable a provider declares secret, and the other credentials a job carries.
SECRET_VARIABLES = sorted({s.env for p in load_providers(ROOT) for s in p.settings if s.secret}
                          | {"CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "HARBOR_PASSWORD", "COSIGN_PASSWORD"})


def planted_secrets() -> dict[str, str]:
    """Fake secrets, unique to this session, so a hit can only come from a leak in this run."""
    tag = secrets.token_hex(6)
    values = {name: f"Planted{name.title().replace('_', '')}{tag}" for name in SECRET_VARIABLES}
    # Basic auth for a page is USER:PASSWORD; the password alone must not leak either.
    values["SCREENSHOT_AUTH"] = f"ci:{values['SCREENSHOT_AUTH']}"
    values["PLANTED"] = f"PlantedSecret{tag}"
    return values


@pytest.fixture(scope="session")
def planted() -> dict[str, str]:
    return planted_secrets()


@pytest.fixture(scope="session")
def fault_servers() -> Iterator[dict[str, str]]:
    garbage = servers.Garbage().start()
    silent = servers.Silent().start()
    babbler = servers.Babbler().start()
    closed = servers.closed_port()
    try:
        yield {
            "closed": f"http://127.0.0.1:{closed}", "closed_port": str(closed),
            "silent_port": str(silent.port), "babbler_port": str(babbler.port),
            "silent": f"http://127.0.0.1:{silent.port}",
            **{f"g_{fault}": garbage.url(fault) for fault in servers.FAULTS},
        }
    finally:
        garbage.stop()
        silent.stop()
        babbler.stop()


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    """A copy of the checkout for `pipeyard` cases: a case that wrongly succeeds writes there, never here."""
    dest = tmp_path_factory.mktemp("checkout")
    for name in ("providers", "examples", "pipeline-templates"):
        shutil.copytree(ROOT / name, dest / name, symlinks=True,
                        ignore=shutil.ignore_patterns("node_modules", "target", ".npm", "__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "pipeyard.site.yaml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    return dest


@pytest.fixture
def context(tmp_path: Path, fault_servers: dict[str, str], planted: dict[str, str], checkout: Path) -> Context:
    work = tmp_path / "work"
    work.mkdir()
    return Context(work=work, servers={**fault_servers, "checkout": str(checkout)}, planted=planted)
