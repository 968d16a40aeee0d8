"""--show-config for every provider CLI: the effective settings, secrets masked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import settings as settings_mod


def print_config(provider: str) -> None:
    # rich loads only here: the mvn/npm wrappers import this module on every first call.
    from rich.console import Console
    from rich.table import Table

    resolved = settings_mod.load(provider, require=False)
    table = Table(title=f"{provider}: effective settings", show_lines=False)
    for col in ("setting", "value", "source"):
        table.add_column(col)
    for name, value, source in resolved.show():
        table.add_row(name, value, source)
    Console(stderr=False, width=120).print(table)


def show_config_option(provider: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def _cb(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if not value or ctx.resilient_parsing:
            return
        print_config(provider)
        ctx.exit(0)

    return click.option("--show-config", is_flag=True, expose_value=False, is_eager=True, callback=_cb,
                        help="Print the effective settings (job variable > site default > default), secrets masked.")
