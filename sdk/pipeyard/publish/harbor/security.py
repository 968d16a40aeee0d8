"""The project settings that make Harbor enforce the supply chain: scan on push, no pulls of
vulnerable images, no pulls without a cosign signature, and Harbor's own SBOM on push.

They are the project's metadata (swagger `ProjectMetadata`, every value a string): auto_scan,
prevent_vul with severity, enable_content_trust_cosign, and auto_sbom_generation, which Harbor
2.11 added (2.10's swagger has no such field, and its UpdateProject drops unknown fields when it
copies the body into the project: src/server/v2.0/handler/project.go, lib.JSONCopy). They are
written with `PUT /projects/{name}` and a body holding only the keys that differ, so a
retention_id set by the retention step is never sent back (Harbor refuses a different one).
The site file chooses the values (`harbor:`); a second run writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeyard.publish.harbor.client import HarborClient
from pipeyard_kit.errors import ModelError, RemoteError

# Harbor's severities (ProjectMetadata.severity; project_metadata.go validates them).
SEVERITIES = ("none", "low", "medium", "high", "critical")
SBOM_SINCE = (2, 11)


@dataclass(frozen=True)
class SecurityPolicy:
    scan_on_push: bool = True
    prevent_vulnerable: str | None = "critical"  # the lowest severity that blocks a pull; None: allow all
    require_signatures: bool = False
    generate_sbom: bool = True

    @classmethod
    def from_site(cls, data: dict[str, Any] | None, where: str = "site file") -> SecurityPolicy:
        data = data or {}
        prevent = data.get("prevent_vulnerable", cls.prevent_vulnerable)
        if prevent is False:
            prevent = None
        elif not isinstance(prevent, str) or prevent.lower() not in SEVERITIES:
            raise ModelError(f"{where}: harbor.prevent_vulnerable {prevent!r} is not a severity",
                             fix=f"use one of {', '.join(SEVERITIES)}, or false to allow vulnerable images")
        return cls(scan_on_push=bool(data.get("scan_on_push", cls.scan_on_push)),
                   prevent_vulnerable=prevent.lower() if prevent else None,
                   require_signatures=bool(data.get("require_signatures", cls.require_signatures)),
                   generate_sbom=bool(data.get("generate_sbom", cls.generate_sbom)))

    def settings(self) -> list[Setting]:
        prevent = self.prevent_vulnerable is not None
        return [
            Setting("scan on push", {"auto_scan": _bool(self.scan_on_push)}, "on" if self.scan_on_push else "off"),
            Setting("vulnerable images", {"prevent_vul": _bool(prevent),
                                          **({"severity": self.prevent_vulnerable} if prevent else {})},
                    f"pulls blocked at {self.prevent_vulnerable} or higher" if prevent else "pulls allowed"),
            Setting("cosign signatures", {"enable_content_trust_cosign": _bool(self.require_signatures)},
                    "required to pull" if self.require_signatures else "not required"),
            Setting("SBOM generation", {"auto_sbom_generation": _bool(self.generate_sbom)},
                    "Harbor generates one on push" if self.generate_sbom else "off", since=SBOM_SINCE),
        ]


@dataclass(frozen=True)
class Setting:
    item: str
    metadata: dict[str, str]
    detail: str
    since: tuple[int, int] = (2, 0)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def harbor_version(text: str) -> tuple[int, int] | None:
    """'v2.10.0-b8f5bbd9' -> (2, 10); None when it cannot be read (an older Harbor hides it)."""
    m = re.match(r"v?(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _same(current: str | None, wanted: str) -> bool:
    # A missing key reads as false: Harbor's Project.AutoScan(), PreventVul()... treat it so.
    return (current or "false").strip().lower() == wanted


def apply_security(client: HarborClient, project: str, policy: SecurityPolicy, summary: Any) -> None:
    version_text = str(client.system_info().get("harbor_version") or "")
    version = harbor_version(version_text)
    current: dict[str, str] = dict(client.project(project).get("metadata") or {})
    changes: dict[str, str] = {}
    results: list[tuple[Setting, str]] = []
    for setting in policy.settings():
        if version is not None and version < setting.since:
            wanted_on = any(v == "true" for v in setting.metadata.values())
            results.append((setting, "skipped" if wanted_on else "unchanged"))
            continue
        differs = {k: v for k, v in setting.metadata.items() if not _same(current.get(k), v)}
        changes.update(differs)
        results.append((setting, "updated" if differs else "unchanged"))
    if changes:
        client.update_project_metadata(project, changes)
        after = dict(client.project(project).get("metadata") or {})
        ignored = sorted(k for k, v in changes.items() if not _same(after.get(k), v))
        if ignored:
            raise RemoteError(f"Harbor {client.url} accepted but did not keep project {project}'s "
                              f"{', '.join(ignored)}",
                              fix=f"this Harbor ({version_text or 'version unknown'}) does not support them; "
                                  "turn them off under harbor: in the site file")
    for setting, action in results:
        if action == "skipped":
            since = ".".join(map(str, setting.since))
            summary.add(setting.item, "skipped", f"Harbor {version_text} has no {next(iter(setting.metadata))} "
                                                 f"(Harbor {since} added it)")
        else:
            summary.add(setting.item, action, setting.detail)
