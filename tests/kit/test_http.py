"""The kit's HTTP: credentials never follow a redirect to another origin; every wait has a deadline."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from pipeyard_kit import http
from pipeyard_kit.toolwrap import probe
from tests.fixtures import free_port
from tests.servers import loopback, tls
from tests.servers.faults import answering, dripping
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


# -- a deadline over every request of a session ----------------------------------------------------------
@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_session_deadline_cuts_a_dripping_answer(in_headers):
    with dripping(in_headers=in_headers) as server, http.session(deadline=1.5) as s:
        started = time.monotonic()
        with pytest.raises(http.DeadlineExceeded, match="within 1.5 s"):
            s.get(server.url + "/api/server/version", timeout=1)
        elapsed = time.monotonic() - started
    assert server.requests  # it was the drip, not a refused connection
    assert elapsed < 4 * 1.5


def test_the_deadline_cuts_a_dripping_tls_answer(tmp_path):
    cert, key = tls.self_signed(tmp_path)
    with dripping(context=tls.server_context(cert, key)) as server, http.session(deadline=1.5) as s:
        started = time.monotonic()
        with pytest.raises(http.DeadlineExceeded):
            s.get(server.url, timeout=1, verify=str(cert))
        assert time.monotonic() - started < 4 * 1.5


def test_a_deadline_is_a_timeout_to_callers_that_explain_timeouts():
    assert issubclass(http.DeadlineExceeded, requests.exceptions.Timeout)


def test_time_limit_spans_several_requests():
    with dripping(interval=0.2) as server, http.session() as s, http.time_limit(1.0):
        started = time.monotonic()
        with pytest.raises(http.DeadlineExceeded):
            for _ in range(10):
                s.get(server.url, timeout=5, deadline=5)  # an inner limit cannot outlast the outer one
        assert time.monotonic() - started < 4.0


def test_a_request_within_its_deadline_keeps_its_connection_for_the_next():
    with answering(200) as server, http.session(deadline=2) as s:
        for _ in range(3):
            assert s.get(server.url, timeout=1).status_code == 200
        time.sleep(2.5)  # past the first requests' deadlines: nothing of theirs is cut later
        assert s.get(server.url, timeout=1).status_code == 200


# -- retries inside the deadline -------------------------------------------------------------------------
def test_a_refused_connection_is_retried_until_the_deadline():
    retries = http.Retries(attempts=50, backoff=0.05, maximum=0.2)
    with http.session(deadline=1.0, retries=retries) as s:
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ConnectionError):
            s.post(f"http://127.0.0.1:{free_port()}/", json={}, timeout=1)  # never sent: safe to repeat
        elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 4 * 1.0


def test_gateway_answers_are_retried_then_the_answer_stands():
    retries = http.Retries(attempts=3, backoff=0.01)
    with answering(503, times=2) as server, http.session(retries=retries, deadline=5) as s:
        assert s.get(server.url, timeout=1).status_code == 200
    assert len(server.requests) == 3
    with answering(503) as server, http.session(retries=retries, deadline=5) as s:
        assert s.get(server.url, timeout=1).status_code == 503
    assert len(server.requests) == 3


def test_retry_after_is_honoured_within_the_deadline():
    retries = http.Retries(attempts=3, backoff=0.01)
    with answering(429, times=1, headers={"Retry-After": "1"}) as server, \
            http.session(retries=retries, deadline=5) as s:
        started = time.monotonic()
        assert s.get(server.url, timeout=1).status_code == 200
        assert time.monotonic() - started >= 1.0
    # A wait longer than the deadline is not started: the 429 is the answer, at once.
    with answering(429, headers={"Retry-After": "3600"}) as server, http.session(retries=retries, deadline=5) as s:
        started = time.monotonic()
        assert s.get(server.url, timeout=1).status_code == 429
        assert time.monotonic() - started < 2
    assert len(server.requests) == 1


def test_retry_after_as_an_http_date():
    response = requests.Response()
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert http.retry_after(response) == 0.0
    response.headers["Retry-After"] = "soon"
    assert http.retry_after(response) is None


def test_a_streamed_body_is_cut_at_its_own_deadline_whatever_the_reader_does_between_chunks():
    with dripping(interval=0.05) as slow, answering(200) as other, http.session() as s:
        response = s.get(slow.url, stream=True, timeout=1)
        started = time.monotonic()
        with pytest.raises(http.DeadlineExceeded):
            for _ in http.chunks(response, 1, deadline=1.0):
                # Requests between two chunks neither inherit nor extend the body's deadline.
                assert s.get(other.url, timeout=1, deadline=5).status_code == 200
        assert time.monotonic() - started < 4.0
        time.sleep(1.2)
        assert s.get(other.url, timeout=1, deadline=0.5).status_code == 200
