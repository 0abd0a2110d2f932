"""Comparing a decision with an example's expected outcome (examples/bundles/<case>.expected.json).

The comparison is the policy package model_router.fixtures (`problems`: one text per difference),
shared by `opa test` (fixtures_test.rego), the pytest fixture tests and `model-router demo`, so the
three cannot drift. This module only asks it.
"""

from __future__ import annotations

from typing import Any

PACKAGE = "model_router.fixtures"
RULE = "problems"
REST_PATH = PACKAGE.replace(".", "/") + "/" + RULE


def query_input(decision: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The input of data.model_router.fixtures.problems."""
    return {"decision": decision, "expected": expected}


def problems(engine: Any, decision: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """How DECISION differs from EXPECTED, asked of ENGINE (a router engine); a fault is a difference."""
    answer = engine.query(query_input(decision, expected), PACKAGE, RULE)
    if not answer.ok:
        return [f"the comparison could not be asked: {answer.fault}: {answer.detail}"]
    if not isinstance(answer.result, list) or not all(isinstance(p, str) for p in answer.result):
        return [f"data.{PACKAGE}.{RULE}: expected a list of texts"]
    return sorted(answer.result)
