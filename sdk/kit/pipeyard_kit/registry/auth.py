"""The registry's two login schemes: Basic (htpasswd, and Harbor's /v2) and Bearer tokens (Harbor,
Docker Hub), chosen per request.

Every request names the access it needs as token scopes: `repository:<name>:pull` for a read,
`repository:<name>:pull,push` for a write, `:delete` for a delete, plus `pull` on the source of a
cross-repository mount. A token is used only for requests its scopes cover and only while it is
fresh, so a pull token fetched for a blob HEAD never goes out with the upload that follows: Harbor's
token service gives a GET or HEAD a pull-only scope, and Harbor answers a request whose token lacks
the action (or has expired) with `Basic realm="harbor"` (src/server/middleware/v2auth/auth.go
getChallenge). Once a registry's token realm is known, a token for a new scope is fetched before the
request rather than after a 401; a Basic challenge is answered with the credentials themselves,
which Harbor accepts on /v2.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests

from pipeyard_kit.registry.credentials import Credentials

_PARAM = re.compile(r'(\w+)="([^"]*)"')
# The token spec's default lifetime when the service names none (distribution docs/spec/auth/token.md).
DEFAULT_LIFETIME = 60.0


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge | None:
        if not header:
            return None
        scheme, _, rest = header.strip().partition(" ")
        return cls(scheme.lower(), dict(_PARAM.findall(rest)))

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(s for s in self.params.get("scope", "").split(" ") if s)


class TokenRefused(Exception):
    """The token service refused the credentials (or wants some)."""


def scopes_for(method: str, repo: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The scopes a request needs: what Harbor's v2auth (access.go getAction) checks for the method."""
    if not repo:
        return tuple(extra)
    action = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method.upper(), "pull,push")
    return (f"repository:{repo}:{action}", *extra)


def _parsed(scopes: Iterable[str]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        out.setdefault((kind, name), set()).update(a for a in actions.split(",") if a)
    return out


@dataclass
class _Token:
    value: str
    scopes: dict[tuple[str, str], set[str]]
    expires: float

    def covers(self, wanted: dict[tuple[str, str], set[str]]) -> bool:
        return all(actions <= self.scopes.get(key, set()) for key, actions in wanted.items())


class Auth:
    """Chooses the Authorization header for each request and learns from 401 challenges."""

    def __init__(self, credentials: Credentials | None, session: requests.Session, timeout: float = 30,
                 clock: Callable[[], float] = time.monotonic):
        self.credentials = credentials
        self.session = session
        self.timeout = timeout
        self.clock = clock
        self.basic = False  # the registry asked for Basic: send the credentials themselves
        self.realm: Challenge | None = None  # the registry's token service, once a challenge named it
        self._tokens: list[_Token] = []
        self.fetched = 0  # token requests made, for tests and the benchmarks

    # -- choosing a header -----------------------------------------------------------------------------
    def headers(self, scopes: tuple[str, ...]) -> dict[str, str]:
        if self.basic and self.credentials:
            return {"Authorization": self._basic_value()}
        token = self._fresh(scopes)
        if token is None and self.realm is not None and scopes:
            token = self._fetch(self.realm, scopes)
        return {"Authorization": f"Bearer {token.value}"} if token else {}

    def _fresh(self, scopes: tuple[str, ...]) -> _Token | None:
        wanted, now = _parsed(scopes), self.clock()
        self._tokens = [t for t in self._tokens if t.expires > now]
        return next((t for t in reversed(self._tokens) if t.covers(wanted)), None)

    def _basic_value(self) -> str:
        assert self.credentials
        raw = f"{self.credentials.username}:{self.credentials.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    # -- learning from a 401 ---------------------------------------------------------------------------
    def answer(self, response: requests.Response, scopes: tuple[str, ...]) -> bool:
        """React to a 401; True when a retry with other credentials is worth it."""
        challenge = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
        sent = response.request.headers.get("Authorization", "") if response.request else ""
        if challenge is None or challenge.scheme == "basic":
            if self.credentials and not sent.startswith("Basic"):
                self.basic = True
                return True
            return False
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            return False
        self.realm = Challenge("bearer", {k: v for k, v in challenge.params.items() if k != "scope"})
        # The token that was sent was refused (revoked, or expired on the server's clock): forget it.
        self._tokens = [t for t in self._tokens if f"Bearer {t.value}" != sent]
        token = self._fetch(challenge, tuple(dict.fromkeys((*challenge.scopes, *scopes))))
        return f"Bearer {token.value}" != sent

    def _fetch(self, challenge: Challenge, scopes: tuple[str, ...]) -> _Token:
        params: list[tuple[str, str]] = []
        if "service" in challenge.params:
            params.append(("service", challenge.params["service"]))
        params.extend(("scope", s) for s in scopes)
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        started = self.clock()
        r = self.session.get(challenge.params["realm"], params=params, auth=auth, timeout=self.timeout)
        self.fetched += 1
        if r.status_code in (401, 403):
            raise TokenRefused(f"{r.status_code} from the token service {challenge.params['realm']}")
        r.raise_for_status()
        body = r.json()
        value = body.get("token") or body.get("access_token")
        if not value:
            raise TokenRefused(f"the token service {challenge.params['realm']} returned no token")
        lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
        # Renew before the server's clock says it expired: a fifth of its life, at most 30 s, early.
        token = _Token(value, _parsed(scopes), started + lifetime - min(30.0, lifetime / 5))
        self._tokens.append(token)
        return token
