"""`--json`: a command's result as one JSON document on stdout, its progress lines on stderr.

Each document names its schema and version ("schema": "pipeyard.<command>/v1"). Fields may be added
within a version; one is removed or changes meaning only under a new version. The README documents
them ("Scripting with --json").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as one JSON document on stdout (schema in the README, "
                                "\"Scripting with --json\"); progress goes to stderr.")


def progress_echo(as_json: bool) -> Callable[[str], None]:
    """Where progress lines go: stdout for people, stderr when stdout carries the JSON."""
    return (lambda line: click.echo(line, err=True)) if as_json else click.echo


def emit(command: str, body: dict[str, Any]) -> None:
    click.echo(json.dumps({"schema": f"pipeyard.{command}/v1", **body}, indent=2))


def push_counts(stats: Any) -> dict[str, int]:
    """What went over the wire for an image (pipeyard_kit.registry.PushStats)."""
    return {"uploaded": stats.uploaded, "uploaded_bytes": stats.uploaded_bytes, "skipped": stats.skipped,
            "mounted": stats.mounted, "retries": stats.retries}
