"""The `pipeyard` command. Subcommands live in their own modules and load lazily,
so `pipeyard --help` stays fast and a provider image needs none of the platform deps."""

from __future__ import annotations

import importlib

import click

from .. import __version__
from .errors import debug_option, run_main, setup_logging

# name -> "module:attribute"; one line per subcommand (tests/test_layout.py checks each resolves).
COMMANDS = {
    "render": "pipeyard.cli.render_cmd:render",
    "check": "pipeyard.cli.render_cmd:check",
    "lint": "pipeyard.cli.lint_cmd:lint",
    "init": "pipeyard.cli.init_cmd:init",
    "providers": "pipeyard.cli.render_cmd:providers",
    "base": "pipeyard.cli.build_cmd:base",
    "build": "pipeyard.cli.build_cmd:build",
    "publish": "pipeyard.cli.publish_cmd:publish",
    "mirror": "pipeyard.cli.publish_cmd:mirror",
    "registry": "pipeyard.cli.build_cmd:registry",
    "demo": "pipeyard.cli.demo_cmd:demo",
    "chart": "pipeyard.cli.chart_cmd:chart",
    "b2i": "pipeyard.cli.b2i_cmd:b2i",
    "release": "pipeyard.cli.release_cmd:release",
    "updates": "pipeyard.cli.release_cmd:updates",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeyard")
@debug_option
def cli() -> None:
    """Render, validate, build and publish pipeyard's GitLab CI providers."""


def main() -> None:
    setup_logging()
    run_main(cli, "pipeyard")
