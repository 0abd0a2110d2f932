"""decide_many with unusable bundles among usable ones (real OPA): on_invalid="raise" refuses the batch,
on_invalid="decision" puts a fail-closed denied decision (invalid-input) with the violations in the
unusable bundle's place, decides the others, and records receipts only for those."""

from __future__ import annotations

import copy

import pytest
from api_helpers import decision_schema, example_bundles, load, schema_errors

from router import InvalidBundle, Router
from router.api import InvalidInputDecision
from router.decision import result_problems
from router.receipts import verify

NAMES = ("agent-architecture-escalated", "personal-router-healthy-laptop", "agent-log-triage-local")
VALID = sorted((p for p in example_bundles() if p.stem in NAMES), key=lambda p: NAMES.index(p.stem))


def _broken(bundle: dict) -> dict:
    bad = copy.deepcopy(bundle)
    bad["request"]["standardLaneFailures"] = "two"
    return bad


@pytest.fixture(scope="module")
def bundles() -> list:
    assert len(VALID) == 3
    good = [load(p) for p in VALID]
    # usable, a schema violation, not an object at all, usable, a personal bundle with a broken field, usable
    personal_broken = copy.deepcopy(good[1])
    personal_broken["request"]["requestId"] = 7
    return [good[0], _broken(good[0]), [1, 2], good[1], personal_broken, good[2]]


def test_raise_refuses_the_whole_batch_naming_every_unusable_bundle(bundles):
    with Router(receipts=False) as router, pytest.raises(InvalidBundle) as caught:
        router.decide_many(bundles)
    files = sorted({v.file for v in caught.value.violations})
    assert files == ["bundles[1]", "bundles[2]", "bundles[4]"]
    assert any(v.path == "$.request.standardLaneFailures" for v in caught.value.violations)


def test_decision_puts_a_denied_decision_in_place_and_decides_the_others(bundles, tmp_path):
    with Router(receipts_dir=tmp_path) as router:
        decided = router.decide_many(bundles, on_invalid="decision", sources=[f"line {i + 1}" for i in range(len(bundles))])
        one_by_one = [router.decide(b) for b in (bundles[0], bundles[3], bundles[5])]
    assert len(decided) == len(bundles)
    invalid = [decided[i] for i in (1, 2, 4)]
    valid = [decided[i] for i in (0, 3, 5)]
    for d in invalid:
        assert isinstance(d, InvalidInputDecision)
        assert d.fault == d.reason == "invalid-input" and d.reasons == ("invalid-input",)
        assert not d.permitted and d.route is None and d.exit_code == 3
        assert d.receipt is None and d.violations
        assert result_problems(d.to_dict(), d.kind) == []  # a valid decision document of its kind
        assert schema_errors(d.to_dict(), decision_schema(d)) == []
        assert d.to_guardrail()["effects"]["agentMayContinue"] is False
    # the violations are the bundle's own, named by its source; the request's kind is kept
    assert [v.path for v in invalid[0].violations] == ["$.request.standardLaneFailures"]
    assert {v.file for v in invalid[0].violations} == {"line 2"}
    assert invalid[0].to_dict()["input"]["requestId"] == bundles[1]["request"]["requestId"]
    assert invalid[1].violations[0].file == "line 3" and invalid[1].violations[0].path == "$"
    assert invalid[2].is_personal and invalid[2].violations[0].path == "$.request.requestId"
    assert "line 2: $.request.standardLaneFailures" in invalid[0].detail
    # the usable ones are decided exactly as one at a time, each with its receipt
    for got, want in zip(valid, one_by_one, strict=True):
        assert got.fault is None and got.receipt is not None
        assert (got.decision_id, got.status, got.route, got.reason) == (want.decision_id, want.status, want.route, want.reason)
    report = verify(tmp_path / "receipts.jsonl")
    assert report.ok and report.receipts == 6  # three from the batch, three one by one: none for the unusable ones


def test_an_all_invalid_batch_asks_nothing_and_denies_each(bundles):
    with Router(receipts=False) as router:
        decided = router.decide_many([bundles[1], bundles[2]], on_invalid="decision")
    assert [d.reason for d in decided] == ["invalid-input", "invalid-input"]
    assert [d.source for d in decided] == ["bundles[0]", "bundles[1]"]


def test_an_unknown_on_invalid_is_refused(bundles):
    with Router(receipts=False) as router, pytest.raises(ValueError, match="on_invalid: expected one of raise, decision"):
        router.decide_many(bundles[:1], on_invalid="skip")  # type: ignore[arg-type]
