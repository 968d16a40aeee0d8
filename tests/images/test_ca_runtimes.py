"""The company CA, baked through a site file, is trusted by every runtime each image carries.

A server on loopback presents a certificate signed by the test CA the images are built with (the site
file's ca_certificates); a real client of each runtime in the image calls it and must get through:
Python's requests (which must not carry a certifi of its own: pysonar's once shadowed Debian's), the
ssl module's default context (what smtplib's STARTTLS uses), the JVM (Maven, the scanner), Node (npm)
and git. A second server, signed by a CA that is not baked, must be refused by each of them, so a pass
is the CA's doing and not a client that verifies nothing.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.tls import self_signed, server_context

from .conftest import IMAGES
from .test_images import run

pytestmark = pytest.mark.images

# HttpsURLConnection, compiled for Java 8 on the host: it runs on every JDK variant, 8 included.
FETCH_JAVA = """
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

public class Fetch {
    public static void main(String[] args) throws Exception {
        HttpsURLConnection c = (HttpsURLConnection) new URL(args[0]).openConnection();
        System.out.println(c.getResponseCode());
    }
}
"""

# One real client call per runtime; each prints 200 when the TLS handshake and the request succeed.
CLIENTS = {
    "python-requests": ["/opt/pipeyard/bin/python3", "-c",
                        "import sys, requests; print(requests.get(sys.argv[1], timeout=10).status_code)"],
    "python-ssl": ["/opt/pipeyard/bin/python3", "-c",
                   "import ssl, sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10, "
                   "context=ssl.create_default_context()).status)"],
    "jvm": ["java", "-cp", "/probe", "Fetch"],
    "node": ["node", "-e", "require('https').get(process.argv[1], r => console.log(r.statusCode))"
                           ".on('error', e => { console.error(e.message); process.exit(3); })"],
    "git": ["sh", "-c", "git ls-remote \"$0\" >/dev/null 2>/tmp/git.err; "
                        "if grep -qi 'certificate\\|ssl' /tmp/git.err; then cat /tmp/git.err >&2; exit 3; fi; echo 200"],
}
DETECT = {"jvm": "java", "node": "node", "git": "git"}
# What each image is for needs these; a runtime the image lost would otherwise just not be tested.
EXPECTED = {"maven": {"jvm"}, "npm": {"node"}, "sonar": {"jvm"}, "gitops": {"git"}}


def _leaf_signed_by(ca: Path, folder: Path) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 signed by the CA (its key beside it, as _make_ca leaves it)."""
    folder.mkdir(parents=True, exist_ok=True)
    key, csr, cert, ext = (folder / n for n in ("leaf.key", "leaf.csr", "leaf.pem", "leaf.ext"))
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                    "-subj", "/CN=127.0.0.1/O=pipeyard image tests"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca.with_suffix(".key")),
                    "-CAcreateserial", "-days", "2", "-out", str(cert), "-extfile", str(ext)],
                   check=True, capture_output=True)
    return cert, key


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(cert: Path, key: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = server_context(cert, key).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/info/refs"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def trusted_url(site_ca: Path, tmp_path_factory) -> Iterator[str]:
    yield from _serve(*_leaf_signed_by(site_ca, tmp_path_factory.mktemp("leaf")))


@pytest.fixture(scope="module")
def untrusted_url(tmp_path_factory) -> Iterator[str]:
    yield from _serve(*self_signed(tmp_path_factory.mktemp("other-ca"), "not-baked"))


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("probe")
    (folder / "Fetch.java").write_text(FETCH_JAVA)
    subprocess.run(["javac", "-nowarn", "--release", "8", "-d", str(folder), str(folder / "Fetch.java")], check=True,
                   capture_output=True)
    # The image's user (10001) reads it through the bind mount.
    folder.chmod(0o755)
    for file in folder.iterdir():
        file.chmod(0o644)
    return folder


def _runtimes(eng, built, name: str) -> set[str]:
    found = run(eng, built, name, "sh", "-c", "for t in java node git; do command -v $t >/dev/null && echo $t; done")
    present = set(found.stdout.split())
    return {"python-requests", "python-ssl"} | {rt for rt, exe in DETECT.items() if exe in present}


@pytest.mark.parametrize("name", IMAGES)  # every variant too, with PIPEYARD_TEST_VARIANTS=all
def test_every_runtime_trusts_the_baked_ca_and_only_it(eng, built, name: str, trusted_url: str, untrusted_url: str,
                                                       probe: Path) -> None:
    runtimes = _runtimes(eng, built, name)
    expected = EXPECTED.get(name.split(":")[0], set())
    assert expected <= runtimes, f"{name} lacks {expected - runtimes}"
    mount = {str(probe): {"bind": "/probe", "mode": "ro"}}
    failures = []
    for runtime in sorted(runtimes):
        good = run(eng, built, name, *CLIENTS[runtime], trusted_url, volumes=mount, timeout=180)
        if good.exit_code != 0 or "200" not in good.stdout:
            failures.append(f"{runtime} did not trust the baked CA: {good.output[-600:]}")
        bad = run(eng, built, name, *CLIENTS[runtime], untrusted_url, volumes=mount, timeout=180)
        if bad.exit_code == 0:
            failures.append(f"{runtime} accepted a certificate of a CA that is not baked: {bad.output[-300:]}")
    assert not failures, "\n".join(failures)
