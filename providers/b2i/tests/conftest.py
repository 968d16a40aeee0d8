"""pytest finds the fixtures of the b2i provider's tests here; they live beside their helpers in
b2i_support.py, which the tests import by name (this folder is no package)."""

from b2i_support import auth_registry, base, project, registry, runner, workdir  # noqa: F401
