"""A real git server on loopback: `git http-backend` (smart HTTP) behind basic auth.

Clients speak to it exactly as to GitLab over HTTPS: info/refs discovery, upload-pack
for fetches, receive-pack for pushes (protocol v2 included). The password is the
token; as on GitLab, any non-empty user name is accepted with it.

`hold_pushes_until_fetches=N` holds every push until N fetches have started, so a
test can make two clients fetch the same tip before either pushes: a deterministic
race, with no sleeps. `push_gate(user)` runs before each push request and may block
until the test's own condition holds (per client, by user name). `push_latency` adds
the seconds GitLab spends in its pre-receive checks, which is what widens real races.

`protect(repo, branch)` refuses pushes to a branch the way GitLab's pre-receive check
does (lib/gitlab/checks/branch_check.rb, ERROR_MESSAGES[:push_protected_branch]): the
push is declined by a hook and git prints "remote: GitLab: You are not allowed to push
code to protected branches on this project." with "(pre-receive hook declined)".
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.servers import loopback

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
           "GIT_AUTHOR_NAME": "seed", "GIT_AUTHOR_EMAIL": "seed@example.com",
           "GIT_COMMITTER_NAME": "seed", "GIT_COMMITTER_EMAIL": "seed@example.com"}


def git(*args: str, cwd: Path | None = None) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd or tempfile.gettempdir()), **GIT_ENV}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr}")
    return proc.stdout


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    user: str
    status: int
    headers: str


class GitHttpServer:
    def __init__(self, root: Path, *, token: str = "config-repo-token", hold_pushes_until_fetches: int = 0,
                 push_latency: float = 0.0, push_gate: Callable[[str], None] | None = None):
        self.root = root
        self.token = token
        self.hold_pushes_until_fetches = hold_pushes_until_fetches
        self.push_latency = push_latency
        self.push_gate = push_gate
        self.requests: list[Request] = []
        self.fetches = 0
        self.fetches_by: Counter[str] = Counter()
        self._changed = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None

    # --- repositories -------------------------------------------------------------------------
    def create_repo(self, name: str, files: dict[str, str], *, branch: str = "main",
                    branches: tuple[str, ...] = ()) -> Path:
        """A bare repository whose `branch` (and each of `branches`) holds `files` in one commit."""
        bare = self.root / f"{name}.git"
        git("init", "-q", "--bare", "-b", branch, str(bare))
        git("-C", str(bare), "config", "http.receivepack", "true")
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "seed"
            git("init", "-q", "-b", branch, str(work))
            for rel, text in files.items():
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                (work / rel).write_text(text, encoding="utf-8")
            git("add", "-A", cwd=work)
            git("commit", "-q", "-m", "seed the config repository", cwd=work)
            for name_ in (branch, *branches):
                git("push", "-q", str(bare), f"HEAD:refs/heads/{name_}", cwd=work)
        return bare

    def protect(self, name: str, branch: str) -> None:
        """Refuse every push to `branch`, as GitLab does for "Allowed to push: No one"."""
        hook = self.root / f"{name}.git" / "hooks" / "pre-receive"
        hook.write_text(f"""#!/bin/sh
while read -r old new ref; do
  if [ "$ref" = "refs/heads/{branch}" ]; then
    echo "GitLab: You are not allowed to push code to protected branches on this project." >&2
    exit 1
  fi
done
""")
        hook.chmod(0o755)

    def tip(self, name: str, ref: str = "main") -> str:
        return git("--git-dir", str(self.root / f"{name}.git"), "rev-parse", ref).strip()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60) -> bool:
        """Block a push gate until `condition` holds (re-checked whenever a request arrives, and every 50 ms)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
        return True

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"

    def show(self, name: str, ref: str, path: str) -> str:
        return git("--git-dir", str(self.root / f"{name}.git"), "show", f"{ref}:{path}")

    def log(self, name: str, ref: str = "main") -> list[dict[str, str]]:
        out = git("--git-dir", str(self.root / f"{name}.git"), "log", "--format=%H%x1f%an%x1f%ae%x1f%B%x1e", ref)
        commits = []
        for record in out.split("\x1e"):
            if record.strip():
                sha, name_, email, body = record.strip("\n").split("\x1f")
                commits.append({"sha": sha, "author": name_, "email": email, "message": body.strip()})
        return commits

    def branches(self, name: str) -> list[str]:
        out = git("--git-dir", str(self.root / f"{name}.git"), "for-each-ref", "--format=%(refname:short)",
                  "refs/heads")
        return out.split()

    # --- serving ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the server first"
        return self._httpd.server_address[1]

    def start(self) -> GitHttpServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *_args) -> None:  # quiet: tests assert on server.requests instead
                pass

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

        self._httpd = loopback.serve(Handler)
        return self

    def stop(self) -> None:
        loopback.stop(self._httpd)

    def _user(self, header: str | None) -> str | None:
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if user and password == self.token else None

    def _read_body(self, h: BaseHTTPRequestHandler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    h.rfile.readline()
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        return h.rfile.read(int(h.headers.get("Content-Length") or 0))

    def _hold_push(self, path: str, query: str, user: str) -> None:
        is_push = path.endswith("/git-receive-pack") or "service=git-receive-pack" in query
        if not is_push:
            return
        if self.hold_pushes_until_fetches:
            with self._changed:
                self._changed.wait_for(lambda: self.fetches >= self.hold_pushes_until_fetches, timeout=60)
        if self.push_gate is not None:
            self.push_gate(user)
        if self.push_latency and path.endswith("/git-receive-pack"):
            time.sleep(self.push_latency)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        body = self._read_body(h) if h.command == "POST" else b""
        user = self._user(h.headers.get("Authorization"))
        headers = "\n".join(f"{k}: {v}" for k, v in h.headers.items())
        if user is None:
            self._record(h, parts, "", 401, headers)
            payload = b"HTTP Basic: Access denied\n"
            h.send_response(401)
            h.send_header("WWW-Authenticate", 'Basic realm="git"')
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        if h.command == "GET" and "service=git-upload-pack" in parts.query:
            with self._changed:
                self.fetches += 1
                self.fetches_by[user] += 1
                self._changed.notify_all()
        self._hold_push(parts.path, parts.query, user)
        env = {
            "PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
            "PATH_INFO": parts.path, "QUERY_STRING": parts.query, "REQUEST_METHOD": h.command,
            "CONTENT_TYPE": h.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",
        }
        if h.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = h.headers["Content-Encoding"]
        if h.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = h.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120)
        head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status = 200
        cgi_headers = []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                cgi_headers.append((key, value.strip()))
        if proc.returncode != 0 and not proc.stdout:
            status, payload, cgi_headers = 500, proc.stderr, [("Content-Type", "text/plain")]
        self._record(h, parts, user, status, headers)
        with self._changed:
            self._changed.notify_all()
        h.send_response(status)
        for key, value in cgi_headers:
            if key.lower() not in ("content-length", "transfer-encoding"):
                h.send_header(key, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    def _record(self, h: BaseHTTPRequestHandler, parts, user: str, status: int, headers: str) -> None:
        with self._changed:
            self.requests.append(Request(h.command, parts.path, parts.query, user, status, headers))
