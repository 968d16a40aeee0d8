"""Downloads pinned by checksum: nothing unverified ever reaches an image or a job.

In the kit because both floors need it: the platform's image and B2I builds, and the sonar image,
which fetches the SonarScanner CLI from the site's mirror when a server is too old for pysonar.

    fetch(url, sha256, dest)  download to dest, or raise ChecksumError naming the
                              file and both digests (a partial or wrong file is
                              never left at dest);
    verify(path, sha256)      the same check on a file already here.

`sha256` may be one digest or several (one release ships a wheel per platform).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from pipeyard_kit import http
from pipeyard_kit.errors import ChecksumError, RemoteError

CHUNK = 1 << 20
DEADLINE = 900.0  # the whole download: a JDK or a scanner archive over a slow mirror


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _expected(sha256: str | Iterable[str]) -> list[str]:
    values = [sha256] if isinstance(sha256, str) else list(sha256)
    return [v.removeprefix("sha256:").lower() for v in values]


def verify(path: Path, sha256: str | Iterable[str], *, name: str | None = None) -> str:
    """Return the file's digest when it is one of the pinned ones, else raise ChecksumError."""
    expected = _expected(sha256)
    actual = sha256_of(path)
    if actual not in expected:
        raise ChecksumError(name or path.name, " or sha256:".join(expected), actual)
    return actual


def _stream(url: str, out, timeout: float, tls: bool | str = True, deadline: float = DEADLINE,
            headers: dict[str, str] | None = None) -> None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        with open(unquote(parts.path), "rb") as f:
            while chunk := f.read(CHUNK):
                out.write(chunk)
        return
    # The URL may carry a token in its query or user part: errors name only where it points.
    where = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
    try:
        with http.session() as s, http.time_limit(deadline), \
                s.get(url, stream=True, timeout=timeout, verify=tls, headers=headers) as r:
            if r.status_code >= 400:
                raise RemoteError(f"download of {where} failed: HTTP {r.status_code} {r.reason}",
                                  fix="check the URL and the mirror")
            for chunk in http.chunks(r, CHUNK):
                out.write(chunk)
    except http.DeadlineExceeded:
        raise RemoteError(f"download of {where} did not complete within {deadline:g} s",
                          fix="check the mirror's speed and the network or proxy settings") from None
    except requests.RequestException as exc:
        raise RemoteError(f"download of {where} failed ({type(exc).__name__})",
                          fix="check the URL and the network or proxy settings") from None


def fetch(url: str, sha256: str | Iterable[str], dest: Path, *, timeout: float = 60.0,
          tls: bool | str = True, deadline: float = DEADLINE, name: str | None = None,
          headers: dict[str, str] | None = None) -> Path:
    """Download url to dest when dest is missing or stale, verifying the pinned sha256; a mismatch names
    `name` (default: dest's file name, which a cache keyed by digest makes meaningless).

    `timeout` bounds each read, `deadline` the whole download. `tls` is requests' certificate check:
    a CA bundle file (the site's CUSTOM_CA_CERTS) or True."""
    dest = Path(dest)
    expected = _expected(sha256)
    if dest.is_file() and sha256_of(dest) in expected:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(url, out, timeout, tls, deadline, headers)
        verify(tmp, expected, name=name or dest.name)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
