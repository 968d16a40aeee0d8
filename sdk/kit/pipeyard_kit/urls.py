"""http(s) URLs as settings hold them: parsed and checked whole, never by their prefix.

A URL setting ends up in a generated file (settings.xml, .npmrc, a scanner property), so a value
with a newline or a control character could add lines of its own: `NPM_REGISTRY_URL` with an
embedded newline once set npm's script-shell. Credentials never belong in a URL either (they end
up in logs and rendered templates); each provider has its own user and token settings for them.
The checks follow RFC 3986: the characters a URI may hold, a host, an optional port 1-65535.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

# RFC 3986 section 2: unreserved, reserved and percent-encoded characters; nothing else.
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])\Z")
EXAMPLE = "https://host/path"


def masked(text: str) -> str:
    """The URL with any user:password@ replaced, fit for a message or a log line."""
    return re.sub(r"(?<=://)[^/?#\s]*@", "***@", text)


CREDENTIALS = "it carries credentials"


def has_credentials(text: str) -> bool:
    """user:password@ or token@ in the authority: credentials in a URL end up in logs and templates."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@", text))


def problem(text: str) -> str | None:
    """Why text is not an http(s) URL a setting may hold, or None when it is one."""
    if not text:
        return "it is empty"
    if not _URI_CHARS.match(text):
        return "it holds a space, a line break or another character a URL cannot"
    try:
        parts: SplitResult = urlsplit(text)
        port = parts.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if parts.scheme.lower() not in ("http", "https"):
        return "it does not start with http:// or https://"
    if has_credentials(text):
        return CREDENTIALS
    host = parts.hostname or ""
    if not host or not _HOST.match(host if ":" not in host else f"[{host}]"):
        return "it names no valid host"
    if port is not None and not 1 <= port <= 65535:
        return "its port is not a number from 1 to 65535"
    if parts.fragment or text.endswith("#"):
        return "it has a #fragment"
    return None
