"""The kit's HTTP: credentials never follow a redirect to another origin; every wait has a deadline."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from pipeyard_kit import http
from pipeyard_kit.toolwrap import probe
from tests.servers import loopback
from tests.servers.redirects import redirecting_origins

SECRETS = {"Authorization": "Bearer glpat-Secret-1", "PRIVATE-TOKEN": "glpat-Secret-2", "JOB-TOKEN": "Secret-3"}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_no_credential_header_follows_a_cross_origin_redirect(status):
    with redirecting_origins(status) as origins, http.session() as s:
        response = s.get(origins.start + "/api/v4/projects/1", headers=SECRETS, timeout=5)
    assert response.status_code == 200
    assert origins.received, "the redirect was followed"
    assert origins.credentials_seen_by_other() == []


def test_a_same_origin_redirect_keeps_the_credentials():
    class Hop(BaseHTTPRequestHandler):
        seen: list[str] = []

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/old":
                self.send_response(302)
                self.send_header("Location", "/new")
                self.end_headers()
                return
            Hop.seen.append(self.headers.get("PRIVATE-TOKEN", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = loopback.serve(Hop)
    try:
        with http.session() as s:
            s.get(f"http://127.0.0.1:{server.server_address[1]}/old", headers=SECRETS, timeout=5)
    finally:
        loopback.stop(server)
    assert Hop.seen == ["glpat-Secret-2"]


def test_a_dripping_server_is_cut_off_at_the_deadline():
    class Drip(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)

        def log_message(self, *args: object) -> None:
            pass

    server = loopback.serve(Drip)
    started = time.monotonic()
    try:
        with http.session() as s, pytest.raises(http.DeadlineExceeded):
            # Each read answers within the timeout; only the total deadline can end it.
            http.get_bounded(s, f"http://127.0.0.1:{server.server_address[1]}/", timeout=1, deadline=1.5)
    finally:
        loopback.stop(server)
    assert time.monotonic() - started < 5


def test_the_wrappers_probe_sends_its_credentials_to_the_probed_origin_only():
    with redirecting_origins() as origins:
        [answer] = probe.get_all([origins.start + "/-/whoami"], {"Authorization": "Bearer npm_Secret"})
    assert answer.status == 200
    assert origins.credentials_seen_by_other() == []
