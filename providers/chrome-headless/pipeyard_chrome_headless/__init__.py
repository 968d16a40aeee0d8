"""The chrome-headless provider: screenshots and PDFs of web pages from CI jobs.

Playwright drives the image's own Debian Chromium (never a downloaded browser):

    from pipeyard_chrome_headless import Browser, capture, make_shot

    with Browser() as browser:
        capture(browser, make_shot({"url": "https://example.com", "output": "example.png"}))

`screenshot` (cli.py) is the console script; shots.yml batches live in batch.py.
Playwright itself is imported only when a browser starts.
"""

from __future__ import annotations

from typing import Any

from pipeyard_chrome_headless.browser import Browser
from pipeyard_chrome_headless.capture import Tab, capture
from pipeyard_chrome_headless.errors import BrowserError, CaptureError, PageTimeout, PageUnreachable
from pipeyard_chrome_headless.options import Shot, make_shot

__all__ = ["Browser", "BrowserError", "CaptureError", "PageTimeout", "PageUnreachable", "Shot", "Tab",
           "capture", "load_batch", "make_shot", "run_batch"]


def __getattr__(name: str) -> Any:
    # The batch loader comes with a YAML parser that `screenshot URL` has no use for: one
    # capture is measured against a bare Chromium (bench/), so it loads on first use.
    if name in ("load_batch", "run_batch"):
        from pipeyard_chrome_headless import batch

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
