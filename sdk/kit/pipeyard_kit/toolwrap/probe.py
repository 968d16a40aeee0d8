"""One authenticated GET, to tell a refused credential from every other failure.

The wrappers call it only after the tool has failed, so a successful build makes
no extra request (a warm build must not touch the mirror). Shared by the maven
and npm providers.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: bytes = b""
    error: str = ""


def get(url: str, headers: dict[str, str], *, ca_pems: tuple[str, ...] = (), timeout: float = 5) -> Answer:
    context = ssl.create_default_context()
    if ca_pems:
        context.load_verify_locations(cadata="\n".join(ca_pems))
    request = urllib.request.Request(url, headers={"User-Agent": "pipeyard-probe", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
            return Answer(resp.status, resp.read(65536))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Answer(None, error=str(reason))


def get_all(urls: Sequence[str], headers: dict[str, str], *, ca_pems: tuple[str, ...] = ()) -> list[Answer]:
    """Probe in parallel: a failed job should not wait one timeout per unreachable server."""
    with ThreadPoolExecutor(max_workers=max(1, len(urls))) as pool:
        return list(pool.map(lambda u: get(u, headers, ca_pems=ca_pems), urls))
