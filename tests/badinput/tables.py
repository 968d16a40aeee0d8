"""All the bad-input tables, and which console script (and subcommand) each case exercises."""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

import click

from pipeyard.cli.main import cli as pipeyard_cli
from pipeyard.model.provider import load_providers
from tests.badinput import table_pipeyard, table_providers, table_settings
from tests.badinput.harness import Case

ROOT = Path(__file__).resolve().parents[2]
ALL_CASES: list[Case] = [*table_settings.CASES, *table_providers.CASES, *table_pipeyard.CASES]


def _commands(group: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if not isinstance(group, click.Group):
        return [path]
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        found += _commands(group.get_command(ctx, name), (*path, name))
    return found


def all_scripts() -> list[tuple[str, ...]]:
    """pipeyard and every subcommand, each provider's console scripts (provider.yaml `cli`) and theirs."""
    found = _commands(pipeyard_cli, ("pipeyard",))
    for provider in load_providers(ROOT):
        for script, entry in provider.console_scripts.items():
            module = importlib.import_module(entry.partition(":")[0])
            groups = [v for v in vars(module).values() if isinstance(v, click.Group)]
            found += _commands(groups[0], (script,)) if groups else [(script,)]
    return found


def key_of(case: Case, scripts: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The deepest command path the case's argv starts with."""
    best: tuple[str, ...] = (case.script,)
    for path in scripts:
        if tuple(case.argv[: len(path)]) == path and len(path) > len(best):
            best = path
    return best


def scripts_covered() -> dict[str, int]:
    scripts = all_scripts()
    counts = Counter(" ".join(key_of(c, scripts)) for c in ALL_CASES)
    return {" ".join(s): counts.get(" ".join(s), 0) for s in scripts}
