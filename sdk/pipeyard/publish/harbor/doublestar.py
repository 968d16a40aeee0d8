"""Harbor's tag and repository patterns, to know before a push which tags Harbor keeps immutable.

Harbor matches them with github.com/bmatcuk/doublestar v1 (src/lib/selector/selectors/doublestar):
path components split on '/', `**` as a whole component spans any number of components (none
included), and within a component `*` is any run, `?` one character, `[...]` a class (`^`
negates) and `{a,b}` alternatives. An empty pattern matches everything.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    parts = _split(pattern)
    out = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out += ".*" if last else "(?:[^/]*/)*"
            continue
        out += _component(part) + ("" if last else "/")
    return re.compile(out + r"\Z")


def _split(pattern: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in pattern:
        depth += (ch == "{") - (ch == "}")
        if ch == "/" and depth <= 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _component(text: str) -> str:
    out, i = "", 0
    while i < len(text):
        ch = text[i]
        if ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(text):
            i += 1
            out += re.escape(text[i])
        elif ch == "[":
            end = text.find("]", i + 2)
            if end < 0:
                out += re.escape(ch)
            else:
                body = text[i + 1:end]
                negate = body[:1] == "^"
                body = body[1:] if negate else body
                out += "[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]"
                i = end
        elif ch == "{":
            depth, end = 0, -1
            for j in range(i, len(text)):
                depth += (text[j] == "{") - (text[j] == "}")
                if depth == 0:
                    end = j
                    break
            if end < 0:
                out += re.escape(ch)
            else:
                out += "(?:" + "|".join(_component(a) for a in _alternatives(text[i + 1:end])) + ")"
                i = end
        else:
            out += re.escape(ch)
        i += 1
    return out


def _alternatives(body: str) -> list[str]:
    alts, depth, current = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            alts.append(current)
            current = ""
            continue
        depth += (ch == "{") - (ch == "}")
        current += ch
    return [*alts, current]


def match(pattern: str, name: str) -> bool:
    return pattern == "" or _compile(pattern).match(name) is not None


def immutable(rules: list[dict[str, Any]], repository: str, tag: str) -> bool:
    """Whether an enabled immutable rule holds `tag` of `repository` (its name within the project):
    the rule's first repository selector must select the repository and its first tag selector the tag
    (src/pkg/immutable/match/rule/match.go)."""
    for rule in rules:
        scopes = (rule.get("scope_selectors") or {}).get("repository") or []
        tags = rule.get("tag_selectors") or []
        if rule.get("disabled") or not scopes or not tags:
            continue
        repo_hit = match(scopes[0].get("pattern", ""), repository)
        if scopes[0].get("decoration") == "repoExcludes":
            repo_hit = not repo_hit
        tag_hit = match(tags[0].get("pattern", ""), tag)
        if tags[0].get("decoration") == "excludes":
            tag_hit = not tag_hit
        if repo_hit and tag_hit:
            return True
    return False
