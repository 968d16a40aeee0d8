"""Fixtures of the npm provider's tests: the private registry, the runner, the example project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures import free_port
from tests.servers.runner import ROOT
from tests.servers.toolwrap import runner_fixtures, skip_tests_using
from tests.servers.verdaccio import VERDACCIO, Verdaccio

EXAMPLE = ROOT / "examples" / "node-app"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The tarball is committed, so its integrity matches the example's package-lock.json
# whichever npm version publishes it.
GREETING_TGZ = FIXTURES / "corp-greeting-1.0.0.tgz"
# Unscoped, so it comes from the main registry (NPM_REGISTRY_URL) with the token; committed for the same reason.
BANNER_TGZ = FIXTURES / "corp-banner-1.0.0.tgz"


def pytest_collection_modifyitems(items):
    if not VERDACCIO.is_file():
        skip_tests_using(items, "registry", "verdaccio is missing: run `make setup`")


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    with Verdaccio(tmp_path_factory.mktemp("verdaccio"), free_port()) as server:
        server.token = server.add_user("ci", "Ci-Pass-2024")
        yield server


workdir, runner = runner_fixtures("npm")


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("node_modules", "dist", ".npm", "junit.xml",
                                                                 ".gitlab-ci.yml"))
    return dest
