"""HTTP for every request pipeyard makes: no credential follows a redirect to another origin, and a
wait has a total deadline, not only a timeout per read.

requests drops `Authorization` when a redirect changes the host, but keeps every other header:
GitLab's `PRIVATE-TOKEN` and `JOB-TOKEN` went along to wherever a 3xx pointed. Here every credential
header is dropped whenever the origin (scheme, host, port; RFC 6454) changes, and a cross-origin
redirect is sent without the runner's netrc credentials too. Proxies come from the environment
(http_proxy, no_proxy...), as they do for curl, Maven and npm.

A timeout per read never fires on a server that drips a byte every few seconds, nor on one that
refuses connections while a client retries with backoff. A Session with a `deadline` ends each
request (connect, redirects, body, and its retries) within that many seconds: a watchdog thread shuts
down the sockets of a request that outlives it, and the request raises DeadlineExceeded (a
requests Timeout, so callers that explain a timeout explain this one too). `time_limit(seconds)` puts
one deadline over several requests, or over reading a streamed body.

A session can also keep no cookies: Harbor sets its `sid` session cookie on every answer, API and
/v2 alike, and its CSRF middleware lets an /api/, /v2/ or /service/ request skip the CSRF check only
when it carries no session (goharbor/harbor src/server/middleware/csrf/csrf.go, csrfSkipper), so a
client that sends the cookie back has every write after its first call refused with 403 "CSRF token
invalid". Harbor's maintainers advise scripted clients to keep no cookies (goharbor/harbor#13124,
#13570).
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from pipeyard_kit import __version__

CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "PRIVATE-TOKEN", "JOB-TOKEN", "Cookie")
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class DeadlineExceeded(requests.exceptions.Timeout):
    """The whole exchange took longer than its deadline; str() says how long it was allowed."""


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)


# -- deadlines -----------------------------------------------------------------------------------------
class _Watch:
    """One deadline: the connections used under it are cut when it passes."""

    def __init__(self, seconds: float | None, parent: _Watch | None):
        now = time.monotonic()
        end = now + seconds if seconds is not None else float("inf")
        self.end = min(end, parent.end) if parent is not None else end
        self.allowed = self.end - now
        self.parent = parent
        self.fired = False
        self.done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def left(self) -> float:
        return self.end - time.monotonic()

    def spent(self) -> bool:
        return self.fired or self.left() <= 0

    def error(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"no complete answer within {self.allowed:.3g} s")

    def enlist(self, sock: socket.socket) -> None:
        with self._lock:
            if self.done:
                return
            if self.fired:
                _cut(sock)
            elif sock not in self._sockets:
                self._sockets.append(sock)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for sock in self._sockets:
                _cut(sock)

    def close(self) -> None:
        with self._lock:
            self.done = True
            self._sockets.clear()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        with self._lock:
            return tuple(self._sockets)

    def clamp(self, timeout: Any) -> Any:
        """requests' (connect, read) timeouts, neither longer than what is left."""
        if self.end == float("inf"):
            return timeout
        left = self.left()
        if left <= 0 or self.fired:
            raise self.error()
        if isinstance(timeout, urllib3.Timeout):
            connect, read = timeout.connect_timeout, timeout.read_timeout
        elif isinstance(timeout, tuple):
            connect, read = timeout
        else:
            connect = read = timeout
        return (min(connect, left) if isinstance(connect, int | float) else left,
                min(read, left) if isinstance(read, int | float) else left)


