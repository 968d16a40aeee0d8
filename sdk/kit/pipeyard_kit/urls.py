"""http(s) URLs as settings hold them: parsed and checked whole, never by their prefix.

A URL setting ends up in a generated file (settings.xml, .npmrc, a scanner property), so a value
with a newline or a control character could add lines of its own: `NPM_REGISTRY_URL` with an
embedded newline once set npm's script-shell. Credentials never belong in a URL either (they end
up in logs and rendered templates); each provider has its own user and token settings for them.
The checks follow RFC 3986: the characters a URI may hold, a host, an optional port 1-65535.
"""

from __future__ import annotations

import re
from collections import namedtuple

# RFC 3986 section 2: unreserved, reserved and percent-encoded characters; nothing else.
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])\Z")
EXAMPLE = "https://host/path"
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


class Parts(namedtuple("Parts", "scheme netloc path query fragment")):
    """urllib.parse.urlsplit's answer, for the code on a tool wrapper's first call: urllib.parse imports
    ipaddress, together about 3 ms of every job's first mvn or npm. tests/kit/test_urls.py checks it
    against urlsplit."""

    __slots__ = ()

    def _host_port(self) -> tuple[str, str]:
        host = self.netloc.rpartition("@")[2]
        if host.startswith("["):
            inside, _, rest = host[1:].partition("]")
            return inside, rest[1:] if rest.startswith(":") else ""
        host, _, port = host.partition(":")
        return host, port

    @property
    def hostname(self) -> str | None:
        return self._host_port()[0].lower() or None

    @property
    def port(self) -> int | None:
        """The port, None without one; ValueError when it is no number from 0 to 65535, as urlsplit's."""
        text = self._host_port()[1]
        if not text:
            return None
        if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= 65535:
            raise ValueError(f"port {text!r} is not a number from 0 to 65535")
        return int(text)


def split(text: str) -> Parts:
    """urlsplit's algorithm (scheme, //authority, #fragment, ?query) for a URL that passed the character
    check of problem(): no spaces or control characters for urlsplit to strip first."""
    scheme = ""
    colon = text.find(":")
    if colon > 0 and text[0].isascii() and text[0].isalpha() and all(c in _SCHEME_CHARS for c in text[:colon]):
        scheme, text = text[:colon].lower(), text[colon + 1:]
    netloc = ""
    if text[:2] == "//":
        ends = [i for i in (text.find(c, 2) for c in "/?#") if i >= 0]
        end = min(ends) if ends else len(text)
        netloc, text = text[2:end], text[end:]
        if ("[" in netloc) != ("]" in netloc):
            raise ValueError("Invalid IPv6 URL")
    text, _, fragment = text.partition("#")
    path, _, query = text.partition("?")
    return Parts(scheme, netloc, path, query, fragment)


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
        parts = split(text)
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
