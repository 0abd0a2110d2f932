"""Every personal fixture bundle (examples/bundles/personal-*.json) decided by the real OPA through the one
decision entrypoint, checked against its .expected.json, the decision schema and the invariants."""

from __future__ import annotations

from pathlib import Path

import pytest
from personal_server import ROOT, check_invariants, load, personal_opa, schema_errors  # noqa: F401

from router import expected as expected_mod

BUNDLES = sorted(p for p in (ROOT / "examples" / "bundles").glob("personal-*.json") if not p.name.endswith(".expected.json"))


def test_there_are_personal_fixtures_for_every_status():
    statuses = {load(p.with_name(p.stem + ".expected.json"))["status"] for p in BUNDLES}
    assert statuses == {"selected", "fallback", "denied"}


@pytest.mark.parametrize("bundle_path", BUNDLES, ids=lambda p: p.stem)
def test_personal_fixture(personal_opa, bundle_path: Path):  # noqa: F811
    bundle = load(bundle_path)
    expected = load(bundle_path.with_name(bundle_path.stem + ".expected.json"))
    assert expected["family"] == "personal"
    assert schema_errors("route-input-bundle.schema.json", bundle) == []
    decision = personal_opa.decide(bundle)
    assert decision is not None, f"{bundle_path.name}: data.model_router.decision is undefined"
    problems = personal_opa.result_at(expected_mod.REST_PATH, expected_mod.query_input(decision, expected))
    assert problems == [], f"{bundle_path.name}: not as expected: {problems}"
    assert decision["bindingRef"] == bundle["request"]["personal"]["bindingRef"]
    assert decision["input"]["requestId"] == bundle["request"]["requestId"]
    check_invariants(bundle, decision)
