"""Options several commands share."""

from __future__ import annotations

from pathlib import Path

import click

site_option = click.option("--site", "site_file", type=click.Path(dir_okay=False, path_type=Path),
                           help="Site file with the platform's defaults (default: $PIPEYARD_SITE or "
                                "pipeyard.site.yaml in the checkout).")
