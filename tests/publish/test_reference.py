"""Image references and targets read the way docker and podman read them."""

from __future__ import annotations

import pytest

from pipeyard_kit.errors import UsageError
from pipeyard_kit.registry import Reference, Target


@pytest.mark.parametrize(("text", "host", "repo", "tag", "digest"), [
    ("harbor.example.com/library/maven:3.9", "harbor.example.com", "library/maven", "3.9", None),
    ("127.0.0.1:5000/pipeyard/maven", "127.0.0.1:5000", "pipeyard/maven", "latest", None),
    ("localhost/pipeyard/npm:1.0.0", "localhost", "pipeyard/npm", "1.0.0", None),
    ("debian:bookworm", "docker.io", "library/debian", "bookworm", None),
    ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
    ("quay.io/a/b/c@sha256:" + "a" * 64, "quay.io", "a/b/c", None, "sha256:" + "a" * 64),
])
def test_reference_parse(text: str, host: str, repo: str, tag: str | None, digest: str | None) -> None:
    ref = Reference.parse(text)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == (host, repo, tag, digest)


def test_docker_hub_is_served_from_its_api_host() -> None:
    assert Reference.parse("debian:12").api_host == "registry-1.docker.io"
    assert Reference.parse("127.0.0.1:5000/a/b:1").api_host == "127.0.0.1:5000"


@pytest.mark.parametrize("text", ["harbor.example.com/Library/maven:1", "r.io/a/b:bad tag", "r.io/a@sha256:zz"])
def test_bad_references_name_the_part(text: str) -> None:
    with pytest.raises(UsageError) as e:
        Reference.parse(text)
    assert text in str(e.value)


def test_target_scheme_is_plain_http_only_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Target.parse("127.0.0.1:5000/pipeyard").scheme == "http"
    assert Target.parse("localhost:5000/pipeyard").scheme == "http"
    assert Target.parse("harbor.example.com/pipeyard").scheme == "https"
    monkeypatch.setenv("PIPEYARD_PLAIN_HTTP", "registry.lan:5000")
    assert Target.parse("registry.lan:5000/pipeyard").scheme == "http"
    assert Target.parse("https://127.0.0.1:5000/p").scheme == "https"


def test_target_needs_a_host_and_a_project() -> None:
    t = Target.parse("harbor.example.com/ci/images")
    assert (t.host, t.project, t.repository("maven")) == ("harbor.example.com", "ci", "ci/images/maven")
    with pytest.raises(UsageError, match="names no project"):
        Target.parse("harbor.example.com")
    with pytest.raises(UsageError, match="does not start with a registry host"):
        Target.parse("pipeyard")
    assert Target.parse("harbor.example.com", option="--to", need_prefix=False).repository("a/b") == "a/b"
