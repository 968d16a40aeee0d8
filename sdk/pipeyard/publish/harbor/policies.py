"""What pipeyard wants a Harbor project to look like, as Harbor's API bodies.

The retention and GC policy is the one for frequently built repositories: keep the newest 10
pushed tags, always keep release tags, keep anything pulled in the last 30 days, run daily; make
release tags immutable; collect garbage weekly, untagged artifacts included.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pipeyard_kit.errors import ConfigError, UsageError

# Harbor's rule for project names (its portal and API): lowercase letters and digits, single
# '.', '_' or '-' between them, 1 to 255 characters.
PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
# Release tags: latest, stable, v-prefixed versions, and the bare versions `pipeyard release` and
# `publish` push (1.2.3, 1.2, and majors 1 to 99), each also with a variant's suffix (latest-jdk17,
# 1-jdk17, 1.2.3-jdk17). Harbor keeps an artifact when ANY of its tags matches
# (src/lib/selector/selectors/doublestar/selector.go tagSelectMatch), so the pattern must not catch
# commit-sha tags (a91957a8, a91957a8-jdk17): `[0-9]*` did (most short shas start with a digit), and
# "keep the newest 10" then kept nearly everything. A version has a dot, a sha has none; a major has
# one or two digits then the end or a '-', a short sha eight characters.
RELEASE_TAGS = "{latest,latest-*,stable,stable-*,v[0-9]*,[0-9],[0-9][0-9],[0-9]-*,[0-9][0-9]-*,[0-9]*.[0-9]*}"
# Only full versions are immutable (1 and 1.2 must move, and so must 1-jdk17; the last * takes a
# variant's suffix, so 1.2.3-jdk17 is immutable). Harbor refuses a push of an existing immutable tag
# with 412 whatever its digest, so publishing a changed image under a version that exists is refused
# up front (publish.immutability): a published version names one image.
IMMUTABLE_TAGS = "{v*,[0-9]*.[0-9]*.[0-9]*}"
RETENTION_CRON = "0 0 0 * * *"  # daily at midnight; Harbor's cron has 6 fields and seconds must be 0
GC_CRON = "0 0 0 * * 0"  # weekly, Sunday midnight: what Harbor's "Weekly" means


def validate_project_name(name: str) -> str:
    if not 1 <= len(name) <= 255 or not PROJECT_NAME.match(name):
        raise UsageError(
            f"'{name}' is not a valid Harbor project name",
            fix="use 1-255 lowercase letters and digits, with single '.', '_' or '-' between them "
                "(e.g. 'pipeyard', 'ci-images')",
        )
    return name


@dataclass(frozen=True)
class RobotSpec:
    name: str
    description: str
    actions: tuple[tuple[str, str], ...]  # (resource, action)

    def body(self, project: str, duration: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description.format(project=project),
            "level": "project",
            "duration": duration,
            "disable": False,
            "permissions": [{
                "kind": "project",
                "namespace": project,
                "access": [{"resource": r, "action": a} for r, a in self.actions],
            }],
        }


ROBOTS = (
    RobotSpec("runner-pull", "GitLab runners pull provider images from {project}",
              (("repository", "pull"), ("artifact", "read"), ("artifact", "list"), ("tag", "list"))),
    RobotSpec("ci-push", "GitLab CI publishes provider images to {project}",
              (("repository", "pull"), ("repository", "push"), ("artifact", "read"), ("artifact", "list"),
               ("tag", "create"), ("tag", "list"))),
)

_TAGGED = json.dumps({"untagged": False}, separators=(",", ":"))
_ALL_REPOS = {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}
# Harbor has one retention policy per project, and its rules are OR'ed. B2I app images
# (b2i/**) have rules of their own (`pipeyard b2i prune`), so the provider rules leave
# them out; otherwise "keep the newest 10" would overrule every smaller B2I limit.
B2I_REPOS = "b2i/**"
_PROVIDER_REPOS = {"repository": [{"kind": "doublestar", "decoration": "repoExcludes", "pattern": B2I_REPOS}]}


def _retain(template: str, params: dict[str, int], pattern: str) -> dict[str, Any]:
    return {
        "disabled": False,
        "action": "retain",
        "template": template,
        "params": params,
        "tag_selectors": [
            {"kind": "doublestar", "decoration": "matches", "pattern": pattern, "extras": _TAGGED},
        ],
        "scope_selectors": _PROVIDER_REPOS,
    }


def is_provider_rule(rule: dict[str, Any]) -> bool:
    """A retention rule `pipeyard publish` owns (as opposed to b2i's or a person's)."""
    scopes = (rule.get("scope_selectors") or {}).get("repository") or []
    return [_selector(x)[:3] for x in scopes] == [_selector(x)[:3] for x in _PROVIDER_REPOS["repository"]]


def merge_provider_rules(current: dict[str, Any] | None, wanted: dict[str, Any]) -> dict[str, Any]:
    """wanted, plus every rule of the current policy that publish doesn't own."""
    others = [r for r in (current or {}).get("rules") or [] if not is_provider_rule(r)]
    return check_rule_count({**wanted, "rules": wanted["rules"] + others})


