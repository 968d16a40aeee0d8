"""A configurator's flags, one per declared setting that has a template input.

Derived from the generated catalog, so provider.yaml stays the only list. Secrets
get no flag: a flag would show the value in process listings and shell history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import settings as settings_mod

PREFIX = "setting_"


def setting_options(provider: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    specs = [s for s in settings_mod.declared(provider) if s.get("input") and not s.get("secret")]

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for spec in reversed(specs):
            f = click.option(f"--{spec['input']}", PREFIX + spec["env"].lower(), metavar=spec["type"].upper(),
                             help=f"{spec['description']} [env: {spec['env']}]")(f)
        return f

    return decorate


def overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The setting flags given on the command line, keyed by setting name."""
    return {k[len(PREFIX):].upper(): v for k, v in kwargs.items() if k.startswith(PREFIX) and v not in (None, "")}
