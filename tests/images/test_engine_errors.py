"""No container engine, bad input: one clear line and a non-zero exit, before any build starts."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from pipeyard_kit.errors import RemoteError
from tests.fixtures import run_cli


def test_a_dead_docker_host_names_the_socket_and_the_fix(tmp_path: Path) -> None:
    sock = tmp_path / "docker.sock"
    out = run_cli("pipeyard", "build", "maven", env={"DOCKER_HOST": f"unix://{sock}"})
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no container engine API")
    assert f"DOCKER_HOST=unix://{sock}" in lines[0]
    assert "unset DOCKER_HOST" in lines[0]
    assert "Traceback" not in out.stderr


def test_base_bootstrap_says_the_same(tmp_path: Path) -> None:
    out = run_cli("pipeyard", "base", "bootstrap", env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert out.returncode == 1
    assert out.stderr.startswith("error: no container engine API") and "Traceback" not in out.stderr


def test_no_docker_and_no_podman_says_what_was_tried_and_how_to_start_one(tmp_path: Path, monkeypatch) -> None:
    module = importlib.import_module("pipeyard.images.containers.engine")  # the package re-exports engine()

    monkeypatch.setattr(module, "DOCKER_SOCKET", tmp_path / "docker.sock")
    with pytest.raises(RemoteError) as info:
        with module.engine(tmp_path / "ct", env={}, podman=str(tmp_path / "no-podman")):
            pass
    message = str(info.value)
    assert "DOCKER_HOST is not set" in message
    assert f"unix://{tmp_path / 'docker.sock'}" in message
    assert "no-podman" in message
    assert "apt-get install podman" in message and "DOCKER_HOST" in message


def test_a_site_file_with_a_secret_is_refused_before_the_engine_starts(tmp_path: Path) -> None:
    site = tmp_path / "bad.site.yaml"
    site.write_text("defaults:\n  SONAR_TOKEN: squ_abc\n")
    out = run_cli("pipeyard", "build", "sonar", "--site", str(site),
                  env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert out.returncode == 1
    assert "SONAR_TOKEN" in out.stderr and "secret" in out.stderr
    assert "squ_abc" not in out.stderr
    assert "no container engine" not in out.stderr


def test_an_unknown_provider_and_a_bad_tag_are_usage_errors(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock"}
    out = run_cli("pipeyard", "build", "no-such-provider", env=env)
    assert out.returncode == 2 and "unknown provider 'no-such-provider'" in out.stderr
    out = run_cli("pipeyard", "build", "maven", "--tag", "-bad:tag", env=env)
    assert out.returncode == 2 and "'--tag': '-bad:tag' is not a valid image tag" in out.stderr


@pytest.mark.images
def test_an_engine_opened_inside_another_shares_its_podman_service(eng) -> None:
    """A command run in-process while the session's engine is open (a test, the demo) must not start a
    second service on the same per-process socket and remove it on its way out."""
    from pipeyard.images.containers import engine

    if not eng.own_podman:
        pytest.skip("the engine here is not a podman service pipeyard started")
    with engine() as inner:
        assert inner.url == eng.url and inner.client.ping()
    socket = Path(eng.url.removeprefix("unix://"))
    assert socket.exists(), "the inner engine removed the session's socket"
    import docker

    fresh = docker.DockerClient(base_url=eng.url)  # a new connection, not a pooled one
    try:
        assert fresh.ping()
    finally:
        fresh.close()