def _cut(sock: socket.socket) -> None:
    """Shut the socket down under whoever is blocked reading it: the read ends at once."""
    try:
        # The plain socket's shutdown, also for a TLS socket: SSLSocket.shutdown would first drop
        # its TLS state under the reading thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Watchdog:
    """One daemon thread firing the watches whose end has passed, earliest first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        if watch.end == float("inf"):
            return
        with self._cond:
            heapq.heappush(self._heap, (watch.end, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():  # also after a fork
                self._thread = threading.Thread(target=self._run, name="pipeyard-http-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    heapq.heappop(self._heap)[2].fire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_WATCHDOG = _Watchdog()
_LOCAL = threading.local()


def _current() -> _Watch | None:
    return getattr(_LOCAL, "watch", None)


@contextmanager
def time_limit(seconds: float | None) -> Iterator[_Watch | None]:
    """Every request this thread makes inside the block ends by `seconds` from now (or by an enclosing
    limit, if that is sooner); None adds no limit of its own."""
    if seconds is None:
        yield _current()
        return
    with _request_watch(seconds) as watch:
        yield watch


@contextmanager
def _request_watch(seconds: float | None) -> Iterator[_Watch]:
    """time_limit for one request, always with a watch of its own: it collects the request's sockets,
    which a streamed body's reader (chunks) bounds later."""
    watch = _Watch(seconds, _current())
    _LOCAL.watch = watch
    _WATCHDOG.add(watch)
    try:
        yield watch
    finally:
        watch.close()
        _LOCAL.watch = watch.parent


def _enlist(sock: socket.socket) -> None:
    watch = _current()
    while watch is not None:
        watch.enlist(sock)
        watch = watch.parent


