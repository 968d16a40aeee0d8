"""Editing a provider.yaml in a scratch copy of the repository, for the model's refusals."""

from __future__ import annotations

from pathlib import Path

import yaml


def edit_provider(repo: Path, provider: str, change) -> Path:
    path = repo / "providers" / provider / "provider.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
