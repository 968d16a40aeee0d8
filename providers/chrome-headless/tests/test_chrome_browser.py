"""How Chromium is started: Kubernetes-safe flags, a fresh profile that goes away, the sandbox choice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from chrome_support import BLOCKS, CHROMIUM, FULL_CHROMIUM, needs_chromium

from pipeyard_chrome_headless import Browser
from pipeyard_chrome_headless.browser import _Driver, want_sandbox
from pipeyard_kit.errors import ConfigError


def browser_command_line(scratch: Path | None) -> list[str]:
    """The browser process's arguments, from /proc: the headless shell has no chrome://version,
    and DevTools reports the command line only to --enable-automation browsers."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = [a.decode() for a in cmdline.read_bytes().split(b"\0") if a]
        except OSError:
            continue  # the process ended while we looked
        if (any(a.startswith(f"--user-data-dir={scratch}/") for a in args)
                and not any(a.startswith("--type=") for a in args)):
            return args
    raise AssertionError(f"no Chromium browser process has its profile under {scratch}")


@pytest.mark.browser
@needs_chromium
def test_flags_and_a_fresh_profile_that_is_removed_afterwards():
    with Browser(CHROMIUM) as browser:
        run_dir = browser.run_dir
        command_line = browser_command_line(_Driver.scratch)
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
    assert str(err.value) == (f"CHROMIUM_PATH={tmp_path / 'chromium'} does not exist: install Debian's "
                              "chromium-headless-shell package, or point CHROMIUM_PATH at a Chromium binary such "
                              "as /usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.skipif(not Path(FULL_CHROMIUM).is_file(), reason=f"{FULL_CHROMIUM} is missing: run `make setup`")
def test_the_full_chromium_still_works_through_chromium_path(tmp_path):
    """The image ships the headless shell; a job in an image with the full browser points CHROMIUM_PATH at it."""
    page_file = tmp_path / "blocks.html"
    page_file.write_text(BLOCKS, encoding="utf-8")
    with Browser(FULL_CHROMIUM) as browser:
        assert browser.playwright_browser.version.split(".")[0].isdigit()
        page = browser.new_context(viewport={"width": 200, "height": 200}).new_page()
        page.goto(page_file.as_uri())
        assert page.evaluate("getComputedStyle(document.querySelector('div')).backgroundColor") == "rgb(255, 0, 0)"
        assert page.screenshot()[:8] == b"\x89PNG\r\n\x1a\n"
