"""Which pipelines workflow:rules let GitLab create, evaluated here.

gitlab-ci-local 4.73 reads workflow:rules only for their variables and never skips a
pipeline, so the tests evaluate the rules themselves. This covers the expressions pipeyard's
workflow template uses, with GitLab's semantics (doc/ci/jobs/job_rules.md, "CI/CD variable
expressions"; lib/gitlab/ci/pipeline/expression/lexeme/*): `$VAR` is true when set and
non-empty, `==` and `!=` compare with a quoted string or another variable, `&&` binds tighter
than `||`, the first rule that matches decides, and no match means no pipeline.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r'\s*(\$\w+|"[^"]*"|\'[^\']*\'|==|!=|&&|\|\|)')


def _value(token: str, env: dict[str, str]) -> str | None:
    if token.startswith("$"):
        return env.get(token[1:]) or None
    return token[1:-1]


def _term(tokens: list[str], env: dict[str, str]) -> bool:
    left = _value(tokens[0], env)
    if len(tokens) == 1:
        return bool(left)
    op, right = tokens[1], _value(tokens[2], env)
    return (left == right) if op == "==" else (left != right)


def evaluate(expression: str, env: dict[str, str]) -> bool:
    tokens = [t for t in _TOKEN.findall(expression)]
    if "".join(tokens).replace(" ", "") != expression.replace(" ", ""):
        raise ValueError(f"expression outside what this evaluator reads: {expression}")
    ors: list[list[list[str]]] = [[[]]]
    for t in tokens:
        if t == "||":
            ors.append([[]])
        elif t == "&&":
            ors[-1].append([])
        else:
            ors[-1][-1].append(t)
    return any(all(_term(term, env) for term in ands) for ands in ors)


def creates_pipeline(rules: list[dict[str, Any]], env: dict[str, str]) -> bool:
    for rule in rules:
        if "if" not in rule or evaluate(rule["if"], env):
            return rule.get("when", "always") != "never"
    return False
