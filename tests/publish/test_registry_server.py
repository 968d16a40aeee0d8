"""The embedded registry: Debian's docker-registry, started and stopped by pipeyard."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from pipeyard.images.containers.registry_server import LocalRegistry, write_htpasswd
from pipeyard_kit.registry import RegistryClient
from tests.fixtures import free_port

from .conftest import PASSWORD, USER
from .imagefactory import FakeImage


def test_start_serves_the_v2_api_and_stop_ends_it(tmp_path: Path) -> None:
    reg = LocalRegistry(tmp_path / "r", port=free_port())
    assert not reg.running
    reg.start()
    try:
        r = requests.get(f"{reg.url}/v2/", timeout=5)
        assert r.status_code == 200
        assert r.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
        assert reg.running
        assert reg.pid_path.read_text().strip().isdigit()
        assert "delete:\n    enabled: true" in reg.config_path.read_text()
    finally:
        reg.stop()
    assert not reg.running
    assert not reg.pid_path.exists()


def test_start_reuses_a_running_registry_and_its_owner_stops_it(tmp_path: Path) -> None:
    port = free_port()
    with LocalRegistry(tmp_path / "r", port=port) as first:
        pid = first.pid_path.read_text()
        with LocalRegistry(tmp_path / "r", port=port) as second:  # already running: reused, not restarted
            assert second.running
        assert first.running, "leaving the second context must not stop the first owner's registry"
        assert first.pid_path.read_text() == pid
    assert not first.running


def test_a_new_handle_can_stop_a_registry_started_by_another_command(tmp_path: Path) -> None:
    port = free_port()
    LocalRegistry(tmp_path / "r", port=port).start()
    later = LocalRegistry(tmp_path / "r", port=port)
    assert later.running
    later.stop()
    assert not later.running


def test_exported_registry_variables_do_not_reach_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # docker-registry reads REGISTRY_* as config; this one alone makes it crash at start.
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    monkeypatch.setenv("REGISTRY_HTTP_ADDR", "127.0.0.1:1")
    with LocalRegistry(tmp_path / "r", port=free_port()) as reg:
        assert requests.get(f"{reg.url}/v2/", timeout=5).status_code == 200


def test_htpasswd_registry_wants_a_login(tmp_path: Path) -> None:
    htpasswd = write_htpasswd(tmp_path / "htpasswd", USER, PASSWORD)
    assert oct(htpasswd.stat().st_mode & 0o777) == "0o600"
    with LocalRegistry(tmp_path / "r", port=free_port(), htpasswd=htpasswd) as reg:
        assert reg.running
        assert requests.get(f"{reg.url}/v2/", timeout=5).status_code == 401
        assert requests.get(f"{reg.url}/v2/", auth=(USER, PASSWORD), timeout=5).status_code == 200
        assert requests.get(f"{reg.url}/v2/", auth=(USER, "wrong"), timeout=5).status_code == 401


def test_a_port_in_use_by_something_else_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    from pipeyard_kit.errors import RemoteError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, not listening: the registry cannot bind, and nothing answers
        port = s.getsockname()[1]
        reg = LocalRegistry(tmp_path / "r", port=port)
        with pytest.raises(RemoteError) as e:
            reg.start()
    assert f"127.0.0.1:{port}" in str(e.value) and "registry.log" in str(e.value)


def test_the_log_counts_finished_blob_uploads(registry: LocalRegistry) -> None:
    from pipeyard.publish.archive import LayerCache, oci_image
    from pipeyard_kit.registry import push_image

    image = FakeImage([{"a": b"one"}, {"b": b"two"}], "localhost/pipeyard/x:1")
    oci = oci_image(image, LayerCache(registry.root / "cache"))
    before = registry.log_offset()
    push_image(RegistryClient(registry.address, scheme="http"), "p/x", oci, ["1"])
    assert registry.blob_uploads(since=before) == 3  # two layers and the config
    assert registry.blob_uploads(since=registry.log_offset()) == 0
