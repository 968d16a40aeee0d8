"""What one capture asks for, checked the same way whether it comes from flags or shots.yml.

Both front ends hand check_shot() a plain mapping of raw values (strings from the command
line, YAML scalars from the file), so a flag and a key accept the same values and fail
with the same message. Every problem is collected before anything fails.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeyard_kit import urls
from pipeyard_kit.errors import UsageError

# The keys of a shot, as shots.yml spells them; flags are the same words with dashes.
KEYS = (
    "url", "output", "format",
    "width", "height", "scale", "full_page", "selector",
    "wait_until", "wait_for", "delay", "timeout",
    "cookies", "headers", "auth",
    "quality", "pdf_format", "margin", "landscape",
    "hide", "disable_animations", "ignore_https_errors", "allow_error_status",
)
FORMATS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "pdf": "pdf"}
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "pdf": ".pdf"}
LOAD_STATES = ("load", "domcontentloaded", "networkidle", "commit")
PDF_FORMATS = ("A0", "A1", "A2", "A3", "A4", "A5", "A6", "Letter", "Legal", "Tabloid", "Ledger")
IMAGE_ONLY = ("full_page", "selector", "quality")
PDF_ONLY = ("pdf_format", "margin", "landscape")
MAX_PIXELS = 16384  # Chromium's largest texture side; bigger captures come out blank or fail
MAX_DELAY = 60.0  # seconds of fixed wait before a capture
MAX_TIMEOUT = 600.0  # seconds for loading a page and for each wait

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")  # RFC 9110 token: header and cookie names
_LENGTH = re.compile(r"^(0|\d+(\.\d+)?(px|in|cm|mm))\Z")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s)?\Z")

Namer = Callable[[str], str]


_FLAG_NAMES = {"url": "URL", "cookies": "--cookie", "headers": "--header"}


def flag_name(key: str) -> str:
    return _FLAG_NAMES.get(key) or "--" + key.replace("_", "-")


@dataclass(frozen=True)
class Shot:
    url: str
    output: Path
    format: str = "png"
    width: int = 1280
    height: int = 720
    scale: float = 1.0
    full_page: bool = False
    selector: str | None = None
    wait_until: str = "load"
    wait_for: str | None = None
    delay: float = 0.0
    timeout: float = 30.0
    cookies: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    auth: tuple[str, str] | None = field(default=None, repr=False)  # never in logs
    quality: int | None = None
    pdf_format: str = "A4"
    margin: tuple[str, str, str, str] = ("1cm", "1cm", "1cm", "1cm")
    landscape: bool = False
    hide: tuple[str, ...] = ()
    disable_animations: bool = False
    ignore_https_errors: bool = False
    allow_error_status: bool = False

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


def slug(url: str) -> str:
    """A file name from a URL, for shots that name no output."""
    parts = urlsplit(url)
    base = Path(parts.path).stem if parts.scheme == "file" else parts.netloc + parts.path
    return re.sub(r"[^A-Za-z0-9]+", "-", base).strip("-").lower()[:80] or "page"


def suggest(key: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(known)}"


class _Reader:
    """Reads raw values one key at a time, noting each problem with the key's user-facing name."""

    def __init__(self, raw: Mapping[str, Any], name: Namer):
        self.raw, self.name, self.problems = raw, name, []

    def bad(self, key: str, what: str) -> None:
        self.problems.append(f"{self.name(key)} {what}")

    def has(self, key: str) -> bool:
        return self.raw.get(key) not in (None, "", (), [])

    def text(self, key: str) -> str | None:
        if not self.has(key):
            return None
        value = self.raw[key]
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.bad(key, f"must be a single value, not {type(value).__name__}")
            return None
        return str(value).strip()

    def number(self, key: str, low: float, high: float, example: str, *, whole: bool = False) -> float | int | None:
        text = self.text(key)
        if text is None:
            return None
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            self.bad(key, f"{text!r} is not a {'whole ' if whole else ''}number: use e.g. {example}")
            return None
        if not low <= value <= high:
            self.bad(key, f"{text} is out of range: use {low:g} to {high:g}")
            return None
        return value

    def flag(self, key: str) -> bool | None:
        if key not in self.raw or self.raw[key] is None:
            return None
        value = self.raw[key]
        if isinstance(value, bool):
            return value
        low = str(value).strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        self.bad(key, f"{value!r} is not a boolean: use true or false")
        return None

    def choice(self, key: str, options: tuple[str, ...]) -> str | None:
        text = self.text(key)
        if text is None:
            return None
        for option in options:
            if option.lower() == text.lower():
                return option
        self.bad(key, f"{text!r} is not allowed: use one of {', '.join(options)}")
        return None

    def duration(self, key: str, *, positive: bool, maximum: float) -> float | None:
        """Seconds, or a number with an ms or s unit (`500ms`, `2s`), at most `maximum` seconds: a job
        must not wait longer than its own timeout for one page."""
        text = self.text(key)
        if text is None:
            return None
        match = _DURATION.match(text.lower())
        if not match:
            self.bad(key, f"{text!r} is not a duration: use seconds (2, 0.5) or milliseconds (500ms)")
            return None
        seconds = float(match[1]) / (1000 if match[2] == "ms" else 1)
        if positive and seconds <= 0:
            self.bad(key, f"{text!r} must be more than zero: use e.g. 30")
            return None
        if seconds > maximum:
            self.bad(key, f"{text!r} is more than {maximum:g} s: use at most {maximum:g}")
            return None
        return seconds

    def strings(self, key: str) -> tuple[str, ...]:
        if not self.has(key):
            return ()
        value = self.raw[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) and i.strip() for i in items):
            self.bad(key, "must be a CSS selector or a list of them")
            return ()
        return tuple(i.strip() for i in items)

    def pairs(self, key: str, sep: str, example: str) -> tuple[tuple[str, str], ...]:
        """name/value pairs from a mapping, or from `name<sep>value` strings as flags give them."""
        if not self.has(key):
            return ()
        value = self.raw[key]
        if isinstance(value, Mapping):
            items = [(str(k).strip(), "" if v is None else str(v)) for k, v in value.items()]
        else:
            items = []
            for n, entry in enumerate([value] if isinstance(value, str) else value, 1):
                if not isinstance(entry, str) or sep not in entry:
                    # Not echoed: a header or cookie value is often a token.
                    self.bad(key, f"entry {n} has no {sep!r}: write it as {example}")
                    continue
                name, _, val = entry.partition(sep)
                items.append((name.strip(), val.strip()))
        for name, val in items:
            if not _TOKEN.match(name):
                self.bad(key, f"name {name!r} is not valid: use letters, digits and -_. only")
            if any(c in val for c in "\r\n\0") or (key == "cookies" and ";" in val):
                self.bad(key, f"value of {name!r} contains a line break{' or ;' if key == 'cookies' else ''}: remove it")
        return tuple(items)

    def credentials(self, key: str) -> tuple[str, str] | None:
        if not self.has(key):
            return None
        value = self.raw[key]
        if isinstance(value, Mapping):
            user, password = value.get("username"), value.get("password")
        elif isinstance(value, str) and ":" in value:
            user, _, password = value.partition(":")
        else:
            user = password = None
        if not isinstance(user, str) or not user or ":" in user or not isinstance(password, str):
            # The value is a secret: never echo it back.
            self.bad(key, "is not USER:PASSWORD (or username:/password: keys): fix the credentials")
            return None
        return user, password

    def margin(self, key: str) -> tuple[str, str, str, str] | None:
        text = self.text(key)
        if text is None:
            return None
        parts = text.split()
        if not 1 <= len(parts) <= 4 or not all(_LENGTH.match(p) for p in parts):
            self.bad(key, f"{text!r} is not a margin: use 1 to 4 lengths in px, in, cm or mm, like CSS (1cm or 10mm 15mm)")
            return None
        # CSS shorthand: top, then right, bottom and left each defaulting to its opposite side.
        top = parts[0]
        right = parts[1] if len(parts) > 1 else top
        bottom = parts[2] if len(parts) > 2 else top
        left = parts[3] if len(parts) > 3 else right
        return top, right, bottom, left


