"""A provider command's flags, derived from its provider.yaml like everything else.

Every non-secret setting with a template input (or a `flag:`) gets a flag of the same name, so
`--mirror-url` means what the `mirror-url` input and MAVEN_MIRROR_URL mean. A setting with
`commands:` belongs to those subcommands only. Secrets get no flag: a flag shows the value in
process listings and shell history. Values stay strings until settings.load() checks them, so a
bad flag and a bad variable get the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pipeyard_kit import __version__, settings
from pipeyard_kit.console import debug_option, show_config_option

PREFIX = "setting_"
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def flag_of(spec: dict[str, Any]) -> str | None:
    if spec.get("secret") or spec.get("flag") is False:
        return None
    return spec.get("flag") or spec.get("input")


def flagged(provider: str, command: str | None = None) -> list[dict[str, Any]]:
    """The settings that are flags of this command (of every command when it has no subcommands)."""
    return [s for s in settings.declared(provider)
            if flag_of(s) and (command is None or command in s.get("commands", [command]))]


def setting_options(provider: str, command: str | None = None) -> Decorator:
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for spec in reversed(flagged(provider, command)):
            names = [f"--{flag_of(spec)}"] + ([f"-{spec['short']}"] if spec.get("short") else [])
            help_text = f"{spec['description']} [{spec['env']}]"
            dest = PREFIX + spec["env"].lower()
            if spec["type"] == "boolean":
                option = click.option(f"{names[0]}/--no-{flag_of(spec)}", *names[1:], dest, default=None,
                                      help=help_text)
            else:
                option = click.option(*names, dest, metavar=spec["type"].upper(), help=help_text)
            f = option(f)
        return f

    return decorate


def common_options(provider: str, prog_name: str) -> Decorator:
    """--version, --debug and --show-config: what every provider command answers."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed((click.version_option(__version__, prog_name=prog_name), debug_option,
                                show_config_option(provider))):
            f = option(f)
        return f

    return decorate


def overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The setting flags given on the command line, keyed by setting name."""
    return {k[len(PREFIX):].upper(): v for k, v in kwargs.items() if k.startswith(PREFIX) and v not in (None, "")}


def without_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The command's own options, the setting flags taken out."""
    return {k: v for k, v in kwargs.items() if not k.startswith(PREFIX)}
