"""The ways a capture fails, each a PipeyardError whose message names the URL and the fix."""

from __future__ import annotations

from pipeyard_kit.errors import PipeyardError, RemoteError


class BrowserError(PipeyardError):
    """Chromium would not start, or died under us."""


class CaptureError(PipeyardError):
    """A page loaded (or not) but could not be captured as asked."""


class PageTimeout(CaptureError):
    """A page or a wait condition took longer than the timeout."""


class PageUnreachable(RemoteError):
    """The URL could not be fetched at all, or answered with an error status."""