def _url(r: _Reader, files_dir: Path) -> str | None:
    text = r.text("url")
    if text is None:
        r.bad("url", "is missing: give the page's http(s) URL")
        return None
    parts = urlsplit(text)
    if urls.has_credentials(text):
        # A password in the URL ends up in logs, error lines and the browser's history.
        r.bad("url", f"{urls.masked(text)!r} carries credentials (user:password@): give them with --auth or "
                     "SCREENSHOT_AUTH (auth: in a shots file) instead")
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return text
    if parts.scheme.lower() == "file":
        return text
    local = files_dir / text
    if not parts.scheme and local.is_file():
        return local.resolve().as_uri()
    r.bad("url", f"{urls.masked(text)!r} is not an http(s) URL or an existing file: use e.g. https://host/path")
    return None


def _format_and_output(r: _Reader, url: str | None, output_dir: Path | None) -> tuple[str | None, Path | None]:
    """The format (None when the output's name leaves it unknown) and the output path."""
    asked = r.choice("format", tuple(FORMATS)) if r.has("format") else None
    asked = FORMATS.get(asked) if asked else None
    out = r.text("output")
    by_name = None
    if out:
        suffix = Path(out).suffix.lower().lstrip(".")
        by_name = FORMATS.get(suffix)
        if suffix and by_name is None and asked is None:
            r.bad("output", f"{out!r} has an unknown extension: use .png, .jpg or .pdf, or set the format")
            return None, None
        if asked and by_name and asked != by_name:
            r.bad("format", f"is {asked} but the output {out!r} is named as {by_name}: make them agree")
    fmt = asked or by_name or "png"
    if not out:
        out = slug(url) + EXTENSIONS[fmt] if url else None
    path = Path(out) if out else None
    if path is not None and output_dir is not None:
        # A shots file comes from the repository: its outputs stay inside the output folder, where the
        # job's artifacts are, and never overwrite a file elsewhere on the runner.
        if path.is_absolute() or ".." in path.parts:
            r.bad("output", f"{out!r} leaves the output folder: use a relative path without '..' inside "
                            f"{output_dir}")
            return None, None
        path = output_dir / path
    if path is not None and path.is_dir():
        r.bad("output", f"{str(path)!r} is a folder: name the file to write, e.g. page.png")
        return None, None
    return fmt, path


