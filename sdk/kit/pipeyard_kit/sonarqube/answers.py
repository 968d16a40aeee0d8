"""The members pipeyard reads from each SonarQube Web API answer, with their types (pipeyard_kit.shapes).

Taken from the answers SonarQube documents for each call, the example JSON of its web services
(SonarSource/sonarqube server/sonar-webserver-webapi/src/main/resources/org/sonar/server/<ws>/ws/
*-example.json: ce task-example.json, components show-example.json, qualitygates
project_status-example.json (and the pre-10.0 one with `periods`), measures component-example.json,
issues search-example.json, hotspots search-example.json, settings values-example.json). Members
pipeyard does not read are not listed, so a server that adds some still fits.
"""

from __future__ import annotations

from pipeyard_kit.shapes import ANY, NUMBER, SCALAR

_PERIOD = {"mode": str, "date": str, "parameter": SCALAR, "index": int, "value": SCALAR}
_COMPONENTS = [{"key!": str, "path": str, "longName": str, "name": str}]
_PAGING = {"total": int, "pageIndex": int, "pageSize": int}

SHAPES: dict[str, object] = {
    "api/ce/task": {"task!": {"status!": str, "analysisId": str, "errorMessage": str, "componentKey": str}},
    "api/components/show": {"component!": {"key": str, "name": str, "version": str, "analysisDate": str}},
    "api/qualitygates/project_status": {"projectStatus!": {
        "status": str,
        "conditions": [{"status": str, "metricKey": str, "comparator": str, "errorThreshold": SCALAR,
                        "actualValue": SCALAR}],
        "period": _PERIOD, "periods": [_PERIOD]}},
    "api/measures/component": {
        "component!": {"measures": [{"metric!": str, "value": SCALAR, "period": _PERIOD, "periods": [_PERIOD]}]},
        "period": _PERIOD},
    "api/issues/search": {
        "issues": [{"key!": str, "impacts": [{"severity": str, "softwareQuality": str}], "severity": str,
                    "type": str, "line": int, "textRange": {"startLine": int}, "message": str, "rule": str,
                    "component": str}],
        "components": _COMPONENTS, "rules": [{"key!": str, "name": str}],
        "facets": [{"property": str, "values": [{"val!": str, "count": NUMBER}]}],
        "paging": _PAGING, "total": int},
    "api/hotspots/search": {
        "hotspots": [{"key!": str, "vulnerabilityProbability": str, "securityCategory": str, "message": str,
                      "ruleKey": str, "component": str, "line": int}],
        "components": _COMPONENTS, "paging": _PAGING},
    "api/settings/values": {"settings": [{"key": str, "value": ANY}]},
}


def shape_of(path: str) -> object:
    """The shape of the answer to `path` (its query left out); ANY for a call not listed."""
    return SHAPES.get(path.split("?", 1)[0].strip("/"), ANY)
