"""What the weekly SonarQube mail says, collected in a bounded number of API calls.

Counts come from facets (ps=1), never from paging through issues, so a project
with 50,000 issues costs the same calls as one with ten: version,
components/show, project_status, measures (plus one retry if the server lacks a
metric), issues overall, new issues (top-N and their facets), hotspots; from
10.8 one more for the instance's mode and, in MQR mode, at most two more for the
top new issues by impact severity, which no sort of 10.8 to 2025.x orders by.

Every API call goes to the internal URL; every link is built on the external
one, and the internal URL never enters the report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pipeyard_kit.errors import RemoteError
from pipeyard_kit.sonarqube import metrics
from pipeyard_kit.sonarqube.client import SonarClient, SonarNotFound
from pipeyard_kit.sonarqube.compat import MODE_SETTING, Compat, missing_metric_keys, show_version

log = logging.getLogger("pipeyard.sendmail")

SEVERITIES = ("BLOCKER", "CRITICAL", "MAJOR", "MINOR", "INFO")
TYPES = (("BUG", "Bugs"), ("VULNERABILITY", "Vulnerabilities"), ("CODE_SMELL", "Code smells"))
TYPE_NAMES = {"BUG": "Bug", "VULNERABILITY": "Vulnerability", "CODE_SMELL": "Code smell"}
QUALITIES = (("SECURITY", "Security"), ("RELIABILITY", "Reliability"), ("MAINTAINABILITY", "Maintainability"))
IMPACTS = ("BLOCKER", "HIGH", "MEDIUM", "LOW", "INFO")
PROBABILITY_ORDER = {"HIGH": 0, "MEDIUM": 1, "LOW": 2}
# Hotspot categories as SonarQube's UI names them; others fall back to their key.
CATEGORIES = {
    "sql-injection": "SQL injection", "command-injection": "Command injection", "rce": "Code injection (RCE)",
    "path-traversal-injection": "Path traversal injection", "ldap-injection": "LDAP injection",
    "xpath-injection": "XPath injection", "log-injection": "Log injection", "xxe": "XML external entity (XXE)",
    "xss": "Cross-site scripting (XSS)", "csrf": "Cross-site request forgery (CSRF)", "dos": "Denial of service (DoS)",
    "ssrf": "Server-side request forgery (SSRF)", "auth": "Authentication", "insecure-conf": "Insecure configuration",
    "weak-cryptography": "Weak cryptography", "encrypt-data": "Encryption of sensitive data",
    "open-redirect": "Open redirect", "object-injection": "Object injection", "permission": "Permission",
    "http-response-splitting": "HTTP response splitting", "buffer-overflow": "Buffer overflow",
    "traceability": "Traceability", "others": "Others",
}


@dataclass
class Condition:
    metric: str
    name: str
    status: str
    actual: str
    threshold: str
    requirement: str
    url: str

    @property
    def failed(self) -> bool:
        return self.status == "ERROR"


@dataclass
class Tile:
    label: str
    value: str
    url: str
    metric: str
    failed: bool = False        # a failed gate condition is about this metric


@dataclass
class RatingRow:
    label: str
    overall: str | None
    new: str | None
    url: str


@dataclass
class CountRow:
    key: str
    label: str
    overall: int
    new: int
    overall_url: str
    new_url: str


@dataclass
class CountTable:
    title: str
    rows: list[CountRow]


@dataclass
class Finding:
    """A new issue or hotspot as the mail lists it."""

    key: str
    level: str           # BLOCKER..INFO, HIGH/MEDIUM/LOW
    category: str        # type, software quality or hotspot category
    message: str
    rule: str
    rule_name: str
    file: str
    line: int | None
    url: str

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def folder(self) -> str:
        """The path up to the file name, which the HTML shows dimmed."""
        return self.file.rsplit("/", 1)[0] + "/" if "/" in self.file else ""

    @property
    def basename(self) -> str:
        name = self.file.rsplit("/", 1)[-1]
        return f"{name}:{self.line}" if self.line else name


@dataclass
class SonarReport:
    project_key: str
    project_name: str
    external_url: str
    server_version: str
    gate_status: str
    conditions: list[Condition]
    project_version: str = ""
    analysis_date: datetime | None = None
    new_code_period: str = ""
    new_lines: str = ""
    new_tiles: list[Tile] = field(default_factory=list)
    overall_tiles: list[Tile] = field(default_factory=list)
    ratings: list[RatingRow] = field(default_factory=list)
    mqr: bool = False
    count_tables: list[CountTable] = field(default_factory=list)
    issues_total: int = 0
    issues_new: int = 0
    top_issues: list[Finding] = field(default_factory=list)
    hotspots_new: int | None = None
    top_hotspots: list[Finding] = field(default_factory=list)
    api_calls: int = 0

    @property
    def failed(self) -> bool:
        return self.gate_status == "ERROR"

    @property
    def verdict(self) -> str:
        return {"OK": "PASSED", "WARN": "PASSED", "ERROR": "FAILED"}.get(self.gate_status, "NO QUALITY GATE")

    @property
    def failed_conditions(self) -> list[Condition]:
        return [c for c in self.conditions if c.failed]

    def link(self, path: str, **params: Any) -> str:
        return ui_link(self.external_url, path, self.project_key, **params)

    @property
    def dashboard_url(self) -> str:
        return self.link("dashboard")

    @property
    def new_issues_url(self) -> str:
        return self.link("project/issues", resolved="false", inNewCodePeriod="true")

    @property
    def hotspots_url(self) -> str:
        return self.link("security_hotspots", inNewCodePeriod="true")

    def subject(self) -> str:
        detail = ""
        if self.failed and self.failed_conditions:
            n = len(self.failed_conditions)
            detail = f" · {n} condition{'s' if n != 1 else ''} failed"
        return f"[SonarQube] {self.verdict} · {self.project_name}{detail}"

    def summary(self) -> str:
        """One line for the inbox preview."""
        parts = [f"Quality gate {self.verdict.lower()}"]
        if self.failed_conditions:
            parts.append(", ".join(c.name for c in self.failed_conditions[:3]))
        parts.append(f"{self.issues_new:,} new issue{'s' if self.issues_new != 1 else ''}")
        if self.hotspots_new:
            parts.append(f"{self.hotspots_new:,} hotspot{'s' if self.hotspots_new != 1 else ''} to review")
        return " · ".join(parts)


def ui_link(base: str, path: str, key: str, **params: Any) -> str:
    query = urlencode({"id": key, **{k: v for k, v in params.items() if v is not None}})
    return f"{base.rstrip('/')}/{path}?{query}"


def parse_date(text: str | None) -> datetime | None:
    """Sonar's 2025-06-09T10:34:25+0200 and GitLab's 2025-06-09T08:34:25.085Z."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(str(text))
    except ValueError:
        try:
            parsed = datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def measure_value(measure: dict[str, Any]) -> str | None:
    """Overall values are in value; new-code ones in period (10.x) or periods[0] (before 10.0)."""
    if "value" in measure:
        return measure["value"]
    if isinstance(measure.get("period"), dict) and "value" in measure["period"]:
        return measure["period"]["value"]
    periods = measure.get("periods") or []
    if periods and isinstance(periods[0], dict):
        return periods[0].get("value")
    return None


