"""A config repository's files as `pipeyard chart init` writes them, for the gitops provider's tests,
which reach the platform only through tests/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeyard.charts.scaffold import ChartSpec, argocd_files, chart_files, kustomization


def chart_init_files(url: str, apps: tuple[str, ...] = ("orders",), *, tag: str = "1.4.0",
                     **spec: Any) -> dict[str, str]:
    """The files `pipeyard chart init APP --image harbor.example.com/shop/APP:TAG` writes, for each app."""
    files: dict[str, str] = {}
    for app in apps:
        chart = ChartSpec(app=app, image=f"harbor.example.com/shop/{app}", repo_url=url, tag=tag, **spec)
        files.update(chart_files(chart))
        for rel, text in argocd_files(chart, Path("/nonexistent")).items():
            # Several apps share each folder's kustomization.yaml, as chart init run once per app leaves it.
            files[rel] = kustomization(files[rel], f"{app}.yaml") if rel.endswith("/kustomization.yaml") \
                and rel in files else text
    return files
