"""Servers that answer badly, on loopback, for the bad-input suite.

These are fault injectors, not stand-ins for a product: each one plays a failure a runner meets in
the field, and the suite checks that every console script turns it into one clear `error:` line.

- a port with nothing listening (a wrong port, a server that is down);
- `Garbage`: an HTTP server whose answer depends on the first segment of the path, so one server
  plays many faults: the base URL http://127.0.0.1:P/<fault> makes every call of a client answer
  with that fault (a proxy's login page instead of JSON, a JSON list where an object is expected,
  objects whose members have the wrong types, an empty object, a 500...);
- `Silent`: a TCP server that accepts and never says a word (an SMTP relay that never greets);
- `Babbler`: a TCP server that greets in the wrong protocol and hangs up.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fixtures import free_port
from tests.servers import loopback

LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>login</form></body></html>"
SONAR_VERSION = "10.7.0.96327"


def _wrong_types(path: str) -> Any:
    """SonarQube's and GitLab's answers, every member of the wrong type."""
    if path.endswith("api/server/version"):
        return SONAR_VERSION
    return {"task": ["PENDING"], "projectStatus": "OK", "component": ["x"], "measures": "many", "issues": {"a": 1},
            "facets": "severities", "paging": [1], "hotspots": 7, "settings": "mqr", "components": {"k": 1},
            "rules": 3, "errors": "no", "id": "not-a-number", "status": ["running"], "jobs": "all",
            "path_with_namespace": ["a"], "web_url": 4, "sha": {"x": 1}, "ref": None, "user": "root"}


def _empty(path: str) -> Any:
    return SONAR_VERSION if path.endswith("api/server/version") else {}


def _list(path: str) -> Any:
    return SONAR_VERSION if path.endswith("api/server/version") else [{"id": 1}, "two"]


def _task_without_analysis(path: str) -> Any:
    """A finished background task without the members a client needs."""
    if path.endswith("api/server/version"):
        return SONAR_VERSION
    if "api/ce/task" in path:
        return {"task": {"status": "SUCCESS"}}
    return {"projectStatus": {"status": "ERROR", "conditions": [{"status": "ERROR", "metricKey": 1}]}}


def _issues_of_wrong_shape(path: str) -> Any:
    """A plausible report whose lists hold the wrong things (the report's inner shapes)."""
    if path.endswith("api/server/version"):
        return SONAR_VERSION
    if "api/components/show" in path:
        return {"component": {"key": "p", "name": "p"}}
    if "api/qualitygates/project_status" in path:
        return {"projectStatus": {"status": "OK", "conditions": ["not-a-condition"]}}
    if "api/measures/component" in path:
        return {"component": {"measures": [{"value": "1"}]}}
    if "api/issues/search" in path:
        return {"issues": [{"message": "no key"}], "facets": [{"property": "severities", "values": [{"count": "x"}]}]}
    return {"hotspots": [{"message": "no key"}]}


FAULTS: dict[str, Callable[[str], tuple[int, str, bytes]]] = {
    "html": lambda path: (200, "text/html", LOGIN_PAGE),
    "text": lambda path: (200, "text/plain", b"it works"),
    "list": lambda path: (200, "application/json", json.dumps(_list(path)).encode()),
    "null": lambda path: (200, "application/json", b"null"),
    "empty": lambda path: (200, "application/json", json.dumps(_empty(path)).encode()),
    "types": lambda path: (200, "application/json", json.dumps(_wrong_types(path)).encode()),
    "task": lambda path: (200, "application/json", json.dumps(_task_without_analysis(path)).encode()),
    "shapes": lambda path: (200, "application/json", json.dumps(_issues_of_wrong_shape(path)).encode()),
    "truncated": lambda path: (200, "application/json", b'{"task": {"status": "SUC'),
    "error": lambda path: (500, "text/html", b"<html>Internal Server Error</html>"),
    "teapot": lambda path: (418, "application/json", b'{"message": "I\'m a teapot"}'),
}


class Garbage:
    """http://127.0.0.1:P/<fault>/...: every call answers with that fault."""

    def __init__(self) -> None:
        self.server: Any = None

    def url(self, fault: str) -> str:
        assert fault in FAULTS, fault
        return f"http://127.0.0.1:{self.server.server_address[1]}/{fault}"

    def start(self) -> Garbage:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                fault, _, rest = self.path.lstrip("/").partition("/")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, kind, body = FAULTS.get(fault, FAULTS["html"])(rest)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = do_PATCH = do_DELETE = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = loopback.serve(Handler)
        return self

    def stop(self) -> None:
        loopback.stop(self.server)


class _Tcp:
    """Accepts connections on loopback and hands each to `talk` in its own thread."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.held: list[socket.socket] = []

    def talk(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def start(self) -> _Tcp:
        def loop() -> None:
            self.sock.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    conn, _ = self.sock.accept()
                except (TimeoutError, OSError):
                    continue
                threading.Thread(target=self.talk, args=(conn,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for conn in self.held:
            conn.close()
        self.sock.close()


class Silent(_Tcp):
    """Accepts, then says nothing, ever (until stopped)."""

    def talk(self, conn: socket.socket) -> None:
        self.held.append(conn)


class Babbler(_Tcp):
    """Answers a greeting from another protocol, then hangs up."""

    def talk(self, conn: socket.socket) -> None:
        try:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        finally:
            conn.close()


def closed_port() -> int:
    """A loopback port nothing listens on (free a moment ago; nothing in these tests binds it)."""
    return free_port()
