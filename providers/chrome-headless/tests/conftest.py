"""pytest finds the fixtures and hooks of the chrome-headless provider's tests here; they live beside their
helpers in chrome_support.py, which the tests import by name (this folder is no package)."""

from chrome_support import browser, shoot, site, tabs  # noqa: F401