def describe_period(period: dict[str, Any] | None) -> str:
    if not period:
        return ""
    mode = str(period.get("mode", "")).lower()
    param = period.get("parameter")
    date = parse_date(period.get("date"))
    since = f", {date:%-d %b %Y}" if date else ""
    if mode in ("previous_version", "version") and param:
        return f"since version {param}{since}"
    if mode == "previous_version":
        return f"since the previous version{since}"
    if mode in ("days", "number_of_days") and param:
        return f"over the last {param} days"
    if mode in ("reference_branch",) and param:
        return f"compared with branch {param}"
    if mode in ("specific_analysis", "date", "manual_baseline") and date:
        return f"since {date:%-d %b %Y}"
    return f"since {date:%-d %b %Y}" if date else ""


def _facet(data: dict[str, Any], name: str) -> dict[str, int]:
    for facet in data.get("facets", []):
        if facet.get("property") == name:
            return {v["val"]: int(v.get("count", 0)) for v in facet.get("values", [])}
    return {}


def _total(data: dict[str, Any]) -> int:
    paging = data.get("paging") or {}
    return int(paging.get("total", data.get("total", 0)) or 0)


class Collector:
    def __init__(self, client: SonarClient, project_key: str, external_url: str, top: int = 10):
        self.client = client
        self.key = project_key
        self.external = external_url.rstrip("/")
        self.top = max(0, top)

    def link(self, path: str, **params: Any) -> str:
        return ui_link(self.external, path, self.key, **params)

    def collect(self) -> SonarReport:
        compat = self.client.compat()
        component = self._component()
        status = self.client.json("api/qualitygates/project_status", {"projectKey": self.key}).get(
            "projectStatus") or {}
        measures, period = self._measures(compat)
        mqr = self._mqr_mode(compat)
        base = {compat.issues_component_param: self.key, **compat.open_issue_filter()}
        facets = ",".join(compat.issue_facets)
        overall = self.client.json("api/issues/search", {**base, "ps": 1, "facets": facets})
        new_base = {**base, "inNewCodePeriod": "true"}
        top = max(1, min(self.top, 500))
        if mqr:
            # The mail ranks by impact severity, which the server cannot sort by before 2026: facet
            # counts first, then the issues of the levels that fill the top N.
            new = self.client.json("api/issues/search", {**new_base, "ps": 1, "facets": facets})
            top_issues = self._top_by_impact(new_base, _facet(new, "impactSeverities"), top)
        else:
            new = self.client.json("api/issues/search", {
                **new_base, "ps": top, "s": "SEVERITY", "asc": "false", "additionalFields": "rules", "facets": facets})
            top_issues = self._findings(new, mqr=False)
        hotspots = self._hotspots(compat)

        report = SonarReport(
            project_key=self.key, project_name=component.get("name") or self.key, external_url=self.external,
            server_version=show_version(compat.version), gate_status=status.get("status", "NONE"),
            conditions=[self._condition(c) for c in status.get("conditions", [])],
            project_version=component.get("version", ""), analysis_date=parse_date(component.get("analysisDate")),
            new_code_period=describe_period(period or status.get("period")
                                            or (status.get("periods") or [None])[0]),
            mqr=mqr, issues_total=_total(overall), issues_new=_total(new),
        )
        report.new_tiles, report.overall_tiles = self._tiles(measures, {c.metric for c in report.failed_conditions})
        if measures.get("new_lines"):
            report.new_lines = metrics.fmt("new_lines", measures["new_lines"])
        report.ratings = self._ratings(measures, mqr)
        report.count_tables = self._counts(overall, new, compat, mqr)
        report.top_issues = top_issues[: self.top]
        if hotspots is not None:
            report.hotspots_new = _total(hotspots)
            report.top_hotspots = self._hotspot_findings(hotspots)[: self.top]
        report.api_calls = len(self.client.calls)
        return report

    def _mqr_mode(self, compat: Compat) -> bool:
        """Whether the instance runs in MQR mode (10.8+); the setting is absent before, and defaults to MQR."""
        if not compat.has_modes:
            return False
        try:
            data = self.client.json("api/settings/values", {"keys": MODE_SETTING})
        except RemoteError as exc:
            log.info("cannot read %s (%s); assuming SonarQube's default, MQR mode", MODE_SETTING, exc.message)
            return True
        values = {s.get("key"): s.get("value") for s in data.get("settings") or [] if isinstance(s, dict)}
        return str(values.get(MODE_SETTING, "true")).lower() != "false"

    def _top_by_impact(self, base: dict[str, Any], counts: dict[str, int], top: int) -> list[Finding]:
        """The `top` new issues with the highest impact severity, in at most two calls: every issue of the
        levels above the last one needed (fewer than `top` of them), then `top` of that last level."""
        levels: list[str] = []
        total = 0
        for level in IMPACTS:
            if counts.get(level):
                levels.append(level)
                total += counts[level]
                if total >= top:
                    break
        found: dict[str, Finding] = {}
        above = sum(counts[level] for level in levels[:-1])
        for chosen, size in ((levels[:-1], above), (levels[-1:], top)):
            if not chosen or not size:
                continue
            data = self.client.json("api/issues/search", {**base, "impactSeverities": ",".join(chosen),
                                                          "ps": min(size, 500), "s": "SEVERITY", "asc": "false",
                                                          "additionalFields": "rules"})
            for finding in self._findings(data, mqr=True):
                found.setdefault(finding.key, finding)
        return sorted(found.values(), key=lambda f: IMPACTS.index(f.level) if f.level in IMPACTS else len(IMPACTS))

    # -- the calls ---------------------------------------------------------

    def _component(self) -> dict[str, Any]:
        try:
            return self.client.json("api/components/show", {"component": self.key}).get("component") or {}
        except SonarNotFound:
            raise RemoteError(f"{self.client.where} has no project '{self.key}'",
                              fix="set PROJECT_NAME (--sonar-project-id) to the project key shown in SonarQube's "
                                  "Project Information, and check the token may browse it") from None

    def _measures(self, compat: Compat) -> tuple[dict[str, str | None], dict[str, Any] | None]:
        keys = list(compat.report_metrics())
        params = {"component": self.key, "additionalFields": "period"}
        try:
            data = self.client.json("api/measures/component", {**params, "metricKeys": ",".join(keys)})
        except SonarNotFound as exc:
            unknown = missing_metric_keys(exc.messages)
            if not unknown:
                raise
            # A server without some metric (an older plugin, a new name) answers 404 for the whole call.
            log.info("SonarQube does not know %s; asking again without them", ", ".join(unknown))
            keys = [k for k in keys if k not in unknown]
            data = self.client.json("api/measures/component", {**params, "metricKeys": ",".join(keys)})
        values = {m["metric"]: measure_value(m) for m in (data.get("component") or {}).get("measures", [])}
        return values, data.get("period")

    def _hotspots(self, compat: Compat) -> dict[str, Any] | None:
        # Deprecated in 2026.4 (security issues replace them) but still answering: a mail that drops
        # them would hide work a team still has to do. A server that removed the endpoint shows none.
        try:
            return self.client.json("api/hotspots/search", {
                compat.hotspots_project_param: self.key, "inNewCodePeriod": "true", "status": "TO_REVIEW",
                "ps": max(1, min(self.top, 500))})
        except SonarNotFound as exc:
            if any("Unknown url" in m for m in exc.messages):
                log.info("SonarQube %s has no api/hotspots/search; the mail shows no hotspots",
                         show_version(compat.version))
                return None
            raise

    # -- shaping -----------------------------------------------------------

    def _condition(self, c: dict[str, Any]) -> Condition:
        metric = c.get("metricKey", "")
        comparator = c.get("comparator", "")
        return Condition(metric=metric, name=metrics.name(metric), status=c.get("status", ""),
                         actual=metrics.fmt(metric, c.get("actualValue")),
                         threshold=metrics.fmt(metric, c.get("errorThreshold")) if c.get("errorThreshold") else "",
                         requirement=metrics.REQUIREMENT.get(comparator, comparator),
                         url=self.link("component_measures", metric=metric))

    def _tiles(self, v: dict[str, str | None], failing: set[str]) -> tuple[list[Tile], list[Tile]]:
        def tile(label: str, metric: str) -> Tile:
            return Tile(label=label, value=metrics.fmt(metric, v.get(metric)), metric=metric,
                        url=self.link("component_measures", metric=metric), failed=metric in failing)

        new = [tile("New issues", "new_violations"), tile("Coverage", "new_coverage"),
               tile("Duplications", "new_duplicated_lines_density"),
               tile("Hotspots reviewed", "new_security_hotspots_reviewed")]
        overall = [tile("Lines of code", "ncloc"), tile("Coverage", "coverage"),
                   tile("Duplications", "duplicated_lines_density"), tile("Technical debt", "sqale_index")]
        return new, overall

    def _ratings(self, v: dict[str, str | None], mqr: bool) -> list[RatingRow]:
        def pick(mqr_key: str, classic: str) -> str | None:
            return metrics.rating_letter(v.get(mqr_key) if mqr and v.get(mqr_key) else v.get(classic))

        rows = [
            ("Reliability", "software_quality_reliability_rating", "reliability_rating", "new_reliability_rating"),
            ("Security", "software_quality_security_rating", "security_rating", "new_security_rating"),
            ("Maintainability", "software_quality_maintainability_rating", "sqale_rating",
             "new_maintainability_rating"),
        ]
        out = [RatingRow(label, pick(key, classic), pick(f"new_{key}", new_classic),
                         self.link("component_measures", metric=key if mqr else classic))
               for label, key, classic, new_classic in rows]
        out.append(RatingRow("Security review", metrics.rating_letter(v.get("security_review_rating")),
                             metrics.rating_letter(v.get("new_security_review_rating")),
                             self.link("component_measures", metric="security_review_rating")))
        return out

    def _counts(self, overall: dict[str, Any], new: dict[str, Any], compat: Compat, mqr: bool) -> list[CountTable]:
        def table(title: str, facet: str, param: str, values: tuple[tuple[str, str], ...]) -> CountTable:
            all_counts, new_counts = _facet(overall, facet), _facet(new, facet)
            rows = [CountRow(key=val, label=label, overall=all_counts.get(val, 0), new=new_counts.get(val, 0),
                             overall_url=self.link("project/issues", resolved="false", **{param: val}),
                             new_url=self.link("project/issues", resolved="false", inNewCodePeriod="true",
                                               **{param: val}))
                    for val, label in values]
            return CountTable(title, rows)

        # Show the family the instance's UI shows: software qualities in MQR mode, types otherwise.
        if mqr and "impactSeverities" in compat.issue_facets:
            return [table("By software quality", "impactSoftwareQualities", "impactSoftwareQualities", QUALITIES),
                    table("By severity", "impactSeverities", "impactSeverities",
                          tuple((s, s.title()) for s in IMPACTS))]
        return [table("By type", "types", "types", TYPES),
                table("By severity", "severities", "severities", tuple((s, s.title()) for s in SEVERITIES))]

    def _paths(self, data: dict[str, Any]) -> dict[str, str]:
        return {c["key"]: c.get("path") or c.get("longName") or c["key"] for c in data.get("components", [])}

    def _findings(self, data: dict[str, Any], mqr: bool) -> list[Finding]:
        paths = self._paths(data)
        rules = {r["key"]: r.get("name", "") for r in data.get("rules", [])}
        out = []
        for issue in data.get("issues", []):
            impacts = issue.get("impacts") or []
            if mqr and impacts:
                worst = min(impacts, key=lambda i: IMPACTS.index(i.get("severity", "INFO"))
                            if i.get("severity") in IMPACTS else len(IMPACTS))
                level, category = worst.get("severity", ""), str(worst.get("softwareQuality", "")).title()
            else:
                level = issue.get("severity", "")
                category = TYPE_NAMES.get(issue.get("type", ""), issue.get("type", ""))
            line = issue.get("line") or (issue.get("textRange") or {}).get("startLine")
            out.append(Finding(key=issue["key"], level=level, category=category, message=issue.get("message", ""),
                               rule=issue.get("rule", ""), rule_name=rules.get(issue.get("rule", ""), ""),
                               file=paths.get(issue.get("component", ""), issue.get("component", "")), line=line,
                               url=self.link("project/issues", open=issue["key"])))
        return out

    def _hotspot_findings(self, data: dict[str, Any]) -> list[Finding]:
        paths = self._paths(data)
        out = [Finding(key=h["key"], level=h.get("vulnerabilityProbability", ""),
                       category=CATEGORIES.get(h.get("securityCategory", ""), h.get("securityCategory", "")),
                       message=h.get("message", ""), rule=h.get("ruleKey", ""), rule_name="",
                       file=paths.get(h.get("component", ""), h.get("component", "")), line=h.get("line"),
                       url=self.link("security_hotspots", hotspots=h["key"]))
               for h in data.get("hotspots", [])]
        return sorted(out, key=lambda f: PROBABILITY_ORDER.get(f.level, 3))


def collect(client: SonarClient, project_key: str, external_url: str, top: int = 10) -> SonarReport:
    return Collector(client, project_key, external_url, top).collect()
