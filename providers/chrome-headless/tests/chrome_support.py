"""A local web server with pages of known content, and one Chromium shared by the library tests."""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium-headless-shell"  # the image's browser
FULL_CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "bot", "s3cret: with colon"

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                                    reason=f"{CHROMIUM} is missing: run `make setup` (Debian's chromium-headless-shell)")

BLOCKS = """<!doctype html><html><head><style>
body { margin: 0; background: #fff; }
div { position: absolute; width: 100px; height: 100px; }
</style></head><body>
<div style="left:0;top:0;background:#ff0000"></div>
<div style="left:100px;top:0;background:#00ff00"></div>
<div style="left:0;top:100px;background:#0000ff"></div>
<div style="left:100px;top:100px;background:#ffff00"></div>
</body></html>"""

TALL = """<!doctype html><html><body style="margin:0">
<div style="height:3000px;background:linear-gradient(#f00,#00f)"></div></body></html>"""

CLIP = """<!doctype html><html><body style="margin:0">
<p>before</p><div id="card" style="width:200px;height:120px;margin:37px;background:#0088ff"></div>
<p>after</p></body></html>"""

DOC = """<!doctype html><html><head><style>section { page-break-after: always; }</style></head><body>
<section><h1>Quarterly build report</h1><p>Section one: pipelines</p></section>
<section><p>Section two: coverage</p></section>
<section><p>Section three: vulnerabilities</p></section>
</body></html>"""

LATE = """<!doctype html><html><body style="margin:0">
<script>setTimeout(() => {
  const d = document.createElement('div'); d.id = 'ready';
  d.style.cssText = 'width:100px;height:100px;background:#00ff00';
  document.body.appendChild(d);
}, 300);</script></body></html>"""

BANNER = """<!doctype html><html><body style="margin:0;background:#fff">
<div class="cookie-banner" style="height:100px;background:#ff0000">We use cookies</div></body></html>"""

HANGING = """<!doctype html><html><body><img src="/hang.png"></body></html>"""

# Each character in its own cell, so a real font draws four different glyphs and
# tofu draws the same empty box four times.
CHINESE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
body { margin: 0; background: #fff; font: 48px sans-serif; }
span { position: absolute; top: 0; width: 64px; height: 64px; line-height: 64px; text-align: center; }
</style></head><body><p id="text">
<span style="left:0">你</span><span style="left:64px">好</span>
<span style="left:128px">世</span><span style="left:192px">界</span></p></body></html>"""

PAGES = {
    "/blocks.html": BLOCKS, "/tall.html": TALL, "/clip.html": CLIP, "/doc.html": DOC, "/late.html": LATE,
    "/banner.html": BANNER, "/hanging.html": HANGING, "/zh.html": CHINESE,
    "/echo.html": "<!doctype html><html><body>echo</body></html>",
    "/private/page.html": "<!doctype html><html><body style='background:#00ff00'>private</body></html>",
}


@dataclass
class Site:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)

    def received(self, path: str) -> list[dict[str, str]]:
        """Headers of every request for path, lower-cased names."""
        return [r for r in self.requests if r[":path"] == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: str, ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            site.requests.append({":path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            path = urlsplit(self.path).path
            if path.startswith("/private/") and self.headers.get("Authorization") != expected:
                self._send(401, "login first", WWW_Authenticate='Basic realm="ci"')
            elif path == "/hang.png":
                time.sleep(5)  # longer than any test's timeout: the load event never comes in time
                with contextlib.suppress(OSError):  # the browser gave up long ago
                    self._send(404, "")
            elif path in PAGES:
                self._send(200, PAGES[path])
            else:
                self._send(404, "<h1>not found</h1>")

    return Handler


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    server.block_on_close = False  # don't wait out /hang.png at the end
    served = Site(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `make setup` (Debian's chromium-headless-shell)")
    from pipeyard_chrome_headless import Browser

    with Browser(CHROMIUM) as shared:
        yield shared


@pytest.fixture(scope="session")
def tabs(browser) -> Iterator[dict[tuple[object, ...], object]]:
    """Open tabs by context options, as a batch keeps them: a new tab costs a renderer process."""
    opened: dict[tuple[object, ...], object] = {}
    yield opened
    for tab in opened.values():
        tab.close()


@pytest.fixture
def shoot(browser, tabs, tmp_path) -> Callable[..., Path]:
    """shoot(url, file name, **shot keys) -> the written file, captured in tmp_path."""
    from pipeyard_chrome_headless import Tab, make_shot
    from pipeyard_chrome_headless.capture import context_key

    def _shoot(url: str, name: str, **options: object) -> Path:
        shot = make_shot({"url": url, "output": str(tmp_path / name), **options})
        key = context_key(shot)
        if key not in tabs:
            tabs[key] = Tab(browser, shot)
        try:
            return tabs[key].capture(shot)
        except Exception:
            tabs.pop(key).close()  # as run_batch does: the next shot starts clean
            raise

    return _shoot
