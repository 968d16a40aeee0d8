"""Capturing one page: navigate, wait, clean up the page, write PNG, JPEG or PDF.

A Tab is a browser context and one page in it. Opening a page costs a renderer process
(0.1 to 0.25 s), so a batch reuses the tab for every shot whose context-level options
(scale, credentials, TLS checks, motion) match; between shots it clears the cookies and
resets the headers and the viewport where they differ.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Self

from pipeyard_chrome_headless.browser import Browser, _first_line
from pipeyard_chrome_headless.errors import BrowserError, CaptureError, PageTimeout, PageUnreachable
from pipeyard_chrome_headless.options import Shot

log = logging.getLogger("pipeyard.screenshot")

_TIMEOUT_FIX = "raise the timeout (--timeout, timeout: in shots.yml or SCREENSHOT_TIMEOUT) or check the page"
_AUTH_FIX = "set --auth, auth: in shots.yml or SCREENSHOT_AUTH (or SCREENSHOT_AUTH_FILE), or check the cookies and headers"
_UNREACHABLE_FIX = "check the URL and that the server is up and reachable from the runner"
_NET_ERRORS = {
    "ERR_CONNECTION_REFUSED": "the connection was refused",
    "ERR_NAME_NOT_RESOLVED": "the host name does not resolve",
    "ERR_NAME_RESOLUTION_FAILED": "the host name does not resolve",
    "ERR_CONNECTION_TIMED_OUT": "the connection timed out",
    "ERR_TIMED_OUT": "the connection timed out",
    "ERR_ADDRESS_UNREACHABLE": "the address is unreachable",
    "ERR_INTERNET_DISCONNECTED": "the network is unreachable",
    "ERR_CONNECTION_RESET": "the connection was reset",
    "ERR_CONNECTION_CLOSED": "the server closed the connection",
    "ERR_EMPTY_RESPONSE": "the server sent an empty response",
    "ERR_FILE_NOT_FOUND": "the file does not exist",
    "ERR_TOO_MANY_REDIRECTS": "it redirects in a loop",
    "ERR_UNSAFE_PORT": "Chromium refuses this port as unsafe (it belongs to another protocol)",
}
# Turning animations off for a PDF, where Playwright's own switch does not apply.
_STILL_CSS = ("*, *::before, *::after { animation-duration: 0s !important; animation-delay: 0s !important;"
              " transition: none !important; scroll-behavior: auto !important; caret-color: transparent !important; }")


def context_key(shot: Shot) -> tuple[Any, ...]:
    """The options that are fixed when a context is created; shots sharing them share a tab."""
    return (shot.scale, shot.auth, shot.origin if shot.auth else None, shot.ignore_https_errors,
            shot.disable_animations)


def _seconds(value: float) -> str:
    return f"{value:g} s"


class Tab:
    """A context and a page, created for the first shot and reused by shots with the same context_key."""

    def __init__(self, browser: Browser, first: Shot):
        self.key = context_key(first)
        options: dict[str, Any] = {
            "viewport": {"width": first.width, "height": first.height},
            "device_scale_factor": first.scale,
            "ignore_https_errors": first.ignore_https_errors,
            "reduced_motion": "reduce" if first.disable_animations else "no-preference",
            # Our hide and no-animation styles must apply even on pages with a strict CSP.
            "bypass_csp": True,
        }
        if first.auth:
            # Only the page's own origin gets the password, never a third-party asset host.
            options["http_credentials"] = {"username": first.auth[0], "password": first.auth[1],
                                           "origin": first.origin}
        # The page state a shot sets, so the next shot resets only what differs: each call is
        # a round trip to Chromium, and a fresh tab already has the first shot's viewport.
        self.viewport = (first.width, first.height)
        self.headers: tuple[tuple[str, str], ...] = ()
        self.fresh = True  # no cookies yet, from us or from a page
        try:
            self.context = browser.new_context(**options)
            self.page = self.context.new_page()
        except Exception as exc:  # noqa: BLE001 - Playwright has one Error type for all of it
            raise BrowserError(f"Chromium could not open a page: {_first_line(exc)}",
                               fix="the browser died: give the job more memory, or rerun with TRACE=1") from None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:
            log.debug("closing the context failed", exc_info=True)

    def capture(self, shot: Shot) -> Path:
        """Capture one shot into shot.output and return that path."""
        from playwright.sync_api import Error
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if context_key(shot) != self.key:
            raise ValueError("this shot needs a different context: open another Tab")
        page, ms = self.page, shot.timeout * 1000
        step = f"loading {shot.url} (waiting for load state '{shot.wait_until}')"
        try:
            if (shot.width, shot.height) != self.viewport:
                page.set_viewport_size({"width": shot.width, "height": shot.height})
                self.viewport = (shot.width, shot.height)
            if not self.fresh:
                self.context.clear_cookies()
            self.fresh = False
            if shot.cookies:
                self.context.add_cookies([{"name": n, "value": v, "url": shot.url} for n, v in shot.cookies])
            if tuple(shot.headers) != self.headers:
                page.set_extra_http_headers(dict(shot.headers))
                self.headers = tuple(shot.headers)
            response = page.goto(shot.url, wait_until=shot.wait_until, timeout=ms)
            _check_status(shot, response)
            if shot.wait_for:
                step = f"waiting for selector '{shot.wait_for}' on {shot.url}"
                page.wait_for_selector(shot.wait_for, state="visible", timeout=ms)
            styles = [f"{s} {{ visibility: hidden !important; }}" for s in shot.hide]
            if shot.disable_animations:
                styles.append(_STILL_CSS)
            if styles:
                page.add_style_tag(content="\n".join(styles))
            if shot.delay:
                page.wait_for_timeout(shot.delay * 1000)
            shot.output.parent.mkdir(parents=True, exist_ok=True)
            step = f"capturing {shot.url}"
            if shot.format == "pdf":
                top, right, bottom, left = shot.margin
                page.pdf(path=shot.output, format=shot.pdf_format, landscape=shot.landscape, print_background=True,
                         margin={"top": top, "right": right, "bottom": bottom, "left": left})
            else:
                image: dict[str, Any] = {"path": shot.output, "type": shot.format, "timeout": ms, "caret": "hide",
                                         "animations": "disabled" if shot.disable_animations else "allow"}
                if shot.quality is not None:
                    image["quality"] = shot.quality
                if shot.selector:
                    step = f"waiting for selector '{shot.selector}' to clip on {shot.url}"
                    page.locator(shot.selector).first.screenshot(**image)
                else:
                    page.screenshot(full_page=shot.full_page, **image)
        except PlaywrightTimeout:
            raise PageTimeout(f"timed out after {_seconds(shot.timeout)} {step}", fix=_TIMEOUT_FIX) from None
        except Error as exc:
            raise _translate(shot, step, exc) from None
        except OSError as exc:
            raise CaptureError(f"cannot write {shot.output} for {shot.url} ({exc.strerror})",
                               fix="check that the output directory is writable") from None
        log.info("captured %s -> %s", shot.url, shot.output)
        return shot.output


def _auth_refused(shot: Shot) -> PageUnreachable:
    return PageUnreachable(f"{shot.url} asks for HTTP basic auth and the credentials were "
                           f"{'refused' if shot.auth else 'missing'}", fix=_AUTH_FIX)


def _check_status(shot: Shot, response: Any) -> None:
    if response is None or shot.allow_error_status or response.status < 400:
        return
    if response.status == 401:
        raise _auth_refused(shot)
    reason = f"{response.status} {response.status_text}".strip()
    fix = _AUTH_FIX if response.status == 403 else \
        "check the URL, or set allow_error_status (--allow-error-status) to capture error pages"
    raise PageUnreachable(f"{shot.url} answered HTTP {reason}", fix=fix)


def _translate(shot: Shot, step: str, exc: BaseException) -> Exception:
    text = str(exc)
    code = re.search(r"net::(ERR_[A-Z_]+)", text)
    if code:
        name = code.group(1)
        if name == "ERR_INVALID_AUTH_CREDENTIALS":
            # Headless Chromium has no login prompt: a 401 without credentials ends here.
            return _auth_refused(shot)
        if name.startswith(("ERR_CERT", "ERR_SSL")):
            return PageUnreachable(f"cannot reach {shot.url}: its TLS certificate is not trusted ({name})",
                                   fix="add the CA to the image, or set ignore_https_errors (--ignore-https-errors)")
        reason = _NET_ERRORS.get(name, name)
        return PageUnreachable(f"cannot reach {shot.url}: {reason}", fix=_UNREACHABLE_FIX)
    if "Target crashed" in text or "has been closed" in text:
        return BrowserError(f"Chromium crashed while {step}",
                            fix="give the job more memory, or capture fewer or smaller pages at a time")
    if "is not a valid selector" in text or "Unexpected token" in text:
        return CaptureError(f"{step}: the selector is not valid CSS ({_first_line(exc)})", fix="fix the selector")
    return CaptureError(f"{step} failed: {_first_line(exc)}", fix="rerun with TRACE=1 for the browser's log")


def capture(browser: Browser, shot: Shot) -> Path:
    """One shot in its own tab: the simplest way to use the library."""
    with Tab(browser, shot) as tab:
        return tab.capture(shot)
