"""Downloads pinned by checksum, against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.images import fetch, verify
from pipeyard_kit.errors import ChecksumError, RemoteError
from tests.servers import loopback
from tests.servers.redirects import BODY, redirecting_origins

PAYLOAD = b"agent jar bytes\n" * 1000
GOOD = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, list[str]]]:
    folder = tmp_path_factory.mktemp("files")
    (folder / "tool-1.0.tar.gz").write_bytes(PAYLOAD)
    requests_seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args) -> None:
            requests_seen.append(self.path)

    httpd = loopback.serve(Handler)
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests_seen
    loopback.stop(httpd)


def test_a_matching_download_lands_at_dest(server, tmp_path: Path) -> None:
    url, _ = server
    dest = fetch(f"{url}/tool-1.0.tar.gz", GOOD, tmp_path / "tool.tar.gz")
    assert dest.read_bytes() == PAYLOAD


def test_a_mismatch_names_the_file_and_both_digests_and_leaves_nothing(server, tmp_path: Path) -> None:
    url, _ = server
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as info:
        fetch(f"{url}/tool-1.0.tar.gz", wrong, tmp_path / "tool.tar.gz")
    message = str(info.value)
    assert "tool.tar.gz" in message
    assert f"sha256:{wrong}" in message and f"sha256:{GOOD}" in message
    assert list(tmp_path.iterdir()) == []


def test_a_verified_file_already_there_is_not_downloaded_again(server, tmp_path: Path) -> None:
    url, seen = server
    dest = tmp_path / "tool.tar.gz"
    dest.write_bytes(PAYLOAD)
    before = len(seen)
    fetch(f"{url}/tool-1.0.tar.gz", f"sha256:{GOOD}", dest)
    assert len(seen) == before


def test_a_stale_file_is_replaced(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "tool.tar.gz"
    dest.write_bytes(b"an older release")
    fetch(f"{url}/tool-1.0.tar.gz", GOOD, dest)
    assert dest.read_bytes() == PAYLOAD


def test_any_of_several_pinned_digests_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(PAYLOAD)
    assert verify(path, ["1" * 64, GOOD]) == GOOD
    with pytest.raises(ChecksumError, match=r"expected sha256:1{64} or sha256:2{64}"):
        verify(path, ["1" * 64, "2" * 64])


def test_an_http_error_is_a_remote_error_without_the_query(server, tmp_path: Path) -> None:
    url, _ = server
    with pytest.raises(RemoteError) as info:
        fetch(f"{url}/missing.tar.gz?token=s3cr3t", GOOD, tmp_path / "x")
    assert "missing.tar.gz" in str(info.value) and "s3cr3t" not in str(info.value)


def test_no_netrc_credential_follows_a_redirect_to_another_origin(tmp_path, monkeypatch):
    # requests re-reads ~/.netrc for a redirect target on the same host name; another port is
    # another origin (RFC 6454), a mirror's credentials stay with the mirror.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ci password netrc-Secret-1\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with redirecting_origins() as origins:
        fetch(f"{origins.start}/tool.tar.gz", hashlib.sha256(BODY).hexdigest(), tmp_path / "tool.tar.gz")
    assert [r.path for r in origins.received] == ["/tool.tar.gz"]
    assert origins.credentials_seen_by_other() == []


def test_a_dripping_download_is_cut_off_at_its_deadline(tmp_path):
    from pipeyard_kit import download
    from tests.servers.faults import dripping

    with dripping() as server, pytest.raises(RemoteError, match="did not complete within 1.5 s"):
        download.fetch(f"{server.url}/tool.tar.gz", GOOD, tmp_path / "tool.tar.gz", timeout=1, deadline=1.5)
    assert not (tmp_path / "tool.tar.gz").exists()
