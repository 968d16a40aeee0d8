"""Rewrite image.tag and image.digest in a values file, touching nothing else.

People comment and order their values files by hand; a YAML round trip would drop
the comments and reflow the file, and every bump would show up as a rewrite in the
config repository's history. So the two scalars are replaced in place, and the
result is parsed again to prove only they changed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from pipeyard_kit.errors import ConfigError
from pipeyard_kit.refs import ImageRef

_KEY = re.compile(r"^(?P<indent>[ ]*)(?P<key>[A-Za-z0-9_.-]+|\"[^\"]*\"|'[^']*'):(?P<rest>.*)$")
_COMMENT_TAIL = re.compile(r"(\s+#.*)$")


@dataclass(frozen=True)
class Edit:
    text: str
    changed: bool
    old_tag: str
    old_digest: str


def _key(match: re.Match[str]) -> str:
    return match["key"].strip("\"'")


def _scalar(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars, and quoting keeps tags like 1.10 from becoming floats.
    return json.dumps(value)


def _trailing_comment(rest: str) -> str:
    value = rest.lstrip()
    if value[:1] in ("'", '"'):
        # A quoted value may itself contain ' #': only what follows the closing quote is a comment.
        end = value.find(value[0], 1)
        after = value[end + 1:] if end > 0 else ""
        return after if after.strip().startswith("#") else ""
    tail = _COMMENT_TAIL.search(rest)
    return tail.group(1) if tail else ""


def _replace_value(match: re.Match[str], value: str) -> str:
    return f"{match['indent']}{match['key']}: {_scalar(value)}{_trailing_comment(match['rest'])}"


def _problem(where: str, what: str) -> ConfigError:
    return ConfigError(f"{where} has no {what}",
                       fix="write image: as a block with repository:, tag: and digest: lines, "
                           "as `pipeyard chart init` does")


def _image_block(lines: list[str], where: str) -> tuple[int, int, int]:
    """(first child line, end, child indent) of the top-level image: mapping."""
    start = None
    for i, line in enumerate(lines):
        m = _KEY.match(line)
        if m and not m["indent"] and _key(m) == "image":
            rest = m["rest"].split("#", 1)[0].strip()
            if rest:
                raise ConfigError(f"{where}: image: is written on one line ({rest})",
                                  fix="write image: as a block with repository:, tag: and digest: lines")
            start = i + 1
            break
    if start is None:
        raise _problem(where, "image.tag key (no top-level image: mapping)")
    end = start
    indent = None
    while end < len(lines):
        line = lines[end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            width = len(line) - len(line.lstrip(" "))
            if width == 0:
                break
            indent = width if indent is None else indent
        end += 1
    if indent is None:
        raise _problem(where, "image.tag key (image: is empty)")
    return start, end, indent


def set_image(text: str, image: ImageRef, *, where: str) -> Edit:
    """Point image.tag and image.digest of a values file at `image`."""
    try:
        before = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML ({str(exc).splitlines()[0]})",
                          fix="fix the file in the config repository") from None
    current = before.get("image") if isinstance(before, dict) else None
    if not isinstance(current, dict) or "tag" not in current:
        raise _problem(where, "image.tag key")
    old_tag = "" if current.get("tag") is None else str(current.get("tag"))
    old_digest = "" if current.get("digest") is None else str(current.get("digest"))
    if old_tag == image.tag and old_digest == image.digest:
        return Edit(text, False, old_tag, old_digest)

    lines = text.splitlines()
    start, end, indent = _image_block(lines, where)
    found: dict[str, int] = {}
    for i in range(start, end):
        m = _KEY.match(lines[i])
        if m and len(m["indent"]) == indent and _key(m) in ("tag", "digest"):
            found[_key(m)] = i
    if "tag" not in found:
        raise _problem(where, "image.tag line in block style")
    lines[found["tag"]] = _replace_value(_KEY.match(lines[found["tag"]]), image.tag)
    if "digest" in found:
        lines[found["digest"]] = _replace_value(_KEY.match(lines[found["digest"]]), image.digest)
    else:
        lines.insert(found["tag"] + 1, f"{' ' * indent}digest: {_scalar(image.digest)}")
    newline = "\r\n" if "\r\n" in text else "\n"
    after_text = newline.join(lines) + (newline if text.endswith("\n") else "")

    # The proof that the line edit did exactly what it should and nothing else.
    after = yaml.safe_load(after_text)
    expected = dict(before)
    expected["image"] = {**current, "tag": image.tag, "digest": image.digest}
    if after != expected:
        raise ConfigError(f"{where}: could not rewrite image.tag and image.digest without touching other keys",
                          fix="write image: as a plain block (no anchors, no multi-line values), "
                              "as `pipeyard chart init` does")
    return Edit(after_text, True, old_tag, old_digest)
