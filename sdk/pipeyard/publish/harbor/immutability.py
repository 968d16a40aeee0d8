"""Refuse, before anything is pushed, to move a tag Harbor keeps immutable.

Harbor answers a push of an existing immutable tag with 412 whatever its digest
(src/server/middleware/immutable/pushmf.go). Left to that answer, a publish of a rebuilt image under
an unchanged version would upload every blob, then fail on its first tag. pipeyard's choice: a
published version names one image. Re-publishing the same image is a no-op (the tag is already
there, nothing is sent); publishing a different one under an existing immutable tag is refused up
front, naming each tag, so the fix (a new version) is clear and nothing half-moves.
"""

from __future__ import annotations

from typing import Any

from pipeyard.publish.harbor import doublestar
from pipeyard_kit.errors import ConfigError
from pipeyard_kit.registry import RegistryClient


def moving_immutable_tags(rules: list[dict[str, Any]], client: RegistryClient, project: str,
                          planned: list[tuple[str, str, list[str]]]) -> list[str]:
    """`repo:tag (now sha256:...)` for every immutable tag that exists and names another digest."""
    moving = []
    for repo, digest, tags in planned:
        within = repo[len(project) + 1:] if repo.startswith(f"{project}/") else repo
        for tag in tags:
            if not doublestar.immutable(rules, within, tag):
                continue
            current = client.manifest_digest(repo, tag)
            if current is not None and current != digest:
                moving.append(f"{repo}:{tag} (now {current[:19]})")
    return moving


def guard(rules: list[dict[str, Any]], client: RegistryClient, project: str):  # type: ignore[no-untyped-def]
    """A publish guard (publish.images.publish_images) that raises on any immutable tag that would move."""

    def check(planned: list[tuple[str, str, list[str]]]) -> None:
        moving = moving_immutable_tags(rules, client, project, planned)
        if moving:
            raise ConfigError(
                f"Harbor keeps {', '.join(moving)} immutable, and this publish would point "
                f"{'it' if len(moving) == 1 else 'them'} at a different image; nothing was pushed",
                fix="a published version names one image: bump the version (pyproject.toml, then make render) "
                    "to publish the changed image",
            )

    return check
