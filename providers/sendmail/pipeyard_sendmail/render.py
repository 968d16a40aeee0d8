"""Mails from Jinja2 templates: HTML with autoescape (Sonar messages can hold markup) and a text twin.

SENDMAIL_TEMPLATE_DIR may hold any of the built-in template names; a file there
replaces the built-in one, the rest stay. Styles are inline and layouts are
tables, because Outlook's Word engine and Gmail drop <style> blocks and ignore
flexbox.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from pipeyard_kit.errors import ConfigError

TEMPLATE_SETTING = "SENDMAIL_TEMPLATE_DIR"

RATING_COLORS = {"A": ("#00aa00", "#ffffff"), "B": ("#b0d513", "#1f2937"), "C": ("#eabe06", "#1f2937"),
                 "D": ("#ed7d20", "#ffffff"), "E": ("#d4333f", "#ffffff")}
# (text, background) per level, shared by issue severities, impacts and hotspot probabilities.
LEVEL_COLORS = {
    "BLOCKER": ("#ffffff", "#b91c1c"), "CRITICAL": ("#b91c1c", "#fee2e2"), "HIGH": ("#b91c1c", "#fee2e2"),
    "MAJOR": ("#c2410c", "#ffedd5"), "MEDIUM": ("#c2410c", "#ffedd5"), "MINOR": ("#a16207", "#fef9c3"),
    "LOW": ("#a16207", "#fef9c3"), "INFO": ("#1d4ed8", "#dbeafe"),
}
DOT_COLORS = {"BLOCKER": "#991b1b", "CRITICAL": "#dc2626", "HIGH": "#dc2626", "MAJOR": "#ea580c",
              "MEDIUM": "#ea580c", "MINOR": "#eab308", "LOW": "#eab308", "INFO": "#3b82f6"}
VERDICT_COLORS = {  # accent, tint, text on tint
    "PASSED": ("#15803d", "#dcfce7", "#14532d"), "FAILED": ("#c62828", "#fde8e8", "#7f1d1d"),
    "RUNNING": ("#1d4ed8", "#dbeafe", "#1e3a8a"),
}
NEUTRAL = ("#4b5563", "#e5e7eb", "#1f2937")
JOB_STATUS_COLORS = {"success": "#15803d", "failed": "#c62828", "canceled": "#6b7280", "skipped": "#9ca3af",
                     "manual": "#6b7280", "running": "#1d4ed8", "pending": "#a16207", "created": "#9ca3af"}


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str


def _autoescape(name: str | None) -> bool:
    return name is None or ".html" in name


def _when(value: datetime | None, fmt: str = "%-d %b %Y, %H:%M") -> str:
    if not value:
        return ""
    offset = value.strftime("%z")
    zone = "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{value.strftime(fmt)} {zone}"


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if not value:
        return ""
    now = now or datetime.now(UTC)
    days = (now - value).total_seconds() / 86400
    if days < 1:
        hours = int(days * 24)
        return "less than an hour ago" if hours < 1 else f"{hours} hour{'s' if hours != 1 else ''} ago"
    whole = int(days)
    return f"{whole} day{'s' if whole != 1 else ''} ago"


def _duration(seconds: float | None) -> str:
    if seconds in (None, ""):
        return ""
    seconds = int(float(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


@functools.lru_cache(maxsize=8)
def environment(template_dir: str | None = None) -> jinja2.Environment:
    """One environment per template folder, so templates compile once per process."""
    loaders: list[jinja2.BaseLoader] = []
    if template_dir:
        folder = Path(template_dir)
        if not folder.is_dir():
            raise ConfigError(f"{TEMPLATE_SETTING}={template_dir} is not a folder",
                              fix="point it at a folder holding e.g. sonar.html.j2, or unset it")
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.PackageLoader("pipeyard_sendmail", "templates"))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=_autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.globals.update(RATING_COLORS=RATING_COLORS, LEVEL_COLORS=LEVEL_COLORS, DOT_COLORS=DOT_COLORS,
                       VERDICT_COLORS=VERDICT_COLORS, NEUTRAL=NEUTRAL, JOB_STATUS_COLORS=JOB_STATUS_COLORS)
    env.filters.update(when=_when, ago=_ago, duration=_duration)
    return env


def render(kind: str, context: dict[str, Any], template_dir: str | None = None,
           scrub: tuple[str, str] | None = None) -> Rendered:
    """kind.html.j2 and kind.txt.j2; scrub=(internal, external) rewrites any URL that slipped through."""
    env = environment(template_dir)
    context = {"palette": VERDICT_COLORS.get(context.get("verdict", ""), NEUTRAL), **context}
    parts = []
    for suffix in ("html", "txt"):
        name = f"{kind}.{suffix}.j2"
        try:
            parts.append(env.get_template(name).render(**context))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {exc.filename or name} has a syntax error on line {exc.lineno}: {exc.message}",
                              fix=f"fix the template in {TEMPLATE_SETTING}, or remove it to use the built-in one") from None
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"template {name} uses a value the {kind} mail does not have ({exc.message})",
                              fix="check the variable names against the built-in template") from None
    html, text = parts
    if scrub and scrub[0] and scrub[0] != scrub[1]:
        # Sonar messages are free text and may quote the internal address; readers cannot use it.
        html = html.replace(scrub[0], scrub[1])
        text = text.replace(scrub[0], scrub[1])
    return Rendered(html=html, text=text)
