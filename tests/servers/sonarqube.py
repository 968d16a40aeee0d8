"""A local SonarQube that follows the Web API of 9.9 LTS, 10.4 to 10.8, 2025.x and 2026.x.

It answers from SonarQube's own definitions: the api/webservices/list dumps of 9.9.8, 25.12 and 26.7
(GET api/webservices/list?include_internals=false, with each endpoint's changelog) and the sources of
SonarSource/sonarqube (server/sonar-webserver-webapi*). Each rule names its source:

- which parameters and facets each version knows (issues/search and hotspots/search changelogs:
  componentKeys -> components and projectKey -> project in 10.2, impact facets in 10.2, issueStatuses
  in 10.4, sinceLeakPeriod gone in 10.0) and the values of `s` (9.9: SEVERITY...ASSIGNEE; 10.x-25.12
  without ASSIGNEE; 26.7 adds TYPE_SEVERITY and QUALITY_SEVERITY), a bad one being a 400 "Value of
  parameter 's' (X) must be one of: [...]";
- which metrics exist (10.4 *_issues, 10.7 software_quality_*_rating, 10.8 software_quality_*_issues),
  the 404 listing unknown metric keys, the 400s for ps > 500 and p*ps > 10000, a 401 with an empty body
  for a wrong token, Bearer tokens from 10.0;
- the shape of project_status before and after 10.0 (the two example-json files);
- Standard and MQR modes from 10.8: api/settings/values?keys=sonar.multi-quality-mode.enabled (the
  setting SonarLint reads, sonarlint-core ServerInfoSynchronizer), MQR by default; issues carry
  `impacts` whose severity is not the legacy one (issues/search example, 10.2+), so a sort by legacy
  severity and one by impact severity differ;
- api/hotspots/search deprecated in 2026.4 but still answering (26.7 list: deprecatedSince 2026.4);
- the scanner bootstrap of 10.6 and later (server/sonar-webserver-webapi-v2 .../analysis/controller/
  {VersionController,ScannerEngineController,JresController}.java): GET api/v2/analysis/version as
  text/plain, GET api/v2/analysis/engine as JSON metadata {filename, sha256} or, with Accept:
  application/octet-stream, the engine jar; GET api/v2/analysis/jres?os=&arch= as [{id, filename,
  sha256, javaPath, os, arch}] and /jres/{id} as the archive. Before 10.6 they are 404 (pysonar then
  asks api/server/version and stops: MIN_SUPPORTED_SQ_VERSION). Engine and JREs need a token, as a
  server with sonar.forceAuthentication (the default) does.

It is stricter than a real server in one way: a parameter the version does not know is a 400 (a real
server ignores it and silently widens the search), so a wrong parameter name fails the test instead
of hiding.

Issues are generated lazily, so a project with 50,000 issues costs nothing, and every request is
logged (with its Accept header and auth scheme) so tests can count and inspect API calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fixtures import free_port
from tests.servers import loopback

VERSIONS = {
    "9.9": "9.9.8.100196",
    "10.4": "10.4.1.88267",
    "10.5": "10.5.1.90531",
    "10.6": "10.6.0.92116",
    "10.7": "10.7.0.96327",
    "10.8": "10.8.1.101195",
    "2025.1": "2025.1.0.102418",
    "2026.4": "2026.4.0.120000",
}
ENGINE_FILE = "sonar-scanner-engine-shaded-11.14.0.2253-all.jar"
MODE_SETTING = "sonar.multi-quality-mode.enabled"
TOKEN = "squ_goodtoken0123456789"
PROJECT = "my_project"
TASK_ID = "AYhSC2-LY0CHkWJxvNA9"
ANALYSIS_ID = "AYhSC3WDE6ILQDIMAPIp"
SCRIPT_MESSAGE = 'Remove this call to <script>alert("pwned")</script> before release'

SEVERITIES = ("BLOCKER", "CRITICAL", "MAJOR", "MINOR", "INFO")
TYPES = ("BUG", "VULNERABILITY", "CODE_SMELL")
QUALITIES = {"BUG": "RELIABILITY", "VULNERABILITY": "SECURITY", "CODE_SMELL": "MAINTAINABILITY"}
IMPACTS = ("BLOCKER", "HIGH", "MEDIUM", "LOW", "INFO")
# api/issues/search `s`, per the webservices dumps.
SORTS_9_9 = {"STATUS", "UPDATE_DATE", "CLOSE_DATE", "HOTSPOTS", "FILE_LINE", "SEVERITY", "CREATION_DATE", "ASSIGNEE"}
SORTS_10 = SORTS_9_9 - {"ASSIGNEE"}
SORTS_2026 = SORTS_10 | {"TYPE_SEVERITY", "QUALITY_SEVERITY"}

CLASSIC_METRICS = {
    "alert_status": "ERROR", "bugs": "3", "vulnerabilities": "0", "code_smells": "142",
    "security_hotspots": "4", "violations": "145", "coverage": "71.4", "duplicated_lines_density": "2.3",
    "ncloc": "18234", "sqale_index": "2710", "security_hotspots_reviewed": "50.0",
    "reliability_rating": "3.0", "security_rating": "1.0", "sqale_rating": "1.0", "security_review_rating": "5.0",
    "new_bugs": "1", "new_vulnerabilities": "0", "new_code_smells": "9", "new_security_hotspots": "1",
    "new_violations": "10", "new_coverage": "64.0", "new_duplicated_lines_density": "0.0", "new_lines": "812",
    "new_technical_debt": "95", "new_security_hotspots_reviewed": "0.0", "new_reliability_rating": "3.0",
    "new_security_rating": "1.0", "new_maintainability_rating": "1.0", "new_security_review_rating": "5.0",
    # Gate metrics that a report does not ask for but a server knows.
    "new_blocker_violations": "2", "new_critical_violations": "1", "open_issues": "145",
}
METRICS_10_4 = {"maintainability_issues": "142", "reliability_issues": "3", "security_issues": "0",
                "accepted_issues": "0"}
METRICS_10_7 = {
    "software_quality_reliability_rating": "3.0", "software_quality_security_rating": "2.0",
    "software_quality_maintainability_rating": "1.0", "new_software_quality_reliability_rating": "3.0",
    "new_software_quality_security_rating": "1.0", "new_software_quality_maintainability_rating": "1.0",
}
METRICS_10_8 = {
    f"{p}software_quality_{x}_issues": v
    for p, scale in (("", 10), ("new_", 1))
    for x, v0 in (("reliability", 3), ("security", 1), ("maintainability", 14), ("blocker", 1), ("high", 2),
                  ("medium", 5), ("low", 9), ("info", 1))
    for v in [str(v0 * scale)]
}

FACETS_9_9 = {"projects", "files", "assigned_to_me", "severities", "statuses", "resolutions", "rules", "assignees",
              "author", "directories", "scopes", "languages", "tags", "types", "pciDss-3.2", "pciDss-4.0",
              "owaspAsvs-4.0", "owaspTop10", "owaspTop10-2021", "sansTop25", "cwe", "createdAt",
              "sonarsourceSecurity"}
FACETS_10_2 = FACETS_9_9 | {"codeVariants", "cleanCodeAttributeCategories", "impactSoftwareQualities",
                            "impactSeverities"}
FACETS_10_4 = FACETS_10_2 | {"issueStatuses"}

ISSUE_PARAMS_COMMON = {"additionalFields", "asc", "assigned", "assignees", "author", "branch", "createdAfter",
                       "createdAt", "createdBefore", "createdInLast", "cwe", "directories", "facets", "files",
                       "inNewCodePeriod", "issues", "languages", "onComponentOnly", "p", "ps", "projects",
                       "pullRequest", "resolutions", "resolved", "rules", "s", "scopes", "severities", "statuses",
                       "tags", "timeZone", "types"}


def vt(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


PUBLIC = {"api/server/version", "api/system/status", "api/v2/analysis/version"}


@dataclass(frozen=True)
class Raw:
    data: bytes
    ctype: str


class ApiError(Exception):
    def __init__(self, code: int, msg: str | None):
        self.code, self.msg = code, msg


@dataclass
class SonarState:
    version: str = VERSIONS["10.7"]
    token: str = TOKEN
    project: str = PROJECT
    project_name: str = "My Project"
    issues_total: int = 145
    issues_new: int = 10
    hotspots_new: int = 3
    gate_status: str = "ERROR"
    conditions: list[dict[str, Any]] = field(default_factory=lambda: [
        {"status": "ERROR", "metricKey": "new_coverage", "comparator": "LT", "errorThreshold": "80",
         "actualValue": "64.0"},
        {"status": "ERROR", "metricKey": "new_reliability_rating", "comparator": "GT", "errorThreshold": "1",
         "actualValue": "3"},
        {"status": "OK", "metricKey": "new_duplicated_lines_density", "comparator": "GT", "errorThreshold": "3",
         "actualValue": "0.0"},
        {"status": "OK", "metricKey": "new_security_hotspots_reviewed", "comparator": "LT", "errorThreshold": "100",
         "actualValue": "100.0"},
    ])
    absent_metrics: set[str] = field(default_factory=set)      # no data: omitted from the answer
    unknown_metrics: set[str] = field(default_factory=set)     # e.g. a plugin missing: 404 if asked
    task_statuses: list[str] = field(default_factory=lambda: ["PENDING", "IN_PROGRESS", "SUCCESS"])
    task_error: str = "Unsupported language: cobol"
    fail: dict[str, tuple[int, str | None]] = field(default_factory=dict)   # path -> (code, msg)
    delay: dict[str, float] = field(default_factory=dict)                   # path -> seconds
    message_extra: str = ""                                                 # appended to every issue message
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # (path, Accept header, auth scheme) of every request, for the scanner bootstrap checks.
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    deprecated_used: list[str] = field(default_factory=list)
    mode: str = "MQR"  # 10.8 and later: MQR (the default) or STANDARD
    engine: bytes = b"stand-in scanner engine"
    jres: list[dict[str, Any]] = field(default_factory=lambda: [
        {"id": "jre-21-linux-x64", "filename": "OpenJDK21U-jre_x64_linux_hotspot_21.0.5_11.tar.gz",
         "sha256": "0" * 64, "javaPath": "jdk-21.0.5+11-jre/bin/java", "os": "linux", "arch": "x64"}])

    @property
    def v(self) -> tuple[int, ...]:
        return vt(self.version)

    def calls(self, path: str | None = None) -> int:
        return sum(1 for p, _ in self.requests if path is None or p == path)

    @property
    def mqr(self) -> bool:
        return self.v >= (10, 8) and self.mode == "MQR"


class SonarStub:
    def __init__(self, state: SonarState | None = None):
        self.state = state or SonarState()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Head and body go out in two writes; with Nagle the client's delayed ACK stalls each answer.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stub.handle(self)

        self.handler = Handler
        self.server: ThreadingHTTPServer | None = None

    def __enter__(self) -> Self:
        self.server = loopback.serve(self.handler, self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        loopback.stop(self.server)

    # -- transport ---------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path.lstrip("/")
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        st = self.state
        st.requests.append((path, params))
        auth = h.headers.get("Authorization", "") or ""
        st.seen.append((path, h.headers.get("Accept", "") or "", auth.split(" ", 1)[0]))
        if path in st.delay:
            self.release.wait(st.delay[path])
        try:
            if path in st.fail:
                raise ApiError(*st.fail[path])
            if path not in PUBLIC:
                self.authenticate(auth)
            body = self.route(path, params, h.headers.get("Accept", "") or "")
        except ApiError as err:
            payload = b"" if err.msg is None else json.dumps({"errors": [{"msg": err.msg}]}).encode()
            return self.send(h, err.code, payload, "application/json")
        if isinstance(body, Raw):
            return self.send(h, 200, body.data, body.ctype)
        if isinstance(body, str):
            return self.send(h, 200, body.encode(), "text/plain")
        return self.send(h, 200, json.dumps(body).encode(), "application/json")

    @staticmethod
    def send(h: BaseHTTPRequestHandler, code: int, payload: bytes, ctype: str) -> None:
        try:
            h.send_response(code)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def authenticate(self, header: str) -> None:
        token = None
        if header.startswith("Basic "):
            user, _, _pw = base64.b64decode(header[6:]).decode().partition(":")
            token = user
        elif header.startswith("Bearer ") and self.state.v >= (10, 0):
            token = header[7:]
        if token is None:
            raise ApiError(401, "Authentication is required")
        if token != self.state.token:
            raise ApiError(401, None)  # a wrong token: 401 with an empty body

    # -- the Web API -------------------------------------------------------

    def route(self, path: str, p: dict[str, str], accept: str = "") -> Any:
        if path.startswith("api/v2/analysis/"):
            return self.bootstrap(path[len("api/v2/analysis/"):], p, accept)
        routes = {
            "api/server/version": lambda: self.state.version,
            "api/system/status": lambda: {"id": "x", "version": self.state.version, "status": "UP"},
            "api/ce/task": self.ce_task,
            "api/qualitygates/project_status": self.project_status,
            "api/measures/component": self.measures,
            "api/issues/search": self.issues,
            "api/hotspots/search": self.hotspots,
            "api/components/show": self.component,
            "api/settings/values": self.settings_values,
        }
        if path not in routes:
            raise ApiError(404, f"Unknown url : /{path}")
        fn = routes[path]
        return fn() if path in ("api/server/version", "api/system/status") else fn(p)

    # -- the scanner bootstrap (10.6+) -------------------------------------

    def bootstrap(self, what: str, p: dict[str, str], accept: str) -> Any:
        st = self.state
        if st.v < (10, 6):
            raise ApiError(404, None)
        binary = "application/octet-stream" in accept
        if what == "version":
            return st.version
        if what == "engine":
            if binary:
                return Raw(st.engine, "application/octet-stream")
            return {"filename": ENGINE_FILE, "sha256": hashlib.sha256(st.engine).hexdigest()}
        if what == "jres":
            wanted = [j for j in st.jres if (not p.get("os") or j["os"] == p["os"].lower())
                      and (not p.get("arch") or j["arch"] == p["arch"].lower())]
            return Raw(json.dumps(wanted).encode(), "application/json")
        if what.startswith("jres/"):
            jre = next((j for j in st.jres if j["id"] == what[5:]), None)
            if jre is None:
                raise ApiError(404, f"Unable to find JRE with id '{what[5:]}'")
            return Raw(b"stand-in jre", "application/octet-stream") if binary else jre
        raise ApiError(404, None)

    def settings_values(self, p: dict[str, str]) -> dict[str, Any]:
        """api/settings/values: values of the keys the server defines; an unknown key is left out."""
        keys = [k for k in p.get("keys", "").split(",") if k]
        out = []
        if MODE_SETTING in keys and self.state.v >= (10, 8):
            out.append({"key": MODE_SETTING, "value": "true" if self.state.mode == "MQR" else "false",
                        "inherited": self.state.mode == "MQR"})
        return {"settings": out}

    def ce_task(self, p: dict[str, str]) -> dict[str, Any]:
        if p.get("id") != TASK_ID:
            raise ApiError(404, f"No activity found for task '{p.get('id')}'")
        st = self.state
        status = st.task_statuses.pop(0) if len(st.task_statuses) > 1 else st.task_statuses[0]
        task = {"id": TASK_ID, "type": "REPORT", "componentKey": st.project, "componentName": st.project_name,
                "componentQualifier": "TRK", "status": status, "submittedAt": "2025-06-09T10:34:21+0200"}
        if status in ("SUCCESS", "FAILED"):
            task.update({"analysisId": ANALYSIS_ID, "executedAt": "2025-06-09T10:34:25+0200",
                         "executionTimeMs": 2840})
        if status == "FAILED":
            task["errorMessage"] = st.task_error
        return {"task": task}

    def project_status(self, p: dict[str, str]) -> dict[str, Any]:
        st = self.state
        if "analysisId" in p:
            if p["analysisId"] != ANALYSIS_ID:
                raise ApiError(404, f"Analysis with id '{p['analysisId']}' is not found")
        elif p.get("projectKey") != st.project:
            raise ApiError(404, f"Component key '{p.get('projectKey')}' not found" if "projectKey" in p
                           else "Either 'analysisId', 'projectId' or 'projectKey' must be provided")
        period = {"mode": "PREVIOUS_VERSION", "date": "2025-06-02T09:12:44+0000", "parameter": "1.4.0"}
        conditions = [dict(c) for c in st.conditions]
        status: dict[str, Any] = {"status": st.gate_status, "ignoredConditions": False, "conditions": conditions}
        if st.v < (10, 0):
            for c in conditions:
                c["periodIndex"] = 1
            status["periods"] = [{"index": 1, **period}]
        if st.v >= (9, 9):
            status["caycStatus"] = "non-compliant"
            status["period"] = period
        return {"projectStatus": status}

    def known_metrics(self) -> dict[str, str]:
        v = self.state.v
        known = dict(CLASSIC_METRICS)
        if v >= (10, 4):
            known.update(METRICS_10_4)
        if v >= (10, 7):
            known.update(METRICS_10_7)
        if v >= (10, 8):
            known.update(METRICS_10_8)
        known["alert_status"] = self.state.gate_status
        # Keep measures and issue searches telling the same story.
        known.update(violations=str(self.state.issues_total), new_violations=str(self.state.issues_new),
                     new_security_hotspots=str(self.state.hotspots_new))
        return {k: val for k, val in known.items() if k not in self.state.unknown_metrics}

    def measures(self, p: dict[str, str]) -> dict[str, Any]:
        st = self.state
        if "component" not in p or "metricKeys" not in p:
            raise ApiError(400, "The 'component' parameter is missing")
        if p["component"] != st.project:
            raise ApiError(404, f"Component key '{p['component']}' not found")
        fields = [f for f in p.get("additionalFields", "").split(",") if f]
        allowed = {"metrics", "period", "periods"} if st.v < (10, 0) else {"metrics", "period"}
        bad = [f for f in fields if f not in allowed]
        if bad:
            raise ApiError(400, f"Value of parameter 'additionalFields' ({bad[0]}) must be one of: {sorted(allowed)}")
        asked = [k for k in p["metricKeys"].split(",") if k]
        known = self.known_metrics()
        unknown = [k for k in asked if k not in known]
        if unknown:
            raise ApiError(404, f"The following metric keys are not found: {', '.join(unknown)}")
        measures = []
        for key in asked:
            if key in st.absent_metrics:
                continue
            value = known[key]
            if key.startswith("new_"):
                period = {"index": 1, "value": value, "bestValue": value in ("0", "0.0", "1.0")}
                m: dict[str, Any] = {"metric": key, "period": period}
                if st.v < (10, 0):
                    m["periods"] = [period]
            else:
                m = {"metric": key, "value": value}
            measures.append(m)
        out: dict[str, Any] = {"component": {"key": st.project, "name": st.project_name, "qualifier": "TRK",
                                             "measures": measures}}
        if "period" in fields:
            out["period"] = {"mode": "PREVIOUS_VERSION", "date": "2025-06-02T09:12:44+0000", "parameter": "1.4.0"}
        return out

    def component(self, p: dict[str, str]) -> dict[str, Any]:
        st = self.state
        if p.get("component") != st.project:
            raise ApiError(404, f"Component key '{p.get('component')}' not found")
        return {"component": {"key": st.project, "name": st.project_name, "qualifier": "TRK",
                              "analysisDate": "2025-06-09T10:34:25+0200", "version": "1.5.0-SNAPSHOT",
                              "visibility": "private"}, "ancestors": []}

    # -- issues ------------------------------------------------------------

    def issue_tuple(self, i: int) -> tuple[str, str, str, bool]:
        """(legacy severity, type, impact severity, new). Issue 0 (the one whose message holds <script>) is a
        blocker both ways, so every top-N list shows it; for the others the impact severity follows its own
        rule, as on a real server where a MINOR code smell can have a HIGH maintainability impact."""
        severity = SEVERITIES[(i * 7) % 23 % 5] if i % 3 else SEVERITIES[0 if i == 0 else 2]
        impact = "BLOCKER" if i == 0 else IMPACTS[(i * 3 + 1) % 5]
        return severity, TYPES[(i * 5) % 7 % 3], impact, i < self.state.issues_new

    def issues(self, p: dict[str, str]) -> dict[str, Any]:
        st = self.state
        v = st.v
        known = set(ISSUE_PARAMS_COMMON)
        known |= {"components"} if v >= (10, 2) else {"componentKeys", "sinceLeakPeriod"}
        if v >= (10, 2):
            known |= {"impactSeverities", "impactSoftwareQualities", "cleanCodeAttributeCategories"}
        if v >= (10, 4):
            known |= {"issueStatuses"}
        if v >= (10, 2) and "componentKeys" in p:
            st.deprecated_used.append("componentKeys")  # still accepted as the deprecated key
            known.add("componentKeys")
        unknown = sorted(set(p) - known)
        if unknown:
            raise ApiError(400, f"stub: SonarQube {st.version} has no parameter {unknown[0]!r}")
        component = p.get("components") or p.get("componentKeys")
        if component != st.project:
            raise ApiError(400, "stub: a report must filter on its project")
        ps, page = int(p.get("ps", "100")), int(p.get("p", "1"))
        if ps > 500:
            raise ApiError(400, f"'ps' value ({ps}) must be less than 500")
        if ps * page > 10000:
            raise ApiError(400, f"Can return only the first 10000 results. {ps * page}th result asked.")
        sorts = SORTS_2026 if v >= (2026, 1) else SORTS_10 if v >= (10, 0) else SORTS_9_9
        if p.get("s") and p["s"] not in sorts:
            raise ApiError(400, f"Value of parameter 's' ({p['s']}) must be one of: [{', '.join(sorted(sorts))}]")
        facets_known = FACETS_10_4 if v >= (10, 4) else FACETS_10_2 if v >= (10, 2) else FACETS_9_9
        facets = [f for f in p.get("facets", "").split(",") if f]
        for f in facets:
            if f not in facets_known:
                raise ApiError(400, f"Value of parameter 'facets' ({f}) must be one of: [{', '.join(sorted(facets_known))}]")
        only_new = p.get("inNewCodePeriod") in ("true", "yes")
        count = st.issues_new if only_new else st.issues_total
        rows = [(i, *self.issue_tuple(i)) for i in range(count)]
        wanted_impacts = [x for x in p.get("impactSeverities", "").split(",") if x]
        if wanted_impacts:
            rows = [r for r in rows if r[3] in wanted_impacts]
        count = len(rows)
        # Descending is asc=false; SEVERITY orders the legacy severity, QUALITY_SEVERITY the impact one.
        descending = p.get("asc") in ("false", "no")
        if p.get("s") == "SEVERITY":
            rows.sort(key=lambda r: SEVERITIES.index(r[1]), reverse=not descending)
        elif p.get("s") == "QUALITY_SEVERITY":
            rows.sort(key=lambda r: IMPACTS.index(r[3]), reverse=not descending)
        page_rows = rows[(page - 1) * ps: page * ps]
        issues = [self.issue(i, sev, typ, impact) for i, sev, typ, impact, _new in page_rows]
        out: dict[str, Any] = {"paging": {"pageIndex": page, "pageSize": ps, "total": count},
                               "issues": issues,
                               "components": self.components_of(issues)}
        if v < (10, 0):
            out.update({"total": count, "p": page, "ps": ps})
        if "rules" in p.get("additionalFields", ""):
            out["rules"] = [{"key": k, "name": f"Rule {k} should be respected", "status": "READY", "lang": "java",
                             "langName": "Java"} for k in sorted({i["rule"] for i in issues})]
        if facets:
            out["facets"] = [self.facet(f, rows) for f in facets]
        return out

    def facet(self, name: str, rows: list[tuple[int, str, str, str, bool]]) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for _i, sev, typ, impact, _new in rows:
            key = {"severities": sev, "types": typ, "impactSeverities": impact,
                   "impactSoftwareQualities": QUALITIES[typ]}.get(name, "OTHER")
            counts[key] = counts.get(key, 0) + 1
        values = [{"val": k, "count": c} for k, c in sorted(counts.items(), key=lambda kv: -kv[1])]
        return {"property": name, "values": values}

    def issue(self, i: int, severity: str, typ: str, impact: str) -> dict[str, Any]:
        st = self.state
        path = f"src/main/java/com/acme/billing/Invoice{i % 40}.java"
        message = SCRIPT_MESSAGE if i == 0 else f"Refactor this method to reduce its complexity from {20 + i % 9} to 15."
        issue: dict[str, Any] = {
            "key": f"AY-issue-{i:06d}", "rule": f"java:S{1000 + i % 37}", "severity": severity, "type": typ,
            "component": f"{st.project}:{path}", "project": st.project, "line": 10 + i % 300,
            "textRange": {"startLine": 10 + i % 300, "endLine": 10 + i % 300, "startOffset": 4, "endOffset": 20},
            "message": message + st.message_extra, "status": "OPEN", "effort": "15min", "author": "dev@example.com",
            "creationDate": "2025-06-08T11:02:03+0200", "tags": [],
        }
        if st.v >= (10, 2):
            issue["impacts"] = [{"softwareQuality": QUALITIES[typ], "severity": impact}]
            issue["cleanCodeAttribute"] = "CLEAR"
            issue["cleanCodeAttributeCategory"] = "INTENTIONAL"
        if st.v >= (10, 4):
            issue["issueStatus"] = "OPEN"
        return issue

    def components_of(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen = {}
        for item in items:
            key = item["component"]
            path = key.split(":", 1)[1]
            seen[key] = {"key": key, "enabled": True, "qualifier": "FIL", "name": path.rsplit("/", 1)[-1],
                         "longName": path, "path": path}
        return [*seen.values(), {"key": self.state.project, "enabled": True, "qualifier": "TRK",
                                 "name": self.state.project_name, "longName": self.state.project_name}]

    # -- hotspots ----------------------------------------------------------

    def hotspots(self, p: dict[str, str]) -> dict[str, Any]:
        st = self.state
        if st.v >= (2026, 4):
            st.deprecated_used.append("api/hotspots/search")  # deprecated in 2026.4, still answering
        name = "project" if st.v >= (10, 2) else "projectKey"
        if st.v >= (10, 2) and "projectKey" in p:
            st.deprecated_used.append("projectKey")
            p = {**p, "project": p["projectKey"]}
        elif name not in p:
            raise ApiError(400, f"stub: SonarQube {st.version} expects '{name}'")
        if p[name] != st.project:
            raise ApiError(404, f"Project '{p[name]}' not found")
        ps, page = int(p.get("ps", "100")), int(p.get("p", "1"))
        count = st.hotspots_new
        probabilities = ("HIGH", "MEDIUM", "LOW")
        hotspots = [{
            "key": f"AY-hotspot-{i:04d}", "component": f"{st.project}:src/main/java/com/acme/web/Login{i}.java",
            "project": st.project, "securityCategory": "weak-cryptography" if i % 2 else "sql-injection",
            "vulnerabilityProbability": probabilities[i % 3], "status": "TO_REVIEW", "line": 40 + i,
            "message": f"Make sure that hashing data is safe here ({i}).", "messageFormattings": [],
            "author": "dev@example.com", "creationDate": "2025-06-08T11:02:03+0200", "flows": [],
            "ruleKey": f"java:S{4790 + i}",
        } for i in range(count)][(page - 1) * ps: page * ps]
        return {"paging": {"pageIndex": page, "pageSize": ps, "total": count}, "hotspots": hotspots,
                "components": self.components_of(hotspots)}


@pytest.fixture
def sonar() -> Iterator[Callable[..., SonarStub]]:
    """sonar(version="9.9", **state) starts a stub; all stop at teardown."""
    started: list[SonarStub] = []

    def start(version: str | None = None, **state) -> SonarStub:
        if version:
            state["version"] = VERSIONS.get(version, version)
        stub = SonarStub(SonarState(**state)).__enter__()
        started.append(stub)
        return stub

    yield start
    for stub in started:
        stub.__exit__(None, None, None)
