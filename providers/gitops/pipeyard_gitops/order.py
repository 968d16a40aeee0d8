"""Which of two pinned images is newer, so a late pipeline never rolls an environment back.

Two pipelines of one app finish out of order: 1.5.0 lands, 1.4.9 arrives a moment later and
retries on top of it. Without an order the older image wins. The rule:

1. Where both tags are versions (MAJOR.MINOR[.PATCH][-PRERELEASE], an optional leading v), Semantic
   Versioning's precedence decides (semver.org, section 11).
2. Otherwise, or when the versions are equal, or when both are prereleases of the same version (tags
   such as 1.4.2-<commit> sort by commit hash, which says nothing), the GitLab pipeline that built each
   image decides: CI_PIPELINE_IID grows with every pipeline of a project, and gitops-bump records it as
   image.pipeline beside the tag.
3. If neither can tell (tags that are not versions and no recorded pipeline), the bump goes ahead and
   says that it could not check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# At least MAJOR.MINOR: a bare number is more often a commit hash made of digits than a version.
_VERSION = re.compile(r"^v?(?P<core>\d+\.\d+(?:\.\d+)?)(?:-(?P<pre>[0-9A-Za-z.-]+))?$")


@dataclass(frozen=True)
class Pin:
    """What a values file deploys: the tag people read, the digest the cluster pulls, and its pipeline."""

    tag: str
    digest: str = ""
    pipeline: int | None = None

    def __str__(self) -> str:
        built = f" (pipeline #{self.pipeline})" if self.pipeline is not None else ""
        return f"{self.tag or '(no tag)'}{built}"

    def same_image(self, other: Pin) -> bool:
        return (self.tag, self.digest) == (other.tag, other.digest)


@dataclass(frozen=True)
class Version:
    core: tuple[int, ...]
    pre: tuple[int | str, ...] | None

    @classmethod
    def parse(cls, tag: str) -> Version | None:
        match = _VERSION.match(tag)
        if not match:
            return None
        core = tuple(int(p) for p in match["core"].split("."))
        core += (0,) * (3 - len(core))
        pre = None
        if match["pre"]:
            pre = tuple(int(p) if p.isdigit() else p for p in match["pre"].split("."))
        return cls(core, pre)

    def _pre_key(self) -> tuple:
        # A release sorts above its prereleases; numeric identifiers sort below alphanumeric ones.
        if self.pre is None:
            return (1,)
        return (0, tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre))

    def compare(self, other: Version) -> int:
        mine, theirs = (self.core, self._pre_key()), (other.core, other._pre_key())
        return (mine > theirs) - (mine < theirs)


@dataclass(frozen=True)
class Verdict:
    order: int  # 1: the new pin is newer, 0: the same or unknown, -1: older
    by: str  # version | pipeline | image | unknown | first

    @property
    def older(self) -> bool:
        return self.order < 0


def compare(current: Pin, new: Pin) -> Verdict:
    """How `new` orders against `current`."""
    if not current.tag and not current.digest:
        return Verdict(1, "first")
    if current.same_image(new):
        return Verdict(0, "image")
    old_v, new_v = Version.parse(current.tag), Version.parse(new.tag)
    both_pipelines = current.pipeline is not None and new.pipeline is not None
    if old_v and new_v:
        by_version = new_v.compare(old_v)
        prerelease_twins = old_v.core == new_v.core and old_v.pre is not None and new_v.pre is not None
        if by_version and not (prerelease_twins and both_pipelines):
            return Verdict(by_version, "version")
    if both_pipelines and current.pipeline != new.pipeline:
        return Verdict(1 if new.pipeline > current.pipeline else -1, "pipeline")
    return Verdict(0, "unknown")