# Harbor refuses a policy of more than 15 rules (src/server/v2.0/handler/retention.go).
MAX_RULES = 15


def check_rule_count(policy: dict[str, Any]) -> dict[str, Any]:
    rules = policy.get("rules") or []
    if len(rules) > MAX_RULES:
        raise ConfigError(f"the project's retention policy would have {len(rules)} rules; Harbor allows "
                          f"{MAX_RULES} per project",
                          fix="remove rules you no longer need under the project's Policy > Tag Retention, "
                              "then run again")
    return policy


def retention_policy(project_id: int, *, keep_latest: int = 10, pulled_days: int = 30) -> dict[str, Any]:
    return {
        "algorithm": "or",
        "rules": [
            _retain("latestPushedK", {"latestPushedK": keep_latest}, "**"),
            _retain("always", {}, RELEASE_TAGS),
            _retain("nDaysSinceLastPull", {"nDaysSinceLastPull": pulled_days}, "**"),
        ],
        "trigger": {"kind": "Schedule", "settings": {"cron": RETENTION_CRON}, "references": {}},
        "scope": {"level": "project", "ref": project_id},
    }


def immutable_rule() -> dict[str, Any]:
    return {
        "disabled": False,
        "action": "immutable",
        "template": "immutable_template",
        "priority": 0,
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": IMMUTABLE_TAGS}],
        "scope_selectors": _ALL_REPOS,
    }


def gc_schedule() -> dict[str, Any]:
    return {"schedule": {"type": "Weekly", "cron": GC_CRON},
            "parameters": {"delete_untagged": True, "dry_run": False, "workers": 1}}


# -- comparing what Harbor has with what we want ----------------------------------------------------
def _selector(s: dict[str, Any]) -> tuple[Any, ...]:
    extras = s.get("extras") or ""
    if isinstance(extras, str) and extras:
        extras = json.loads(extras)
    return (s.get("kind"), s.get("decoration"), s.get("pattern"), json.dumps(extras or {}, sort_keys=True))


def _rule(r: dict[str, Any]) -> tuple[Any, ...]:
    params = {k: int(v) if isinstance(v, (int, float)) else v for k, v in (r.get("params") or {}).items()}
    scopes = {k: sorted(_selector(s)[:3] for s in v) for k, v in (r.get("scope_selectors") or {}).items()}
    tags = tuple(sorted(_selector(s) for s in r.get("tag_selectors") or []))
    return (bool(r.get("disabled")), r.get("action"), r.get("template"), json.dumps(params, sort_keys=True),
            tags, json.dumps(scopes, sort_keys=True))


def same_retention(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def key(p: dict[str, Any]) -> tuple[Any, ...]:
        trigger = p.get("trigger") or {}
        return (p.get("algorithm"), sorted(_rule(r) for r in p.get("rules") or []),
                trigger.get("kind"), (trigger.get("settings") or {}).get("cron"))

    return key(current) == key(wanted)


def find_immutable_rule(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """pipeyard's immutable rule among the project's, enabled or not.

    Harbor keys a rule on its whole JSON, `disabled` included, and disabling it in the UI flips only a
    column (src/controller/immutable/controller.go, src/pkg/immutable/dao/dao.go): a rule someone
    disabled is still there, and creating it again is a 409.
    """
    wanted = _rule({**immutable_rule(), "disabled": False})
    return next((r for r in rules if _rule({**r, "params": r.get("params") or {}, "disabled": False}) == wanted),
                None)


def same_gc_schedule(current: dict[str, Any]) -> bool:
    schedule = current.get("schedule") or {}
    params = current.get("job_parameters") or current.get("parameters") or {}
    if isinstance(params, str):
        params = json.loads(params or "{}")
    wanted = gc_schedule()
    return (schedule.get("type") == wanted["schedule"]["type"]
            and schedule.get("cron") in (None, "", wanted["schedule"]["cron"])
            and params.get("delete_untagged") is True and not params.get("dry_run"))
