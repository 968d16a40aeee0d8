"""shots.yml: many pages, one browser.

    defaults:                     # optional; any shot key, applied to every shot
      width: 1440
      wait_until: networkidle
    shots:
      - https://example.com/      # a bare URL takes the defaults and a name from the URL
      - url: https://grafana.example.com/d/abc
        output: grafana.png       # relative to --output-dir
        full_page: true
        wait_for: .panel-container
        headers: {Authorization: "Bearer ${GRAFANA_TOKEN}"}
      - url: https://app.example.com/report
        output: report.pdf
        pdf_format: A4
        margin: 1cm

A bare list of shots works too (no defaults). Keys take dashes or underscores. ${NAME}
in cookies, headers and auth comes from the environment, so secrets stay in CI/CD
variables and out of the repository. A shot's own keys beat the file's defaults, which
beat the command line's flags.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeyard_chrome_headless.browser import Browser
from pipeyard_chrome_headless.capture import Tab, context_key
from pipeyard_chrome_headless.options import KEYS, Shot, check_shot, flag_name, suggest
from pipeyard_kit.errors import ConfigError, PipeyardError
from pipeyard_kit.yamlio import load_yaml

log = logging.getLogger("pipeyard.screenshot")

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEYS = ("cookies", "headers", "auth")


def _normalise(entry: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k).replace("-", "_"): v for k, v in entry.items()}


def _expand(value: Any, env: Mapping[str, str], missing: set[str]) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            if m[1] not in env:
                missing.add(m[1])
                return ""
            return env[m[1]]
        return _VAR.sub(repl, value)
    if isinstance(value, Mapping):
        return {k: _expand(v, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, missing) for v in value]
    return value


def _split(data: Any, where: str) -> tuple[dict[str, Any], list[Any], list[str]]:
    if isinstance(data, list):
        return {}, data, []
    if not isinstance(data, Mapping):
        return {}, [], [f"{where}: expected a list of shots, or a mapping with defaults: and shots:"]
    problems = [f"{where}: unknown top-level key '{k}': {suggest(str(k), ('defaults', 'shots'))}"
                for k in data if k not in ("defaults", "shots")]
    defaults = data.get("defaults") or {}
    shots = data.get("shots")
    if not isinstance(defaults, Mapping):
        problems.append(f"{where}: defaults: must be a mapping of shot keys")
        defaults = {}
    if not isinstance(shots, list) or not shots:
        problems.append(f"{where}: shots: must be a non-empty list of URLs or shot mappings")
        shots = []
    return _normalise(defaults), shots, problems


def load_batch(path: Path, *, base: Mapping[str, Any] | None = None, output_dir: Path,
               env: Mapping[str, str] | None = None) -> list[Shot]:
    """Read and check the whole file; report every problem in one ConfigError."""
    env = os.environ if env is None else env
    data = load_yaml(path, what="shots file")
    defaults, entries, problems = _split(data, str(path))
    for key in list(defaults):
        if key not in KEYS or key in ("url", "output"):
            problems.append(f"{path}: defaults.{key} is not a default shot option: "
                            f"{suggest(key, [k for k in KEYS if k not in ('url', 'output')])}")
            del defaults[key]
    base = dict(base or {})
    shots: list[Shot] = []
    written: dict[Path, int] = {}
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, Mapping):
            problems.append(f"{path}: shots[{i}] must be a URL or a mapping with url:")
            continue
        own = _normalise(entry)
        missing: set[str] = set()
        merged = {**base, **defaults, **own}
        for key in _SECRET_KEYS:
            if key in defaults or key in own:
                merged[key] = _expand(merged[key], env, missing)
        problems += [f"{path}: shots[{i}] uses ${{{name}}}, which is not set: set {name} in the job's "
                     f"CI/CD variables" for name in sorted(missing)]

        def name(key: str, i: int = i, own: Mapping[str, Any] = own) -> str:
            if key in own:
                return f"{path}: shots[{i}].{key}"
            if key in defaults:
                return f"{path}: defaults.{key}"
            return flag_name(key)

        shot, found = check_shot(merged, own=own, name=name, output_dir=output_dir, files_dir=path.parent)
        problems += [p for p in found if p not in problems]  # a bad default shows once, not per shot
        if shot is None:
            continue
        if shot.output in written:
            problems.append(f"{path}: shots[{i}] writes {shot.output}, as shots[{written[shot.output]}] does: "
                            "give each shot its own output")
        written.setdefault(shot.output, i)
        shots.append(shot)
    if problems:
        raise ConfigError(problems)
    return shots


def run_batch(browser: Browser, shots: list[Shot]) -> list[tuple[Shot, PipeyardError]]:
    """Capture every shot, carrying on past failures; return the failures."""
    groups: dict[tuple[Any, ...], list[Shot]] = {}
    for shot in shots:
        groups.setdefault(context_key(shot), []).append(shot)
    failures: list[tuple[Shot, PipeyardError]] = []
    for group in groups.values():
        tab: Tab | None = None
        for shot in group:
            try:
                tab = tab or Tab(browser, shot)
                tab.capture(shot)
            except PipeyardError as exc:
                log.error("%s", exc.render())
                failures.append((shot, exc))
                # A failed page may still be loading or have crashed its renderer: start the next one clean.
                if tab is not None:
                    tab.close()
                tab = None
        if tab is not None:
            tab.close()
    return failures

