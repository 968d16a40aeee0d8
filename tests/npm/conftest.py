"""Fixtures of the npm provider's tests: the private registry, the runner, the example project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.servers.runner import ROOT, make_runner
from tests.servers.verdaccio import VERDACCIO, Verdaccio

EXAMPLE = ROOT / "examples" / "node-app"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The tarball is committed, so its integrity matches the example's package-lock.json
# whichever npm version publishes it.
GREETING_TGZ = FIXTURES / "corp-greeting-1.0.0.tgz"


def pytest_collection_modifyitems(items):
    if not VERDACCIO.is_file():
        skip = pytest.mark.skip(reason="verdaccio is missing: run `make setup`")
        for item in items:
            if "registry" in getattr(item, "fixturenames", ()):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    with Verdaccio(tmp_path_factory.mktemp("verdaccio"), free_port()) as server:
        server.token = server.add_user("ci", "Ci-Pass-2024")
        yield server


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One folder per test module: the podman runner mounts it, so all inputs live here."""
    return tmp_path_factory.mktemp("npm-work")


@pytest.fixture(scope="module")
def runner(workdir):
    return make_runner("npm", workdir)


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("node_modules", "dist", ".npm", "junit.xml",
                                                                 ".gitlab-ci.yml"))
    return dest
