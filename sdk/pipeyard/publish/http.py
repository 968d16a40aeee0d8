"""The HTTP session every Harbor and registry call goes through: requests, with no cookie jar.

Harbor sets its `sid` session cookie on every answer, API and /v2 alike. Its CSRF middleware lets an
/api/, /v2/ or /service/ request skip the CSRF check only when it carries no session
(goharbor/harbor src/server/middleware/csrf/csrf.go, csrfSkipper), so a client that sends the cookie
back has every POST, PUT and DELETE after its first call refused with 403 "CSRF token invalid".
Harbor's maintainers advise scripted clients to keep no cookies (goharbor/harbor#13124, #13570).
"""

from __future__ import annotations

from http.cookiejar import DefaultCookiePolicy

import requests

from pipeyard_kit import __version__


class _NoCookies(DefaultCookiePolicy):
    """Accept no cookie from any server, and so send none back."""

    def set_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def return_ok(self, cookie, request) -> bool:  # type: ignore[no-untyped-def]
        return False


def session(**headers: str) -> requests.Session:
    s = requests.Session()
    s.cookies.set_policy(_NoCookies())
    s.headers["User-Agent"] = f"pipeyard/{__version__}"
    s.headers.update(headers)
    return s
