"""Human names and value formats of the metrics a gate or a report shows.

Kept local so a gate condition renders without an extra api/metrics call; an
unknown key falls back to a readable form of itself.
"""

from __future__ import annotations

RATING_LETTERS = {1: "A", 2: "B", 3: "C", 4: "D", 5: "E"}

NAMES = {
    "alert_status": "Quality gate",
    "bugs": "Bugs", "new_bugs": "New bugs",
    "vulnerabilities": "Vulnerabilities", "new_vulnerabilities": "New vulnerabilities",
    "code_smells": "Code smells", "new_code_smells": "New code smells",
    "violations": "Issues", "new_violations": "New issues",
    "open_issues": "Open issues", "reopened_issues": "Reopened issues", "accepted_issues": "Accepted issues",
    "blocker_violations": "Blocker issues", "new_blocker_violations": "New blocker issues",
    "critical_violations": "Critical issues", "new_critical_violations": "New critical issues",
    "major_violations": "Major issues", "new_major_violations": "New major issues",
    "security_hotspots": "Security hotspots", "new_security_hotspots": "New security hotspots",
    "security_hotspots_reviewed": "Security hotspots reviewed",
    "new_security_hotspots_reviewed": "New security hotspots reviewed",
    "coverage": "Coverage", "new_coverage": "Coverage on new code",
    "line_coverage": "Line coverage", "new_line_coverage": "Line coverage on new code",
    "duplicated_lines_density": "Duplicated lines", "new_duplicated_lines_density": "Duplicated lines on new code",
    "ncloc": "Lines of code", "new_lines": "New lines",
    "sqale_index": "Technical debt", "new_technical_debt": "New technical debt",
    "sqale_debt_ratio": "Technical debt ratio", "new_sqale_debt_ratio": "Technical debt ratio on new code",
    "reliability_rating": "Reliability rating", "new_reliability_rating": "Reliability rating on new code",
    "security_rating": "Security rating", "new_security_rating": "Security rating on new code",
    "sqale_rating": "Maintainability rating", "new_maintainability_rating": "Maintainability rating on new code",
    "security_review_rating": "Security review rating",
    "new_security_review_rating": "Security review rating on new code",
    "software_quality_reliability_rating": "Reliability rating",
    "new_software_quality_reliability_rating": "Reliability rating on new code",
    "software_quality_security_rating": "Security rating",
    "new_software_quality_security_rating": "Security rating on new code",
    "software_quality_maintainability_rating": "Maintainability rating",
    "new_software_quality_maintainability_rating": "Maintainability rating on new code",
    "software_quality_blocker_issues": "Blocker issues", "new_software_quality_blocker_issues": "New blocker issues",
    "software_quality_high_issues": "High severity issues",
    "new_software_quality_high_issues": "New high severity issues",
    "skipped_tests": "Skipped tests", "test_failures": "Test failures", "test_errors": "Test errors",
}

COMPARATORS = {"GT": ">", "LT": "<", "EQ": "=", "NE": "≠"}
# The threshold a value must respect, phrased for a reader: GT 0 fails above 0.
REQUIREMENT = {"GT": "≤", "LT": "≥", "EQ": "≠", "NE": "="}


def name(metric: str) -> str:
    return NAMES.get(metric) or metric.replace("_", " ").capitalize()


def kind(metric: str) -> str:
    if metric.endswith("_rating"):
        return "rating"
    if any(w in metric for w in ("coverage", "density", "ratio", "reviewed", "success_density")):
        return "percent"
    if metric in ("sqale_index", "new_technical_debt") or metric.endswith("_effort"):
        return "duration"
    if metric == "alert_status":
        return "level"
    return "number"


def rating_letter(value: str | float | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        return RATING_LETTERS.get(round(float(value)))
    except (TypeError, ValueError):
        return None


def duration(minutes: float) -> str:
    """Sonar's work duration: minutes, with an 8-hour day."""
    minutes = round(minutes)
    if minutes < 60:
        return f"{minutes}min"
    days, rest = divmod(minutes, 8 * 60)
    hours = rest // 60
    if days and hours:
        return f"{days}d {hours}h"
    return f"{days}d" if days else f"{hours}h"


def fmt(metric: str, value: str | float | None) -> str:
    """A value as SonarQube's UI shows it; '–' when there is no data."""
    if value in (None, ""):
        return "–"
    k = kind(metric)
    if k == "rating":
        return rating_letter(value) or str(value)
    if k == "level":
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if k == "percent":
        return f"{number:.1f}%"
    if k == "duration":
        return duration(number)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.1f}"


def condition_text(cond: dict) -> str:
    """'Coverage on new code 82.5% (required ≥ 85.0%)'."""
    metric = cond.get("metricKey", "")
    actual = fmt(metric, cond.get("actualValue"))
    threshold = cond.get("errorThreshold")
    if threshold in (None, ""):
        return f"{name(metric)} {actual}"
    need = REQUIREMENT.get(cond.get("comparator", ""), cond.get("comparator", ""))
    return f"{name(metric)} {actual} (required {need} {fmt(metric, threshold)})"