def check_shot(raw: Mapping[str, Any], *, own: Collection[str] | None = None, name: Namer = flag_name,
               output_dir: Path | None = None, files_dir: Path | None = None) -> tuple[Shot | None, list[str]]:
    """Validate one shot. `own` are the keys set on the shot itself rather than inherited
    from defaults: only those are reported as not applying to the output format."""
    r = _Reader(raw, name)
    for key in raw:
        if key not in KEYS:
            r.problems.append(f"{name(key)} is not a shot option: {suggest(key, KEYS)}")
    url = _url(r, files_dir or Path.cwd())
    fmt, output = _format_and_output(r, url, output_dir)
    own = set(raw) if own is None else set(own)
    if fmt is not None:
        for key in (PDF_ONLY if fmt != "pdf" else IMAGE_ONLY):
            if key in own and r.has(key) and raw[key] is not False:
                r.bad(key, f"does not apply to {fmt.upper()} output: drop it or change the output")
        if fmt == "png" and "quality" in own and r.has("quality"):
            r.bad("quality", "applies to JPEG output only: drop it or write a .jpg")
    values: dict[str, Any] = {
        "width": r.number("width", 1, MAX_PIXELS, "1280", whole=True),
        "height": r.number("height", 1, MAX_PIXELS, "720", whole=True),
        "scale": r.number("scale", 0.25, 5, "2"),
        "full_page": r.flag("full_page"),
        "selector": r.text("selector"),
        "wait_until": r.choice("wait_until", LOAD_STATES),
        "wait_for": r.text("wait_for"),
        "delay": r.duration("delay", positive=False, maximum=MAX_DELAY),
        "timeout": r.duration("timeout", positive=True, maximum=MAX_TIMEOUT),
        "cookies": r.pairs("cookies", "=", "NAME=VALUE"),
        "headers": r.pairs("headers", ":", "'Name: value'"),
        "auth": r.credentials("auth"),
        "quality": r.number("quality", 0, 100, "80", whole=True),
        "pdf_format": r.choice("pdf_format", PDF_FORMATS),
        "margin": r.margin("margin"),
        "landscape": r.flag("landscape"),
        "hide": r.strings("hide"),
        "disable_animations": r.flag("disable_animations"),
        "ignore_https_errors": r.flag("ignore_https_errors"),
        "allow_error_status": r.flag("allow_error_status"),
    }
    if url and values["cookies"] and not url.lower().startswith(("http://", "https://")):
        r.bad("cookies", "does not work on a file:// page: serve the page over http(s)")
    if r.problems or url is None or output is None or fmt is None:
        return None, r.problems
    given = {k: v for k, v in values.items() if v is not None and v != ()}
    return Shot(url=url, output=output, format=fmt, **given), []


def make_shot(raw: Mapping[str, Any], *, output_dir: Path | None = None, files_dir: Path | None = None,
              name: Namer = flag_name) -> Shot:
    """One shot from flags: every problem in one UsageError (exit 2)."""
    shot, problems = check_shot(raw, name=name, output_dir=output_dir, files_dir=files_dir)
    if problems:
        raise UsageError(problems[0] if len(problems) == 1 else
                         f"{len(problems)} problems with the options:\n" + "\n".join(f"  - {p}" for p in problems))
    assert shot is not None
    return shot
