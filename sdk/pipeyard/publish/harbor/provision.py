"""Make a Harbor project ready for pipeyard's images, idempotently, and say what changed.

Each step reads first and writes only on a difference, so a second run changes nothing and the
summary says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeyard.publish.harbor import policies
from pipeyard.publish.harbor.client import HarborClient, HarborForbidden
from pipeyard.publish.harbor.security import SecurityPolicy, apply_security

CHANGED = ("created", "updated")


@dataclass(frozen=True)
class Change:
    item: str
    action: str  # created | updated | unchanged | exists | skipped
    detail: str = ""


@dataclass
class Summary:
    harbor: str
    project: str
    changes: list[Change] = field(default_factory=list)

    def add(self, item: str, action: str, detail: str = "") -> None:
        self.changes.append(Change(item, action, detail))

    @property
    def changed(self) -> bool:
        return any(c.action in CHANGED for c in self.changes)

    def lines(self) -> list[str]:
        width = max(len(c.item) for c in self.changes) if self.changes else 0
        out = [f"Harbor {self.harbor}, project {self.project}:"]
        for c in self.changes:
            out.append(f"  {c.item.ljust(width)}  {c.action}{' - ' + c.detail if c.detail else ''}")
        out.append("  changed: " + ", ".join(c.item for c in self.changes if c.action in CHANGED)
                   if self.changed else "  nothing changed")
        return out


@dataclass(frozen=True)
class SecretSink:
    """Where a new robot's secret goes: a 0600 file, and/or stdout once. Never a log."""

    directory: Path | None
    show: Callable[[str], None] | None = None

    def keep(self, robot: str, project: str, secret: str) -> str:
        notes = []
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.directory / f"{project}+{robot.rsplit('+', 1)[-1]}.secret"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret + "\n")
            os.chmod(path, 0o600)  # an existing file keeps its old mode through O_TRUNC
            notes.append(f"secret written to {path} (mode 0600)")
        if self.show is not None:
            self.show(f"{robot}\t{secret}")
            notes.append("secret printed once on stdout")
        return "; ".join(notes) or "secret discarded (pass --robot-secrets DIR or --show-robot-secrets)"


def provision(client: HarborClient, project: str, secrets: SecretSink, *, gc: bool = True,
              robot_days: int = -1, security: SecurityPolicy | None = None) -> Summary:
    policies.validate_project_name(project)
    summary = Summary(client.url, project)

    if client.project_exists(project):
        summary.add(f"project {project}", "exists")
    else:
        created = client.create_project(project, {"public": "false"})
        summary.add(f"project {project}", "created" if created else "exists")
    info = client.project(project)
    project_id = int(info["project_id"])

    _robots(client, project, project_id, secrets, robot_days, summary)
    apply_policies(client, project, info, summary, gc=gc)
    if security is not None:
        apply_security(client, project, security, summary)
    return summary


def apply_policies(client: HarborClient, project: str, info: dict[str, Any], summary: Summary, *,
                   gc: bool = True) -> None:
    """Retention, immutable release tags and the GC schedule: everything but the robots,
    whose secrets must never land in a CI log (pipeyard's release job calls only this)."""
    _retention(client, int(info["project_id"]), info.get("metadata") or {}, summary)
    _immutable(client, project, summary)
    if gc:
        _gc(client, summary)
    else:
        summary.add("gc schedule", "skipped", "--no-gc")


def _robots(client: HarborClient, project: str, project_id: int, secrets: SecretSink, days: int,
            summary: Summary) -> None:
    existing = {r.get("name", "") for r in client.robots(project_id)}
    for spec in policies.ROBOTS:
        # Harbor prefixes robot names (robot$ by default, configurable), so match on the tail.
        full = next((n for n in existing if n.endswith(f"{project}+{spec.name}")), None)
        if full:
            summary.add(f"robot {spec.name}", "exists",
                        f"{full}; not recreated (its secret was shown at creation)")
            continue
        created = client.create_robot(spec.body(project, days))
        if created is None:
            summary.add(f"robot {spec.name}", "exists", "not recreated (its secret was shown at creation)")
            continue
        summary.add(f"robot {spec.name}", "created",
                    f"{created['name']}; {secrets.keep(created['name'], project, created['secret'])}")


def _retention(client: HarborClient, project_id: int, metadata: dict[str, Any], summary: Summary) -> None:
    wanted = policies.retention_policy(project_id)
    detail = f"newest 10 pushed, always {policies.RELEASE_TAGS}, pulled in 30 days; daily"
    policy_id = metadata.get("retention_id")
    if not policy_id:
        client.create_retention(wanted)
        summary.add("tag retention", "created", detail)
        return
    current = client.retention(int(policy_id))
    wanted = policies.merge_provider_rules(current, wanted)
    if policies.same_retention(current, wanted):
        summary.add("tag retention", "unchanged")
        return
    client.update_retention(int(policy_id), {**wanted, "id": int(policy_id)})
    summary.add("tag retention", "updated", detail)


def _immutable(client: HarborClient, project: str, summary: Summary) -> None:
    rule = policies.find_immutable_rule(client.immutable_rules(project))
    if rule is not None and rule.get("disabled"):
        # Someone turned it off in Harbor; that is their call, and re-creating it would be a 409.
        summary.add("immutable release tags", "skipped",
                    f"rule {rule.get('id')} is disabled in Harbor; left as it is (enable it under the project's "
                    "Policy > Tag Immutability)")
        return
    if rule is not None:
        summary.add("immutable release tags", "unchanged")
        return
    created = client.create_immutable_rule(project, policies.immutable_rule())
    summary.add("immutable release tags", "created" if created else "exists")


def _gc(client: HarborClient, summary: Summary) -> None:
    try:
        current = client.gc_schedule()
        if policies.same_gc_schedule(current):
            summary.add("gc schedule", "unchanged")
            return
        scheduled = (current.get("schedule") or {}).get("type") not in (None, "", "None")
        client.set_gc_schedule(policies.gc_schedule())
        summary.add("gc schedule", "updated" if scheduled else "created",
                    "weekly, untagged artifacts deleted")
    except HarborForbidden:
        summary.add("gc schedule", "skipped",
                    f"{client.credentials.username} is not a Harbor system administrator (403); "
                    "ask one to run this with --harbor, or pass --no-gc")
