"""The kit's python-gitlab client: its token never follows a redirect to another origin, and each API
call ends within the client's timeout, retries included (python-gitlab's own retries took 104 s
against a GitLab that refused connections)."""

from __future__ import annotations

import time

import pytest

from pipeyard_kit import gitlab
from pipeyard_kit.errors import RemoteError
from tests.fixtures import free_port
from tests.servers.faults import answering, dripping
from tests.servers.redirects import redirecting_origins

INSTALL = "pip install python-gitlab"
HINTS = gitlab.Hints(token_var="GITLAB_TOKEN", timeout_fix="raise THE_TIMEOUT")


def client(url: str, **kwargs):
    return gitlab.client(url, kwargs.pop("token", "glpat-Secret-1"), what="a test", install=INSTALL, **kwargs)


@pytest.mark.parametrize("token", [{"token": "glpat-Secret-1"}, {"token": None, "job_token": "Job-Secret-2"}],
                         ids=["private-token", "job-token"])
def test_no_token_follows_a_redirect_to_another_origin(token):
    with redirecting_origins() as origins:
        gl = client(origins.start, **token)
        project = gl.projects.get(1)
    assert project.attributes == {"username": "someone"}
    assert [r.path for r in origins.received] == ["/api/v4/projects/1"]
    assert origins.credentials_seen_by_other() == []


def test_a_gitlab_that_refuses_connections_fails_within_the_timeout():
    url = f"http://127.0.0.1:{free_port()}"
    gl = client(url, timeout=2)
    started = time.monotonic()
    with pytest.raises(gitlab.errors()) as caught:
        gl.projects.get("platform/config")
    elapsed = time.monotonic() - started
    assert elapsed < 4 * 2
    error = gitlab.explain(caught.value, url=url, project="platform/config", what="read it", hints=HINTS)
    assert "cannot reach GitLab" in error.render()


def test_a_dripping_gitlab_is_cut_off_at_the_timeout():
    with dripping() as server:
        gl = client(server.url, timeout=1.5)
        started = time.monotonic()
        with pytest.raises(gitlab.errors()) as caught:
            gl.projects.get("platform/config")
        elapsed = time.monotonic() - started
    assert elapsed < 4 * 1.5
    error = gitlab.explain(caught.value, url=server.url, project="platform/config", what="read it", hints=HINTS)
    assert isinstance(error, RemoteError)
    assert "did not answer in time to read it" in error.render() and "raise THE_TIMEOUT" in error.render()


def test_transient_answers_are_retried_within_the_timeout():
    with answering(503, times=2) as server:
        assert client(server.url, timeout=10).projects.get(1).attributes == {}
    assert len(server.requests) == 3
    # retry=False: the first answer stands.
    with answering(503, times=2) as server, pytest.raises(gitlab.errors()):
        client(server.url, retry=False).projects.get(1)
    assert len(server.requests) == 1


def test_a_rate_limit_longer_than_the_timeout_is_not_slept_through():
    # python-gitlab sleeps whatever Retry-After says, ten times over.
    with answering(429, headers={"Retry-After": "3600"}) as server:
        started = time.monotonic()
        with pytest.raises(gitlab.errors()) as caught:
            client(server.url, timeout=3).projects.get(1)
        assert time.monotonic() - started < 3
    assert caught.value.response_code == 429
    assert len(server.requests) == 1
