"""A small OCI distribution (v1.1) client: what push, pull-for-mirroring and tagging need.

Every call retries 5xx answers and broken connections with backoff, and a 429 after the wait its
Retry-After names. A failure that persists becomes one RemoteError naming the registry and the fix;
a 401 names the credential variables. Credentials not given are looked up in Docker's configuration
when the registry first asks for them. Each request ends within a deadline: `deadline` seconds, plus
the time a body needs at MIN_RATE. Blobs larger than `chunk_size` go up in chunks and resume after a
failure (upload.py); `progress(digest, bytes done, size)` follows every upload.
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
from pipeyard_kit.registry import dockerconfig
from pipeyard_kit.registry.auth import Auth, TokenRefused, scopes_for
from pipeyard_kit.registry.credentials import Credentials
from pipeyard_kit.registry.oci import MANIFEST_TYPES, sha256_digest
from pipeyard_kit.registry.retry import TRANSIENT_STATUSES, RetryPolicy, Transient, WaitTooLong
from pipeyard_kit.registry.upload import Reader, end_of

log = logging.getLogger("pipeyard.registry")
T = TypeVar("T")

Body = bytes | Callable[[], Any] | None
Progress = Callable[[str, int, int], None]
UNREACHABLE_FIX = ("check the host and port; the embedded registry (127.0.0.1:5000) starts with "
                   "`pipeyard registry start`, or by `pipeyard publish` without --registry")
DEADLINE = 120.0  # seconds for a request without a large body (a HEAD, a manifest, a token)
MIN_RATE = 256 << 10  # bytes per second below which a blob transfer is given up as stalled
CHUNK_SIZE = 32 << 20  # blobs larger than this go up in chunks of this size


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
                 unreachable_fix: str = UNREACHABLE_FIX, timeout: tuple[float, float] = (5, 300),
                 deadline: float = DEADLINE, chunk_size: int = CHUNK_SIZE, docker_config: bool = True,
                 progress: Progress | None = None):
        self.host = host
        self.base = f"{scheme}://{host}"
        self.retry = retry or RetryPolicy.from_env()
        self.credential_hint = credential_hint or (credentials.hint if credentials else "")
        self.unreachable_fix = unreachable_fix
        self.timeout = timeout
        self.deadline = deadline
        self.chunk_size = max(1, chunk_size)
        self.progress = progress
        self.session = http.session(cookies=False, deadline=deadline)
        lookup = (lambda: dockerconfig.lookup(host)) if docker_config else None
        self.auth = Auth(credentials, self.session, timeout=timeout[1], lookup=lookup)
        self.stats = PushStats()

    def transfer_deadline(self, size: int) -> float:
        """Seconds a request moving `size` bytes may take."""
        return self.deadline + size / MIN_RATE

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
        except WaitTooLong as exc:
            raise RemoteError(f"registry {self.host} asked to wait {exc.transient.retry_after:g} s before {what} "
                              f"({exc.transient.detail})",
                              fix=f"publish again later; PIPEYARD_RETRY_AFTER_MAX ({exc.limit:g} s) is the longest "
                                  "wait pipeyard sits through") from None
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
            after = http.retry_after(response)
            response.close()
            raise Transient(detail, status=response.status_code, retry_after=after)
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
            size = len(data) if data is not None else 0
        except TypeError:
            size = int((headers or {}).get("Content-Length") or 0)
        try:
            return self.session.request(method, self._url(path_or_url), data=data, stream=stream,
                                        headers={**(headers or {}), **auth}, timeout=self.timeout,
                                        allow_redirects=True, deadline=self.transfer_deadline(size))
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(_reason(exc), connection=True) from exc
        finally:
            if hasattr(data, "close"):
                data.close()

    def _unauthorized(self, what: str, detail: str) -> RemoteError:
        credentials = self.auth.credentials
        if credentials:
            hint = credentials.hint if self.auth.looked_up else self.credential_hint
            fix = f"check {hint or 'the registry credentials'}: registry {self.host} refused them"
        else:
            fix = (f"set {self.credential_hint or 'the registry credentials'}, or log in with "
                   f"`docker login {self.host}`")
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
        """Upload a blob: one PUT up to chunk_size bytes, chunks above (upload.py); `opener` gives a
        fresh file of the blob's bytes for each attempt."""
        if size > self.chunk_size:
            self._upload_chunked(repo, digest, size, opener)
        else:
            self._upload_whole(repo, digest, size, opener)
        self.stats.uploaded += 1
        self.stats.uploaded_bytes += size

    def _reader(self, digest: str, size: int, opener: Callable[[], IO[bytes]], start: int,
                length: int) -> Callable[[], Reader]:
        report = self.progress
        progress = (lambda done: report(digest, done, size)) if report else None
        return lambda: Reader(opener, start, length, progress)

    def _start_upload(self, repo: str, digest: str) -> tuple[str, int]:
        """POST for an upload session: its absolute Location, and the registry's minimum chunk."""
        start = self._once("POST", f"/v2/{repo}/blobs/uploads/", repo=repo, ok=(202,),
                           headers={"Content-Length": "0"}, what=f"start upload of {_short(digest)} to {repo}")
        start.close()
        return self._location(start, repo), int(start.headers.get("OCI-Chunk-Min-Length") or 0)

    def _location(self, response: requests.Response, repo: str, previous: str | None = None) -> str:
        location = response.headers.get("Location") or previous
        if not location:
            raise RemoteError(f"registry {self.host} answered an upload without a Location header",
                              fix="the registry does not follow the OCI distribution spec")
        return urljoin(self._url(f"/v2/{repo}/blobs/uploads/"), location)

    def _upload_whole(self, repo: str, digest: str, size: int, opener: Callable[[], IO[bytes]]) -> None:
        """Monolithic upload: POST for a session, then PUT the bytes with ?digest=.

        A retry starts a fresh session: a registry that failed mid-upload may have dropped the old one.
        """

        def upload() -> None:
            location, _ = self._start_upload(repo, digest)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
            self._once("PUT", _with_query(location, digest=digest), repo=repo, ok=(201,),
                       body=self._reader(digest, size, opener, 0, size), headers=headers,
                       what=f"upload of {_short(digest)} to {repo}").close()

        self.retrying(upload, f"upload of {_short(digest)} to {repo}")

    def _upload_chunked(self, repo: str, digest: str, size: int, opener: Callable[[], IO[bytes]]) -> None:
        """PATCH chunks in order, then the closing PUT; after a failure, resume from the Range the
        registry reports for the session, or start a fresh one (upload.py says when)."""
        what = f"upload of {_short(digest)} to {repo}"
        state: dict[str, Any] = {"location": None, "held": 0, "chunk": self.chunk_size, "resume": False,
                                 "refused": None}

        def fresh() -> None:
            state["location"], least = self._start_upload(repo, digest)
            state["held"], state["chunk"], state["resume"] = 0, max(self.chunk_size, least), False

        def resume() -> None:
            """Ask the registry how far its copy goes (a GET on the last Location)."""
            r = self._once("GET", state["location"], repo=repo, ok=(204, 400, 404, 416),
                           what=f"status of the {what}")
            r.close()
            held, shown = end_of(r.headers.get("Range")), (r.headers.get("Range") or "").strip()
            # "0-0" is both nothing and one byte (distribution writes it for an empty session).
            if r.status_code != 204 or held is None or held > size or held < state["held"] or \
                    (shown.endswith("0-0") and state["held"] == 0):
                log.info("registry %s: %s restarts from byte 0 (upload status %d %s)", self.host, what,
                         r.status_code, shown or "without a Range")
                fresh()
                return
            log.info("registry %s: %s resumes at byte %d of %d", self.host, what, held, size)
            state["location"], state["held"], state["resume"] = self._location(r, repo, state["location"]), held, False

        def attempt() -> None:
            if state["location"] is None:
                fresh()
            elif state["resume"]:
                resume()
            state["resume"] = True  # whatever fails from here on leaves the session to be asked about
            while state["held"] < size:
                start = state["held"]
                length = min(state["chunk"], size - start)
                headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length),
                           "Content-Range": f"{start}-{start + length - 1}"}
                r = self._once("PATCH", state["location"], repo=repo, ok=(202, 416), headers=headers,
                               body=self._reader(digest, size, opener, start, length),
                               what=f"{what} (bytes {start}-{start + length - 1})")
                r.close()
                if r.status_code == 416:  # out of order: the registry holds another length than we think
                    if state["refused"] == start:  # refused twice at the same byte: asking again will not help
                        raise RemoteError(f"registry {self.host} refused the chunk at byte {start} of {what} "
                                          "twice (416) after reporting it held the bytes before it",
                                          fix="the registry's upload sessions are inconsistent (a load balancer "
                                              "without sticky sessions?): check its storage, then publish again")
                    state["refused"] = start
                    resume()
                    state["resume"] = True
                    continue
                state["location"] = self._location(r, repo, state["location"])
                held = end_of(r.headers.get("Range"))
                state["held"] = held if held is not None and start < held <= size else start + length
            self._once("PUT", _with_query(state["location"], digest=digest), repo=repo, ok=(201,),
                       headers={"Content-Length": "0"}, body=b"", what=f"closing {what}").close()
            state["resume"] = False

        self.retrying(attempt, what)

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
            deadline = self.transfer_deadline(int(r.headers.get("Content-Length") or 0))
            yield from http.chunks(r, 1 << 20, deadline=deadline)
        except http.DeadlineExceeded as exc:
            raise RemoteError(f"registry {self.host} sent blob {_short(digest)} of {repo} too slowly ({exc})",
                              fix="check the registry's network; a rerun copies only what is missing") from None
        except requests.RequestException as exc:
            raise RemoteError(f"registry {self.host} broke off blob {_short(digest)} of {repo} ({_reason(exc)})",
                              fix="rerun: only what is missing is copied again") from None
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
