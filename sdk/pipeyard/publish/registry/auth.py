"""The registry's two login schemes: Basic (htpasswd) and Bearer tokens (Harbor, Docker Hub).

The registry says which one it wants in the WWW-Authenticate header of a 401, and for tokens
which realm hands them out and which scope to ask for.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import requests

from pipeyard.publish.registry.credentials import Credentials

_PARAM = re.compile(r'(\w+)="([^"]*)"')


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


class TokenRefused(Exception):
    """The token service refused the credentials (or wants some)."""


class Auth:
    """Chooses the Authorization header for a repository and learns from 401 challenges."""

    def __init__(self, credentials: Credentials | None, session: requests.Session, timeout: float = 30):
        self.credentials = credentials
        self.session = session
        self.timeout = timeout
        self._basic = False
        self._tokens: dict[str, str] = {}  # repository ("" for /v2/) -> bearer token

    def headers(self, repo: str) -> dict[str, str]:
        token = self._tokens.get(repo)
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self._basic and self.credentials:
            return {"Authorization": self._basic_value()}
        return {}

    def _basic_value(self) -> str:
        assert self.credentials
        raw = f"{self.credentials.username}:{self.credentials.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def answer(self, response: requests.Response, repo: str, extra_scopes: tuple[str, ...] = ()) -> bool:
        """React to a 401; True when a retry with new credentials is worth it."""
        challenge = Challenge.parse(response.headers.get("WWW-Authenticate", ""))
        sent = response.request.headers.get("Authorization", "") if response.request else ""
        if challenge is None or challenge.scheme == "basic":
            if self.credentials and not sent.startswith("Basic"):
                self._basic = True
                return True
            return False
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            return False
        token = self._fetch_token(challenge, extra_scopes)
        if f"Bearer {token}" == sent:
            return False
        self._tokens[repo] = token
        return True

    def _fetch_token(self, challenge: Challenge, extra_scopes: tuple[str, ...]) -> str:
        params: list[tuple[str, str]] = []
        if "service" in challenge.params:
            params.append(("service", challenge.params["service"]))
        for scope in (challenge.params.get("scope", ""), *extra_scopes):
            params.extend(("scope", s) for s in scope.split(" ") if s)
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        r = self.session.get(challenge.params["realm"], params=params, auth=auth, timeout=self.timeout)
        if r.status_code in (401, 403):
            raise TokenRefused(f"{r.status_code} from the token service {challenge.params['realm']}")
        r.raise_for_status()
        body = r.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise TokenRefused(f"the token service {challenge.params['realm']} returned no token")
        return token
