"""pytest finds the fixtures and hooks of the maven provider's tests here; they live beside their
helpers in maven_support.py, which the tests import by name (this folder is no package)."""

from maven_support import maven_repo, pytest_collection_modifyitems, runner, workdir  # noqa: F401
