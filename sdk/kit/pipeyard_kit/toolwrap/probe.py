"""One authenticated GET, to tell a refused credential from every other failure.

The wrappers call it only after the tool has failed, so a successful build makes
no extra request (a warm build must not touch the mirror). Shared by the maven
and npm providers. The credentials go to the probed origin only (pipeyard_kit.http),
and every probe ends within its deadline, whatever the server does.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

TIMEOUT = 5.0
DEADLINE = 15.0


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: bytes = b""
    error: str = ""


def get(url: str, headers: dict[str, str], *, ca_pems: tuple[str, ...] = (), timeout: float = TIMEOUT,
        deadline: float = DEADLINE) -> Answer:
    import requests

    from pipeyard_kit import http

    try:
        with http.session(ca_pems=ca_pems) as s:
            response = http.get_bounded(s, url, headers=headers, timeout=timeout, deadline=deadline, limit=65536)
    except http.DeadlineExceeded as exc:
        return Answer(None, error=str(exc))
    except requests.exceptions.RequestException as exc:
        return Answer(None, error=type(exc).__name__)
    if response.status_code >= 400:
        return Answer(response.status_code)
    return Answer(response.status_code, response.content)


def get_all(urls: Sequence[str], headers: dict[str, str], *, ca_pems: tuple[str, ...] = ()) -> list[Answer]:
    """Probe in parallel: a failed job should not wait one timeout per unreachable server."""
    with ThreadPoolExecutor(max_workers=max(1, len(urls))) as pool:
        return list(pool.map(lambda u: get(u, headers, ca_pems=ca_pems), urls))
