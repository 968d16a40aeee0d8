"""HTTP for the requests pipeyard's images make: no credential follows a redirect to another origin,
and a wait has a total deadline, not only a timeout per read.

requests drops `Authorization` when a redirect changes the host, but keeps every other header:
GitLab's `PRIVATE-TOKEN` and `JOB-TOKEN` went along to wherever a 3xx pointed. Here every credential
header is dropped whenever the origin (scheme, host, port; RFC 6454) changes, and a cross-origin
redirect is sent without the runner's netrc credentials too. Proxies come from the environment
(http_proxy, no_proxy...), as they do for curl, Maven and npm.

A session can also keep no cookies: Harbor sets its `sid` session cookie on every answer, API and
/v2 alike, and its CSRF middleware lets an /api/, /v2/ or /service/ request skip the CSRF check only
when it carries no session (goharbor/harbor src/server/middleware/csrf/csrf.go, csrfSkipper), so a
client that sends the cookie back has every write after its first call refused with 403 "CSRF token
invalid". Harbor's maintainers advise scripted clients to keep no cookies (goharbor/harbor#13124,
#13570).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from pipeyard_kit import __version__

CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "PRIVATE-TOKEN", "JOB-TOKEN", "Cookie")
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


class DeadlineExceeded(Exception):
    """The whole exchange took longer than its deadline; str() says how long it was allowed."""


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)


class Session(requests.Session):
    """A requests Session whose redirects never carry credentials to another origin."""

    def __init__(self) -> None:
        super().__init__()
        self.max_redirects = MAX_REDIRECTS
        self.headers["User-Agent"] = f"pipeyard/{__version__}"

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        if origin(prepared_request.url or "") != origin(response.request.url or ""):
            for header in CREDENTIAL_HEADERS:
                prepared_request.headers.pop(header, None)
            return
        super().rebuild_auth(prepared_request, response)


class _NoCookies(DefaultCookiePolicy):
    """Accept no cookie from any server, and so send none back."""

    def set_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def return_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        return False


class _ContextAdapter(HTTPAdapter):
    """Verifies with an ssl.SSLContext (the system trust plus CUSTOM_CA_CERTS) instead of a bundle file."""

    def __init__(self, context, **kwargs) -> None:  # noqa: ANN001 - an ssl.SSLContext
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - requests' own signature
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def session(*, ca_pems: Iterable[str] = (), cookies: bool = True, **headers: str) -> Session:
    """A Session that trusts the system bundle and these extra CA certificates; `cookies=False` for
    Harbor and its registry; `headers` sent with every request."""
    s = Session()
    if not cookies:
        s.cookies.set_policy(_NoCookies())
    s.headers.update(headers)
    pems = "\n".join(ca_pems)
    if pems:
        from pipeyard_kit.trust import ssl_context

        s.mount("https://", _ContextAdapter(ssl_context(pems)))
    return s


def get_bounded(s: requests.Session, url: str, *, headers: dict[str, str] | None = None, timeout: float,
                deadline: float, limit: int = 1 << 20) -> requests.Response:
    """GET with a per-read timeout and a total deadline over connect, redirects and body; the body
    (at most `limit` bytes) is in `.content`. A server that drips a byte every few seconds is cut off."""
    started = time.monotonic()

    def late() -> bool:
        return time.monotonic() - started > deadline

    response = s.get(url, headers=headers, timeout=(timeout, timeout), stream=True)
    try:
        body = bytearray()
        # read1 returns what one socket read brings; read(n) would wait for n bytes, however slowly
        # they drip in, and no timeout per read would ever fire.
        while len(body) < limit and not late():
            chunk = response.raw.read1(min(65536, limit - len(body)), decode_content=True)
            if not chunk:
                break
            body += chunk
        if late():
            raise DeadlineExceeded(f"no complete answer within {deadline:g} s")
        response._content = bytes(body)  # noqa: SLF001 - the body read here, once
    finally:
        # Closing the raw stream drops the connection; release_conn() alone would first read the rest.
        response.raw.close()
    return response
