"""A stand-in for the company Nexus: Maven repositories over HTTP/1.1 that need credentials.

Debian's /usr/share/maven-repo plays the proxied content. The layout follows Nexus,
so URLs in tests look like the ones users paste into CI variables:

    /repository/maven-public/     group: the Central proxy + whatever was deployed (read-only)
    /repository/vendor-public/    a second group with the same content (for a second mirror)
    /repository/maven-central/    the proxy of Maven Central: Debian's repo, plus what tests put into
                                  <storage>/maven-central as "fetched from Central" (stand-ins of
                                  artifacts Debian lacks, such as pipeyard.demo.jacoco_plugin)
    /repository/maven-releases/   hosted, accepts deploy PUTs of release versions
    /repository/maven-snapshots/  hosted, accepts deploy PUTs of -SNAPSHOT versions

Every request needs Basic credentials, as a locked-down Nexus does; wrong or missing
ones get 401 with a challenge. Checksums (.sha1, .md5) are computed on the fly for
content that has none, so Maven never warns about missing checksums. Every request
is recorded (method, path, status, user) for assertions such as "a warm build made
no requests". Run it by hand with `python -m pipeyard.demo.maven_repo --help`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import posixpath
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

DEBIAN_REPO = Path("/usr/share/maven-repo")
GROUPS = ("maven-public", "vendor-public")
PROXY = "maven-central"
HOSTED = {"maven-releases": "release", "maven-snapshots": "snapshot"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int
    user: str | None


class MavenRepoServer:
    """Start with `with MavenRepoServer(storage, user=..., password=...) as repo:`."""

    def __init__(self, storage: Path, *, user: str, password: str, content: Path = DEBIAN_REPO,
                 port: int = 0, tls: ssl.SSLContext | None = None, log_file: Path | None = None):
        self.storage = Path(storage)
        self.user, self.password = user, password
        self.content = content
        self.tls = tls
        self.log_file = log_file
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        if tls:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def repo_url(self, name: str) -> str:
        return f"{self.url}/repository/{name}"

    @property
    def group_url(self) -> str:
        return self.repo_url("maven-public")

    @property
    def releases_url(self) -> str:
        return self.repo_url("maven-releases")

    @property
    def snapshots_url(self) -> str:
        return self.repo_url("maven-snapshots")

    def deployed(self, repo: str) -> list[str]:
        """Paths stored in a hosted repository, relative to it, sorted."""
        base = self.storage / repo
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())

    def requests_to(self, repo: str) -> list[Request]:
        prefix = f"/repository/{repo}/"
        return [r for r in self.requests if r.path.startswith(prefix)]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
            if self.log_file:
                with self.log_file.open("a", encoding="utf-8") as f:
                    f.write(f"{request.method} {request.path} {request.status} {request.user or '-'}\n")

    def start(self) -> Self:
        for repo in (*HOSTED, PROXY):
            (self.storage / repo).mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    # -- content ---------------------------------------------------------

    def locate(self, repo: str, rel: str) -> Path | None:
        """The file a GET serves, or None. Groups see the content and every hosted repo."""
        if repo in HOSTED:
            roots = [self.storage / repo]
        elif repo == PROXY:
            roots = [self.content, self.storage / PROXY]
        elif repo in GROUPS:
            roots = [self.content, self.storage / PROXY, *(self.storage / r for r in HOSTED)]
        else:
            return None
        for root in roots:
            candidate = root / rel
            if candidate.is_file():
                return candidate
        return None

    def checksum(self, repo: str, rel: str) -> bytes | None:
        for ext, algo in ((".sha1", hashlib.sha1), (".md5", hashlib.md5)):
            if rel.endswith(ext):
                target = self.locate(repo, rel[: -len(ext)])
                if target is None:
                    return None
                return algo(target.read_bytes()).hexdigest().encode()
        return None


def _handler_for(server: MavenRepoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        repo = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    # Maven's HTTP transports keep connections alive and stall on HTTP/1.0 uploads.
    protocol_version = "HTTP/1.1"
    server_version = "pipeyard-test-nexus/1.0"
    repo: MavenRepoServer

    def log_message(self, format: str, *args) -> None:
        pass

    # -- plumbing --------------------------------------------------------

    def _user(self) -> tuple[str | None, bool]:
        """(user presented, whether the credentials are right)."""
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None, False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return None, False
        return user, (user == self.repo.user and password == self.repo.password)

    def _split(self) -> tuple[str, str] | None:
        path = unquote(urlsplit(self.path).path)
        parts = path.split("/", 3)
        if len(parts) < 4 or parts[1] != "repository":
            return None
        rel = posixpath.normpath(parts[3]) if parts[3] else ""
        if rel.startswith(("..", "/")):
            return None
        return parts[2], ("" if rel == "." else rel)

    def _reply(self, status: int, body: bytes = b"", *, content_type: str = "text/plain",
               headers: dict[str, str] | None = None, head: bool = False) -> None:
        user, _ok = self._user()
        self.repo.record(Request(self.command, urlsplit(self.path).path, status, user))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status >= 400 and self.command == "PUT":
            # The body of a refused upload may still be on the wire: don't reuse the connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _unauthorized(self) -> None:
        self._reply(401, b"Unauthorized\n", headers={"WWW-Authenticate": 'Basic realm="Sonatype Nexus Repository Manager"'},
                    head=self.command == "HEAD")

    def _authorized(self) -> bool:
        _user, ok = self._user()
        if not ok:
            self._unauthorized()
        return ok

    def handle_expect_100(self) -> bool:
        # Refuse before the client sends the body, as Nexus does.
        _user, ok = self._user()
        if not ok:
            self._unauthorized()
            return False
        return super().handle_expect_100()

    # -- methods ---------------------------------------------------------

    def do_HEAD(self) -> None:
        self._get(head=True)

    def do_GET(self) -> None:
        self._get(head=False)

    def _get(self, *, head: bool) -> None:
        if not self._authorized():
            return
        split = self._split()
        if split is None:
            self._reply(404, b"Not Found\n", head=head)
            return
        repo, rel = split
        if not rel:
            self._reply(200, f"repository {repo}\n".encode(), head=head)
            return
        target = self.repo.locate(repo, rel)
        if target is not None:
            body = target.read_bytes()
            modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(target.stat().st_mtime))
            kind = "text/xml" if rel.endswith((".pom", ".xml")) else "application/octet-stream"
            self._reply(200, body, content_type=kind, headers={"Last-Modified": modified}, head=head)
            return
        digest = self.repo.checksum(repo, rel)
        if digest is not None:
            self._reply(200, digest, head=head)
            return
        self._reply(404, b"Not Found\n", head=head)

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not self._authorized():
            return
        body = self.rfile.read(length) if length else b""
        split = self._split()
        if split is None or split[0] not in HOSTED or not split[1]:
            self._reply(405, b"Method Not Allowed: deploy to maven-releases or maven-snapshots\n")
            return
        repo, rel = split
        snapshot = "-SNAPSHOT" in rel
        if not rel.rsplit("/", 1)[-1].startswith("maven-metadata.xml") and snapshot != (HOSTED[repo] == "snapshot"):
            policy = HOSTED[repo].upper()
            self._reply(400, f"Repository version policy: {policy} does not allow version: {rel}\n".encode())
            return
        target = self.repo.storage / repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        self._reply(201)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeyard.demo.maven_repo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--user", default="deployer")
    parser.add_argument("--password", required=True)
    parser.add_argument("--storage", type=Path, required=True, help="where deployed files go")
    parser.add_argument("--log", type=Path, help="append one line per request to this file")
    args = parser.parse_args(argv)
    server = MavenRepoServer(args.storage, user=args.user, password=args.password, port=args.port, log_file=args.log)
    server.start()
    print(f"MAVEN_MIRROR_URL={server.group_url}\nMAVEN_RELEASES_URL={server.releases_url}\n"
          f"MAVEN_SNAPSHOTS_URL={server.snapshots_url}\nMAVEN_REPO_USER={args.user}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
