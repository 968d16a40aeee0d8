"""The shape check every client runs on a server's JSON before reading it."""

from __future__ import annotations

import pytest

from pipeyard_kit import shapes
from pipeyard_kit.sonarqube.answers import shape_of

TASK = shape_of("api/ce/task?id=AX1")


@pytest.mark.parametrize("answer, problem", [
    ({"task": {"status": "SUCCESS", "analysisId": "A1"}}, None),
    ({"task": {"status": "SUCCESS", "analysisId": "A1", "new": [1, 2]}}, None),  # members it does not read
    ([{"task": {}}], "the answer is a list, not an object"),
    ({}, "task is missing"),
    ({"task": None}, "task is missing"),
    ({"task": ["PENDING"]}, "task is a list, not an object"),
    ({"task": {"analysisId": "A1"}}, "task.status is missing"),
    ({"task": {"status": 3}}, "task.status is a number, not text"),
    ({"task": {"status": True}}, "task.status is true or false, not text"),
])
def test_a_ce_task_answer(answer, problem):
    assert shapes.problem(answer, TASK) == problem


def test_lists_are_checked_item_by_item_and_numbers_are_not_booleans():
    issues = shape_of("api/issues/search")
    assert shapes.problem({"issues": [{"key": "k1"}, {"message": "no key"}]}, issues) == "issues[1].key is missing"
    assert shapes.problem({"facets": [{"property": "types", "values": [{"val": "BUG", "count": True}]}]},
                          issues) == "facets[0].values[0].count is true or false, not a whole number or a number"
    assert shapes.problem({"paging": {"total": 12}, "issues": []}, issues) is None


def test_a_call_without_a_shape_takes_anything():
    assert shape_of("api/server/version") is shapes.ANY
    assert shapes.problem(["anything"], shapes.ANY) is None
