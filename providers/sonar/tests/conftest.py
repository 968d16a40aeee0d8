"""pytest finds the fixtures and hooks of the sonar provider's tests here; they live beside their
helpers in sonar_support.py, which the tests import by name (this folder is no package)."""

from sonar_support import scanner, sonar  # noqa: F401
