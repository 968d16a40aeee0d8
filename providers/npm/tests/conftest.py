"""pytest finds the fixtures and hooks of the npm provider's tests here; they live beside their
helpers in npm_support.py, which the tests import by name (this folder is no package)."""

from npm_support import pytest_collection_modifyitems, registry, runner, workdir  # noqa: F401
