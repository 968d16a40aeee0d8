"""A thin SonarQube Web API client on requests.

Every failure becomes one RemoteError naming the server and the fix. The token
goes in the Basic user field with an empty password, which every version from
9.9 accepts (Bearer only from 10.0); it never appears in a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from pipeyard_kit import __version__, shapes, urls
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.sonarqube.answers import shape_of
from pipeyard_kit.sonarqube.compat import Compat, parse_version

log = logging.getLogger("pipeyard.sonar")

# Gateways and a restarting server answer these; anything else is not worth a retry.
TRANSIENT_STATUS = {502, 503, 504}


class SonarNotFound(RemoteError):
    """A 404 from the Web API; callers read .messages (e.g. unknown metric keys)."""

    def __init__(self, message: str, messages: list[str], *, fix: str | None = None):
        self.messages = messages
        super().__init__(message, fix=fix)


class _Transient(Exception):
    def __init__(self, error: RemoteError):
        self.error = error
        super().__init__(error.render())


def error_messages(response: requests.Response) -> list[str]:
    """Sonar's {"errors":[{"msg":...}]}; a 401 may come with an empty body."""
    try:
        data = response.json()
    except ValueError:
        return []
    if isinstance(data, dict):
        return [str(e.get("msg", "")) for e in data.get("errors", []) if isinstance(e, dict) and e.get("msg")]
    return []


@dataclass
class SonarClient:
    base_url: str
    token: str | None = None
    timeout: float = 30.0
    verify: bool | str = True
    url_setting: str = "SONAR_HOST_URL"
    token_setting: str = "SONAR_TOKEN"
    retries: int = 2
    backoff: float = 0.5
    calls: list[str] = field(default_factory=list)
    _compat: Compat | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"pipeyard/{__version__}"
        if self.token:
            self.session.auth = (self.token, "")
        self.session.verify = self.verify

    # -- transport ---------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def where(self) -> str:
        """The server as messages name it: its address and the setting that holds it."""
        return f"SonarQube at {urls.masked(self.base_url)} ({self.url_setting})"

    def get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        retrying = Retrying(stop=stop_after_attempt(self.retries + 1),
                            wait=wait_exponential(multiplier=self.backoff, max=10),
                            retry=retry_if_exception_type(_Transient), reraise=False)
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_once(path, params)
        except RetryError as exc:
            raise exc.last_attempt.exception().error from None  # type: ignore[union-attr]
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_once(self, path: str, params: dict[str, Any] | None) -> requests.Response:
        where = self.where
        self.calls.append(path)
        log.debug("GET %s %s", path, params or "")
        try:
            response = self.session.get(self.url(path), params=params, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise RemoteError(f"TLS verification of {where} failed ({_reason(exc)})",
                              fix="add the server's CA certificate to CUSTOM_CA_CERTS") from None
        except requests.exceptions.Timeout:
            raise RemoteError(f"{where} did not answer {path} within {self.timeout:g} s",
                              fix=f"check that {self.url_setting} points at a healthy server, "
                                  "or raise SONAR_TIMEOUT") from None
        except requests.exceptions.ConnectionError as exc:
            raise _Transient(RemoteError(f"cannot reach {where} ({_reason(exc)})",
                                         fix=f"check {self.url_setting} and that the runner can reach it")) from None
        if response.status_code < 400:
            return response
        msgs = error_messages(response)
        detail = f": {'; '.join(msgs)}" if msgs else ""
        code = response.status_code
        if code == 401:
            if not self.token:
                raise RemoteError(f"{where} requires authentication (401 on {path})",
                                  fix=f"set {self.token_setting} or {self.token_setting}_FILE to a user token")
            raise RemoteError(f"{where} rejected the token (401 on {path})",
                              fix=f"{self.token_setting} is wrong, expired or revoked: generate a new token "
                                  "in SonarQube (My Account > Security) and update the CI/CD variable")
        if code == 403:
            raise RemoteError(f"{where} refused {path} (403){detail}",
                              fix=f"give the user of {self.token_setting} the Browse permission on the project")
        if code == 404:
            raise SonarNotFound(f"{where} answered 404 on {path}{detail}", msgs)
        error = RemoteError(f"{where} failed with HTTP {code} on {path}{detail}",
                            fix="the server is failing or restarting: check its api/system/status and logs, "
                                "then rerun the job" if code >= 500 else "report this with TRACE=1 output")
        if code in TRANSIENT_STATUS:
            raise _Transient(error)
        raise error

    def json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object `path` answers, checked against the members pipeyard reads of it (answers.py):
        anything else (a login page, a list, a member of the wrong type) is one RemoteError."""
        response = self.get(path, params)
        call = path.split("?", 1)[0]
        try:
            data = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0] or "no content type"
            raise RemoteError(f"{self.where} answered {call} with something that is not JSON ({kind})",
                              fix=f"check that {self.url_setting} is the SonarQube base URL, not a proxy or a "
                                  "login page") from None
        found = shapes.problem(data, {} if shape_of(call) is shapes.ANY else shape_of(call))
        if found:
            raise RemoteError(f"{self.where} answered {call} with JSON pipeyard does not expect ({found})",
                              fix=f"check that {self.url_setting} points at SonarQube itself, not another "
                                  "service; if it does, report its version and this message")
        return data

    # -- helpers -----------------------------------------------------------

    def compat(self) -> Compat:
        """The server version decides the parameters; asked once per client."""
        if self._compat is None:
            text = self.get("api/server/version").text
            try:
                self._compat = Compat(parse_version(text))
            except RemoteError:
                raise RemoteError(f"{self.where} answered api/server/version with {text.strip()[:30]!r}, not a "
                                  "version", fix=f"check that {self.url_setting} is SonarQube's base URL, not a "
                                                 "login page or a proxy") from None
            log.debug("SonarQube version %s", text.strip())
        return self._compat


def _reason(exc: Exception) -> str:
    """The innermost cause, without the URL noise urllib3 wraps around it."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or type(inner).__name__
    if "]" in text and text.startswith("["):
        text = text.split("]", 1)[1].strip() or text
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip(" ()'\">")[:200]
