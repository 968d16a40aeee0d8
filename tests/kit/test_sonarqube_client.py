"""The kit's SonarQube client: its token never follows a redirect to another origin, and each call
ends within SONAR_TIMEOUT, retries included (a server dripping its answer held a job for ever)."""

from __future__ import annotations

import time

import pytest

from pipeyard_kit.errors import RemoteError
from pipeyard_kit.sonarqube.client import SonarClient
from tests.fixtures import free_port
from tests.servers.faults import answering, dripping
from tests.servers.redirects import redirecting_origins

TOKEN = "squ_Secret-token-1"


def test_the_token_does_not_follow_a_redirect_to_another_origin():
    with redirecting_origins() as origins:
        answer = SonarClient(origins.start, token=TOKEN).json("api/authentication/validate")
    assert answer == {"username": "someone"}
    assert origins.credentials_seen_by_other() == []


def test_a_dripping_server_is_cut_off_at_the_timeout():
    with dripping() as server:
        started = time.monotonic()
        with pytest.raises(RemoteError, match=r"did not answer api/server/version within 1.5 s"):
            SonarClient(server.url, token=TOKEN, timeout=1.5).compat()
        assert time.monotonic() - started < 4 * 1.5


def test_a_refusing_server_is_retried_then_named():
    client = SonarClient(f"http://127.0.0.1:{free_port()}", token=TOKEN, timeout=5, retries=2, backoff=0.01)
    with pytest.raises(RemoteError, match="cannot reach SonarQube") as caught:
        client.compat()
    assert "SONAR_HOST_URL" in caught.value.render() and TOKEN not in caught.value.render()


def test_gateway_errors_are_retried_within_the_deadline():
    with answering(502, times=1) as server:
        assert SonarClient(server.url, token=TOKEN, backoff=0.01).json("api/x") == {}
    assert len(server.requests) == 2
    # A 503 whose Retry-After outlasts the deadline ends the call at once, with the server's answer.
    with answering(503, headers={"Retry-After": "600"}) as server:
        started = time.monotonic()
        with pytest.raises(RemoteError, match="HTTP 503"):
            SonarClient(server.url, token=TOKEN, timeout=5).json("api/x")
        assert time.monotonic() - started < 5
    assert len(server.requests) == 1
