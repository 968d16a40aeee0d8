"""Resolve a provider's settings and keep going past bad ones, so one round reports every problem.

pipeyard_kit.settings.load stops at the first round of per-setting problems; the
providers also check settings against each other (a user without a password...).
Those checks still run: the bad settings count as set, so they don't add a second,
misleading message about the same variable. Shared with the npm provider.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeyard_kit import settings as settings_mod
from pipeyard_kit.errors import ConfigError

TYPE_CHECKING = False  # typing, not imported: a wrapper's first call would pay for it
if TYPE_CHECKING:
    from typing import Any

INVALID = object()


class Problems(list[str]):
    """The problems found so far; `flags` of them were bad flags, and nothing else was wrong then."""

    flags = 0


def failure(problems: list[str]) -> ConfigError:
    """The error to raise: a usage error (exit 2) when the only problems are the flags given."""
    only_flags = isinstance(problems, Problems) and 0 < len(problems) == problems.flags
    return (settings_mod.FlagError if only_flags else ConfigError)(list(problems))


def load(provider: str, env: Mapping[str, str], overrides: Mapping[str, Any] | None = None
         ) -> tuple[Mapping[str, Any] | None, settings_mod.Settings | None, list[str]]:
    """(values for the cross-checks, the Settings when all are valid, problems so far)."""
    try:
        resolved = settings_mod.load(provider, env=env, overrides=overrides)
        return resolved, resolved, Problems()
    except ConfigError as exc:
        problems = Problems(exc.problems)
        if isinstance(exc, settings_mod.FlagError):
            problems.flags = len(problems)
    declared = settings_mod.declared(provider)
    names = [s["env"] for s in declared]
    flags = {f"--{s.get('flag') or s.get('input')} ": s["env"] for s in declared if s.get("flag") or s.get("input")}
    bad = {n for n in names if any(p.startswith((f"{n}=", f"{n} ", f"{n}_FILE=")) for p in problems)}
    bad |= {name for flag, name in flags.items() if any(p.startswith(flag) for p in problems)}
    env2 = {k: v for k, v in env.items() if k not in bad and k.removesuffix("_FILE") not in bad}
    try:
        rest = settings_mod.load(provider, env=env2, overrides={k: v for k, v in (overrides or {}).items()
                                                                 if k not in bad})
    except ConfigError:
        return None, None, problems
    values: dict[str, Any] = dict(rest.items())
    values.update({n: INVALID for n in bad})
    return values, None, problems
