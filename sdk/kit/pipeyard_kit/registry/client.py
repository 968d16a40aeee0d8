"""A small OCI distribution (v1.1) client: what push, pull-for-mirroring and tagging need.

Every call retries 5xx answers and broken connections with backoff. A failure that persists
becomes one RemoteError naming the registry and the fix; a 401 names the credential variables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests

from pipeyard_kit import http
from pipeyard_kit.errors import RemoteError
from pipeyard_kit.registry.auth import Auth, TokenRefused, scopes_for
from pipeyard_kit.registry.credentials import Credentials
from pipeyard_kit.registry.oci import MANIFEST_TYPES, sha256_digest
from pipeyard_kit.registry.retry import TRANSIENT_STATUSES, RetryPolicy, Transient

log = logging.getLogger("pipeyard.registry")
T = TypeVar("T")

Body = bytes | Callable[[], IO[bytes]] | None
UNREACHABLE_FIX = ("check the host and port; the embedded registry (127.0.0.1:5000) starts with "
                   "`pipeyard registry start`, or by `pipeyard publish` without --registry")


@dataclass
class PushStats:
    """What went over the wire, for the summary line and the benchmarks."""

    uploaded: int = 0
    uploaded_bytes: int = 0
    skipped: int = 0
    mounted: int = 0
    manifests: int = 0
    retries: int = 0

    def add(self, other: PushStats) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class ImmutableTag(RemoteError):
    """412: the registry keeps an existing tag where it is (Harbor's immutable tag rules)."""


class RegistryClient:
    def __init__(self, host: str, *, scheme: str = "https", credentials: Credentials | None = None,
                 retry: RetryPolicy | None = None, credential_hint: str = "",
                 unreachable_fix: str = UNREACHABLE_FIX, timeout: tuple[float, float] = (5, 300)):
        self.host = host
        self.base = f"{scheme}://{host}"
        self.retry = retry or RetryPolicy.from_env()
        self.credential_hint = credential_hint or (credentials.hint if credentials else "")
        self.unreachable_fix = unreachable_fix
        self.timeout = timeout
        self.session = http.session(cookies=False)
        self.auth = Auth(credentials, self.session, timeout=timeout[1])
        self.stats = PushStats()

    # -- the request loop ----------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        return path_or_url if "://" in path_or_url else f"{self.base}{path_or_url}"

    def request(self, method: str, path_or_url: str, *, repo: str, what: str, ok: tuple[int, ...] = (200,),
                body: Body = None, headers: dict[str, str] | None = None, stream: bool = False,
                extra_scopes: tuple[str, ...] = ()) -> requests.Response:
        """One logical call: retried on transient failures, re-sent once after a login challenge."""
        return self.retrying(lambda: self._once(method, path_or_url, repo=repo, what=what, ok=ok, body=body,
                                                headers=headers, stream=stream, extra_scopes=extra_scopes),
                             what)

    def retrying(self, fn: Callable[[], T], what: str) -> T:
        """Run fn (made of _once calls) with backoff; a failure that persists becomes a RemoteError."""

        def count(exc: Transient, attempt: int) -> None:
            self.stats.retries += 1
            log.info("registry %s: %s on %s; retry %d of %d", self.host, exc.detail, what,
                     attempt, self.retry.attempts - 1)

        try:
            return self.retry.call(fn, on_retry=count)
        except Transient as exc:
            if exc.connection:
                raise RemoteError(f"registry {self.host} is unreachable ({exc.detail})",
                                  fix=self.unreachable_fix) from None
            raise RemoteError(
                f"registry {self.host} kept failing with {exc.detail} on {what} "
                f"({self.retry.attempts} attempts)",
                fix="no tag was moved to a partial image; check the registry's health and logs, "
                    "then publish again",
            ) from None

    def _once(self, method: str, path_or_url: str, *, repo: str, what: str, ok: tuple[int, ...] = (200,),
              body: Body = None, headers: dict[str, str] | None = None, stream: bool = False,
              extra_scopes: tuple[str, ...] = ()) -> requests.Response:
        scopes = scopes_for(method, repo, extra_scopes)
        if not repo and "/v2/_catalog" in path_or_url:
            scopes = ("registry:catalog:*",)
        response = self._login(lambda: self._send(method, path_or_url, scopes, body, headers, stream), what)
        if response.status_code == 401:
            response.close()
            retry_login = self._login(lambda: self.auth.answer(response, scopes), what)
            if retry_login:
                response = self._login(lambda: self._send(method, path_or_url, scopes, body, headers, stream), what)
            if response.status_code == 401:
                response.close()
                raise self._unauthorized(what, "401 Unauthorized")
        if response.status_code in TRANSIENT_STATUSES:
            detail = f"{response.status_code} {response.reason}"
            response.close()
            raise Transient(detail, status=response.status_code)
        if response.status_code not in ok:
            error = self._refused(response, what)
            response.close()
            raise error
        return response

    def _login(self, fn: Callable[[], T], what: str) -> T:
        """Run fn, turning what the token service answered into the client's errors."""
        try:
            return fn()
        except TokenRefused as exc:
            raise self._unauthorized(what, str(exc)) from None
        except requests.ConnectionError as exc:
            raise Transient(f"token service unreachable ({_reason(exc)})", connection=True) from exc
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in TRANSIENT_STATUSES:
                raise Transient(f"token service answered {status}", status=status) from exc
            raise RemoteError(f"the token service of registry {self.host} answered {status}",
                              fix="check the registry's token service") from exc

    def _send(self, method: str, path_or_url: str, scopes: tuple[str, ...], body: Body,
              headers: dict[str, str] | None, stream: bool) -> requests.Response:
        auth = self.auth.headers(scopes)
        data: Any = body() if callable(body) else body
        try:
            return self.session.request(method, self._url(path_or_url), data=data, stream=stream,
                                        headers={**(headers or {}), **auth},
                                        timeout=self.timeout, allow_redirects=True)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(_reason(exc), connection=True) from exc
        finally:
            if hasattr(data, "close"):
                data.close()

    def _unauthorized(self, what: str, detail: str) -> RemoteError:
        if self.auth.credentials:
            fix = f"check {self.credential_hint or 'the registry credentials'}: registry {self.host} refused them"
        else:
            fix = f"set {self.credential_hint or 'the registry credentials'}"
        return RemoteError(f"registry {self.host} answered {detail} to {what}", fix=fix)

    def _refused(self, response: requests.Response, what: str) -> RemoteError:
        detail = _error_detail(response)
        if response.status_code == 403:
            return RemoteError(f"registry {self.host} denied {what} (403{detail})",
                               fix=f"check that {self.credential_hint or 'the account'} may pull and push "
                                   "in this project")
        if response.status_code == 412:
            # Harbor refuses a push of an existing immutable tag, whatever its digest
            # (src/server/middleware/immutable/pushmf.go).
            return ImmutableTag(f"registry {self.host} refused {what}: the tag exists and is immutable (412{detail})",
                                fix="a published version names one image: bump the version to publish a changed "
                                    "image (the tag keeps the image it names)")
        return RemoteError(f"registry {self.host} answered {response.status_code} {response.reason} "
                           f"to {what}{detail}",
                           fix="check the image name and the registry's logs")

    # -- API --------------------------------------------------------------------------------------
    def ping(self) -> None:
        """Reach /v2/ once: fails fast on a wrong address or refused credentials."""
        self.request("GET", "/v2/", repo="", what="GET /v2/").close()

    def blob_exists(self, repo: str, digest: str) -> bool:
        r = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", repo=repo, what=f"HEAD blob {_short(digest)}",
                         ok=(200, 404))
        r.close()
        return r.status_code == 200

    def mount_blob(self, repo: str, digest: str, source_repo: str) -> bool:
        """Cross-repository mount; False when the registry wants the blob uploaded instead."""
        query = urlencode({"mount": digest, "from": source_repo})
        r = self.request("POST", f"/v2/{repo}/blobs/uploads/?{query}", repo=repo, ok=(201, 202),
                         what=f"mount {_short(digest)} from {source_repo}",
                         extra_scopes=(f"repository:{source_repo}:pull",))
        r.close()
        if r.status_code == 201:
            self.stats.mounted += 1
            return True
        return False

    def upload_blob(self, repo: str, digest: str, size: int, opener: Callable[[], IO[bytes]]) -> None:
        """Monolithic upload: POST for a session, then PUT the bytes with ?digest=.

        A retry starts a fresh session: a registry that failed mid-upload may have dropped the old one.
        """

        def upload() -> None:
            start = self._once("POST", f"/v2/{repo}/blobs/uploads/", repo=repo, ok=(202,),
                               what=f"start upload of {_short(digest)} to {repo}")
            start.close()
            location = start.headers.get("Location")
            if not location:
                raise RemoteError(f"registry {self.host} started an upload without a Location header",
                                  fix="the registry does not follow the OCI distribution spec")
            url = _with_query(urljoin(self._url(f"/v2/{repo}/blobs/uploads/"), location), digest=digest)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
            self._once("PUT", url, repo=repo, ok=(201,), body=opener, headers=headers,
                       what=f"upload of {_short(digest)} to {repo}").close()

        self.retrying(upload, f"upload of {_short(digest)} to {repo}")
        self.stats.uploaded += 1
        self.stats.uploaded_bytes += size

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        r = self.request("PUT", f"/v2/{repo}/manifests/{reference}", repo=repo, ok=(201,), body=data,
                         headers={"Content-Type": media_type},
                         what=f"PUT manifest {repo}:{_short(reference)}")
        r.close()
        self.stats.manifests += 1
        return r.headers.get("Docker-Content-Digest") or sha256_digest(data)

    def manifest_digest(self, repo: str, reference: str) -> str | None:
        """The digest a tag points at, or None if there is no such tag."""
        r = self.request("HEAD", f"/v2/{repo}/manifests/{reference}", repo=repo, ok=(200, 404),
                         headers={"Accept": ", ".join(MANIFEST_TYPES)},
                         what=f"HEAD manifest {repo}:{_short(reference)}")
        r.close()
        return r.headers.get("Docker-Content-Digest") if r.status_code == 200 else None

    def get_manifest(self, repo: str, reference: str) -> tuple[bytes, str]:
        """The manifest's exact bytes and media type."""
        r = self.request("GET", f"/v2/{repo}/manifests/{reference}", repo=repo, ok=(200, 404),
                         headers={"Accept": ", ".join(MANIFEST_TYPES)},
                         what=f"GET manifest {repo}:{_short(reference)}")
        if r.status_code == 404:
            raise RemoteError(f"{self.host}/{repo}:{reference} does not exist",
                              fix="check the image name and tag in the list")
        media_type = r.headers.get("Content-Type", "").split(";")[0].strip()
        data = r.content
        if not media_type or media_type == "application/json":
            media_type = json.loads(data).get("mediaType", "")
        if reference.startswith("sha256:") and sha256_digest(data) != reference:
            raise RemoteError(f"registry {self.host} returned a manifest for {repo}@{reference} "
                              "with another digest",
                              fix="the registry content is corrupt or a proxy rewrote it")
        return data, media_type

    def blob_stream(self, repo: str, digest: str) -> Iterator[bytes]:
        r = self.request("GET", f"/v2/{repo}/blobs/{digest}", repo=repo, ok=(200,), stream=True,
                         what=f"GET blob {_short(digest)} from {repo}")
        try:
            yield from r.iter_content(1 << 20)
        finally:
            r.close()

    # -- for the supply chain (pipeyard.supply): referrers, manifests that may be absent, small blobs --
    def find_manifest(self, repo: str, reference: str) -> tuple[bytes, str] | None:
        """get_manifest, or None when there is no such tag or digest (a signature not made yet)."""
        if self.manifest_digest(repo, reference) is None:
            return None
        return self.get_manifest(repo, reference)

    def put_manifest_with_subject(self, repo: str, reference: str, data: bytes, media_type: str) -> tuple[str, bool]:
        """PUT a manifest that has a `subject`; also whether the registry processed it: the
        `OCI-Subject` answer header of distribution-spec 1.1 ("Pushing Manifests with Subject")."""
        r = self.request("PUT", f"/v2/{repo}/manifests/{reference}", repo=repo, ok=(201,), body=data,
                         headers={"Content-Type": media_type},
                         what=f"PUT manifest {repo}:{_short(reference)}")
        r.close()
        self.stats.manifests += 1
        return r.headers.get("Docker-Content-Digest") or sha256_digest(data), bool(r.headers.get("OCI-Subject"))

    def referrers(self, repo: str, digest: str, artifact_type: str | None = None) -> list[dict[str, Any]] | None:
        """GET /v2/<repo>/referrers/<digest> (distribution-spec 1.1, end-12a/12b): the descriptors of
        the manifests whose subject is digest, or None when the registry has no referrers API (404)."""
        query = f"?{urlencode({'artifactType': artifact_type})}" if artifact_type else ""
        r = self.request("GET", f"/v2/{repo}/referrers/{digest}{query}", repo=repo, ok=(200, 404),
                         headers={"Accept": "application/vnd.oci.image.index.v1+json"},
                         what=f"GET referrers of {repo}@{_short(digest)}")
        if r.status_code == 404:
            r.close()
            return None
        try:
            manifests = r.json().get("manifests") or []
        except ValueError:
            raise RemoteError(f"registry {self.host} answered the referrers API with no image index",
                              fix="the registry does not follow the OCI distribution spec 1.1") from None
        if artifact_type and "artifactType" not in r.headers.get("OCI-Filters-Applied", ""):
            manifests = [m for m in manifests if m.get("artifactType") == artifact_type]
        return manifests

    def get_blob(self, repo: str, digest: str, limit: int = 64 << 20) -> bytes:
        """A small blob (a signature payload, an SBOM), checked against its digest."""
        data = bytearray()
        for chunk in self.blob_stream(repo, digest):
            data += chunk
            if len(data) > limit:
                raise RemoteError(f"blob {_short(digest)} of {repo} is larger than {limit >> 20} MB",
                                  fix="it is not a signature or an SBOM; check the image")
        if sha256_digest(bytes(data)) != digest:
            raise RemoteError(f"registry {self.host} sent a blob of {repo} not matching {digest}",
                              fix="the registry's storage is damaged or a proxy altered the data")
        return bytes(data)

    def close(self) -> None:
        self.session.close()


def _short(ref: str) -> str:
    return ref[:19] if ref.startswith("sha256:") else ref


def _reason(exc: Exception) -> str:
    text = str(exc)
    for known in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                  "Temporary failure in name resolution", "No route to host", "Remote end closed"):
        if known.lower() in text.lower():
            return known.lower()
    return type(exc).__name__


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _error_detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return ""
    messages = [e.get("message") or e.get("code") for e in errors if isinstance(e, dict)]
    return ": " + "; ".join(m for m in messages if m) if messages else ""