class _Enlisting:
    """Puts each socket it uses under the thread's deadlines: the TCP socket as soon as it connects (a
    TLS handshake can drip too), the TLS socket once wrapped, a kept-alive one before each request.
    Sockets, not connections: http.client hands the socket to the response and forgets it."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _enlist(sock)
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        if self.sock is not None:
            _enlist(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            _enlist(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedConnection(_Enlisting, HTTPConnection):
    pass


class _WatchedTLSConnection(_Enlisting, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTLSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedTLSConnection


# -- retries -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Retries:
    """Retries inside the deadline: a connection that was refused (the request never left, so any
    method), a broken one for idempotent methods, and the statuses of a gateway or a rate limit, after
    the wait a Retry-After names (RFC 9110 section 10.2.3) or an exponential backoff. A wait that would
    end past the deadline is not started: the last answer or error stands."""

    attempts: int = 1
    backoff: float = 0.1
    maximum: float = 10.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def pause(self, attempt: int, response: requests.Response | None) -> float:
        after = retry_after(response) if response is not None else None
        return after if after is not None else min(self.maximum, self.backoff * 2 ** (attempt - 1))


def retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (delay-seconds or an HTTP-date), or None when absent or unreadable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _retryable(method: str, exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a refused certificate stays refused
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return True  # refused: the request never left
    broken = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
              requests.exceptions.ChunkedEncodingError)
    return method.upper() in IDEMPOTENT and isinstance(exc, broken)


# -- the session ---------------------------------------------------------------------------------------
class _Adapter(HTTPAdapter):
    """Connections the deadlines can cut; optionally verified with an ssl.SSLContext (the system trust
    plus CUSTOM_CA_CERTS) instead of a bundle file."""

    def __init__(self, context: Any = None, **kwargs: Any) -> None:  # context: an ssl.SSLContext
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._context is not None:
            kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)
        _watched(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        _watched(manager)
        return manager


def _watched(manager: Any) -> None:
    if hasattr(manager, "pool_classes_by_scheme"):
        manager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedTLSPool}


_UNSET: Any = object()


class Session(requests.Session):
    """A requests Session whose redirects never carry credentials to another origin, and whose
    requests end within `deadline` seconds, retries included."""

    def __init__(self, *, deadline: float | None = None, retries: Retries | None = None,
                 context: Any = None) -> None:
        super().__init__()
        self.max_redirects = MAX_REDIRECTS
        self.headers["User-Agent"] = f"pipeyard/{__version__}"
        self.deadline = deadline
        self.retries = retries or Retries()
        self.mount("https://", _Adapter(context))
        self.mount("http://", _Adapter())

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        if origin(prepared_request.url or "") != origin(response.request.url or ""):
            for header in CREDENTIAL_HEADERS:
                prepared_request.headers.pop(header, None)
            return
        super().rebuild_auth(prepared_request, response)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, deadline: float | None = _UNSET,
                **kwargs: Any) -> requests.Response:
        """requests' request, within `deadline` seconds (the session's unless given; None: no limit
        of its own). A streamed body is read after this returns: read it with chunks()."""
        with _request_watch(self.deadline if deadline is _UNSET else deadline) as watch:
            response = self._attempts(str(method.decode() if isinstance(method, bytes) else method), url, watch,
                                      args, kwargs)
            response.sockets = watch.sockets  # type: ignore[attr-defined] - for chunks()
            return response

    def _attempts(self, method: str, url: Any, watch: _Watch, args: tuple, kwargs: dict) -> requests.Response:
        attempt = 0
        while True:
            attempt += 1
            kwargs["timeout"] = watch.clamp(kwargs.get("timeout"))
            try:
                response = super().request(method, url, *args, **kwargs)
            except DeadlineExceeded:
                raise
            except requests.RequestException as exc:
                if watch.spent():
                    raise watch.error() from exc
                if not _retryable(method, exc) or not self._pause(attempt, None, watch):
                    raise
                continue
            if watch.fired:
                response.close()
                raise watch.error()
            if response.status_code not in self.retries.statuses or not self._pause(attempt, response, watch):
                return response

    def _pause(self, attempt: int, response: requests.Response | None, watch: _Watch) -> bool:
        """Wait before the next attempt; False when there is none to make."""
        if attempt >= self.retries.attempts:
            return False
        wait = self.retries.pause(attempt, response)
        if wait >= watch.left():
            return False
        if response is not None:
            response.close()
        time.sleep(wait)
        return True


class _NoCookies(DefaultCookiePolicy):
    """Accept no cookie from any server, and so send none back."""

    def set_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def return_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        return False


def session(*, ca_pems: Iterable[str] = (), cookies: bool = True, deadline: float | None = None,
            retries: Retries | None = None, **headers: str) -> Session:
    """A Session that trusts the system bundle and these extra CA certificates; `cookies=False` for
    Harbor and its registry; `deadline` seconds for each request; `headers` sent with every request."""
    pems = "\n".join(ca_pems)
    context = None
    if pems:
        from pipeyard_kit.trust import ssl_context

        context = ssl_context(pems)
    s = Session(deadline=deadline, retries=retries, context=context)
    if not cookies:
        s.cookies.set_policy(_NoCookies())
    s.headers.update(headers)
    return s


def chunks(response: requests.Response, size: int = 1 << 20, *, deadline: float | None = None) -> Iterator[bytes]:
    """A streamed body of this module's Session, read within `deadline` seconds from now, or under
    the enclosing time_limit when None. A body the deadline cut raises DeadlineExceeded rather than
    ending short or as a broken connection. The deadline is not the thread's: a consumer may make
    other requests between two chunks."""
    watch = _current()
    if deadline is not None:
        watch = _Watch(deadline, None)
        for sock in getattr(response, "sockets", ()):
            watch.enlist(sock)
        _WATCHDOG.add(watch)
    try:
        yield from response.iter_content(size)
        if watch is not None and watch.fired:
            raise watch.error()
    except requests.RequestException as exc:
        if watch is not None and watch.spent():
            raise watch.error() from exc
        raise
    finally:
        if deadline is not None and watch is not None:
            watch.close()


def get_bounded(s: Session, url: str, *, headers: dict[str, str] | None = None, timeout: float,
                deadline: float, limit: int = 1 << 20) -> requests.Response:
    """GET with a per-read timeout and a total deadline over connect, redirects and body; the body
    (at most `limit` bytes) is in `.content`. A server that drips a byte every few seconds is cut off."""
    with time_limit(deadline) as watch:
        assert watch is not None
        response = s.get(url, headers=headers, timeout=(timeout, timeout), stream=True, deadline=None)
        try:
            body = bytearray()
            # read1 returns what one socket read brings; read(n) would wait for n bytes.
            while len(body) < limit:
                try:
                    chunk = response.raw.read1(min(65536, limit - len(body)), decode_content=True)
                except (OSError, urllib3.exceptions.HTTPError) as exc:
                    if watch.spent():
                        raise watch.error() from exc
                    raise requests.exceptions.ConnectionError(exc) from exc
                if not chunk:
                    break
                body += chunk
            if watch.spent():
                raise watch.error()
            response._content = bytes(body)  # noqa: SLF001 - the body read here, once
        finally:
            # Closing the raw stream drops the connection; release_conn() alone would first read the rest.
            response.raw.close()
    return response
