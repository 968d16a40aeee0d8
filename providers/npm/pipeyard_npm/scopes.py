"""NPM_SCOPED_REGISTRIES: `@scope=URL` entries, comma- or semicolon-separated."""

from __future__ import annotations

import re

from pipeyard_kit import urls
from pipeyard_kit.settings import split_list

NAME = "NPM_SCOPED_REGISTRIES"
_SCOPE = re.compile(r"^@[a-z0-9][a-z0-9._-]*\Z")
_EXAMPLE = "@corp=https://npm.example.com/corp/"


def parse(value: str | None, problems: list[str]) -> dict[str, str]:
    """{scope: registry URL ending in /}; a problem is appended per bad entry."""
    found: dict[str, str] = {}
    for entry in split_list(value or ""):
        scope, sep, url = (part.strip() for part in entry.partition("="))
        if not sep or not scope.startswith("@"):
            problems.append(f"{NAME} entry {entry!r} has no @scope: write it as {_EXAMPLE} "
                            "(entries separated by commas)")
            continue
        if not _SCOPE.match(scope):
            problems.append(f"{NAME} entry {entry!r}: {scope!r} is not an npm scope: use lower-case letters, "
                            f"digits, '.', '_' or '-' after the @, as in {_EXAMPLE}")
            continue
        why = urls.problem(url)
        if why:
            problems.append(f"{NAME} entry for {scope} has no usable http(s) URL after '=' ({why}): "
                            f"write it as {_EXAMPLE}")
            continue
        if scope in found:
            problems.append(f"{NAME} names {scope} twice: keep one entry per scope")
            continue
        found[scope] = url.rstrip("/") + "/"
    return found
