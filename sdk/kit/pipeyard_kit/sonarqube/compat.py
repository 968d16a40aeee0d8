"""Every difference between SonarQube 9.9 LTS, 10.x, 2025.x and 2026.x, in one place.

The server version (api/server/version) decides the parameters; the webservice
changelogs (api/webservices/list) are the source of each threshold below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeyard_kit.errors import RemoteError

Version = tuple[int, ...]

# Metrics every supported version knows (9.9 LTS onwards).
CLASSIC_METRICS = (
    "alert_status", "bugs", "vulnerabilities", "code_smells", "security_hotspots", "violations",
    "coverage", "duplicated_lines_density", "ncloc", "sqale_index", "security_hotspots_reviewed",
    "reliability_rating", "security_rating", "sqale_rating", "security_review_rating",
    "new_bugs", "new_vulnerabilities", "new_code_smells", "new_security_hotspots", "new_violations",
    "new_coverage", "new_duplicated_lines_density", "new_lines", "new_technical_debt",
    "new_security_hotspots_reviewed", "new_reliability_rating", "new_security_rating",
    "new_maintainability_rating", "new_security_review_rating",
)
# 10.7 added the software-quality (MQR) ratings.
MQR_RATINGS = tuple(
    f"{prefix}software_quality_{q}_rating"
    for prefix in ("", "new_") for q in ("reliability", "security", "maintainability")
)
# 10.8 added the software-quality issue counts; an instance then runs in Standard
# or MQR mode, and we cannot tell which, so the report asks for both families.
MQR_COUNTS = tuple(
    f"{prefix}software_quality_{x}_issues"
    for prefix in ("", "new_")
    for x in ("reliability", "security", "maintainability", "blocker", "high", "medium", "low", "info")
)

CLASSIC_FACETS = ("severities", "types")
IMPACT_FACETS = ("impactSoftwareQualities", "impactSeverities")
# 10.8 runs an instance in Standard or MQR mode; this global setting says which (the key SonarLint
# reads, sonarlint-core's ServerInfoSynchronizer). MQR is the default.
MODE_SETTING = "sonar.multi-quality-mode.enabled"
# pysonar bootstraps with api/v2/analysis/* and refuses older servers (MIN_SUPPORTED_SQ_VERSION).
BOOTSTRAP_V2 = (10, 6)


def parse_version(text: str) -> Version:
    """'9.9.8.100196' -> (9, 9, 8, 100196); 2025.x sorts after 10.x as it should."""
    match = re.match(r"^\s*(\d+(?:\.\d+)*)", text or "")
    if not match:
        raise RemoteError(f"SonarQube answered api/server/version with {text[:40]!r}, not a version",
                          fix="check that the URL points at SonarQube itself, not a login page or proxy")
    return tuple(int(p) for p in match.group(1).split("."))


def show_version(version: Version) -> str:
    return ".".join(str(p) for p in version[:3])


@dataclass(frozen=True)
class Compat:
    """The request parameters one server version understands."""

    version: Version

    def at_least(self, *wanted: int) -> bool:
        return self.version >= wanted

    @property
    def issues_component_param(self) -> str:
        # 10.2 renamed componentKeys to components (the old name is deprecated there).
        return "components" if self.at_least(10, 2) else "componentKeys"

    @property
    def hotspots_project_param(self) -> str:
        # 10.2 renamed projectKey to project.
        return "project" if self.at_least(10, 2) else "projectKey"

    @property
    def hotspots_deprecated(self) -> bool:
        # 2026.4 deprecates api/hotspots/search in favour of security issues; it still answers there.
        return self.at_least(2026, 4)

    @property
    def has_modes(self) -> bool:
        """Standard and MQR modes exist (10.8); before, the classic families are the only ones shown."""
        return self.at_least(10, 8)

    @property
    def scanner_bootstrap(self) -> bool:
        """The server provisions the scanner engine (and a JRE) through api/v2/analysis/*: pysonar's floor."""
        return self.version >= BOOTSTRAP_V2

    @property
    def issue_facets(self) -> tuple[str, ...]:
        # impact facets arrived in 10.2; asking 9.9 for them is a 400.
        return CLASSIC_FACETS + IMPACT_FACETS if self.at_least(10, 2) else CLASSIC_FACETS

    def open_issue_filter(self) -> dict[str, str]:
        # 10.4 deprecates statuses/resolutions in favour of issueStatuses.
        if self.at_least(10, 4):
            return {"issueStatuses": "OPEN,CONFIRMED"}
        return {"resolved": "false"}

    def report_metrics(self) -> tuple[str, ...]:
        metrics = CLASSIC_METRICS
        if self.at_least(10, 7):
            metrics += MQR_RATINGS
        if self.at_least(10, 8):
            metrics += MQR_COUNTS
        return metrics


_MISSING_METRICS = re.compile(r"metric keys are not found:\s*(.+)$", re.IGNORECASE)


def missing_metric_keys(messages: list[str]) -> list[str]:
    """Keys named by the 404 'The following metric keys are not found: a, b'."""
    for msg in messages:
        match = _MISSING_METRICS.search(msg.strip())
        if match:
            return [k.strip() for k in match.group(1).split(",") if k.strip()]
    return []
