"""How Chromium is started: Kubernetes-safe flags, a fresh profile that goes away, the sandbox choice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pipeyard.errors import ConfigError
from pipeyard.screenshot import Browser
from pipeyard.screenshot.browser import want_sandbox

from .conftest import CHROMIUM, needs_chromium


@pytest.mark.browser
@needs_chromium
def test_flags_and_a_fresh_profile_that_is_removed_afterwards():
    with Browser(CHROMIUM) as browser:
        run_dir = browser.run_dir
        context = browser.new_context()
        page = context.new_page()
        page.goto("chrome://version")
        command_line = page.inner_text("#command_line").split()
        context.close()
        profiles = [Path(arg.split("=", 1)[1]) for arg in command_line if arg.startswith("--user-data-dir=")]
        assert len(profiles) == 1 and profiles[0].is_dir()
        assert profiles[0].name.startswith("playwright_chromiumdev_profile-")
        assert run_dir is not None and (run_dir / "home").is_dir()
    for flag in ("--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
                 "--headless", "--no-first-run"):
        assert flag in command_line
    if os.geteuid() == 0:
        assert "--no-sandbox" in command_line
    assert not profiles[0].exists()
    assert not run_dir.exists()


def test_sandbox_choice():
    assert want_sandbox("on") is True
    assert want_sandbox("off") is False
    if os.geteuid() == 0:
        assert want_sandbox("auto") is False  # Chromium refuses its sandbox as root
    with pytest.raises(ConfigError, match="CHROMIUM_SANDBOX='maybe' is not allowed: use one of auto, on, off"):
        Browser(sandbox="maybe")


def test_a_missing_browser_names_the_setting(tmp_path):
    with pytest.raises(ConfigError) as err:
        Browser(tmp_path / "chromium").start()
    assert str(err.value) == (f"CHROMIUM_PATH={tmp_path / 'chromium'} does not exist: install Debian's chromium "
                              "package, or point CHROMIUM_PATH at the browser")
