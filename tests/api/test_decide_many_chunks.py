"""A batch larger than one sub-batch is split, evaluated concurrently and reassembled in order."""

from __future__ import annotations

from api_helpers import example_bundles, load

from router import Router, bundle_input
from router import api as api_mod


def _usable(bundle) -> bool:
    try:
        bundle_input.prepare(bundle)
    except bundle_input.InvalidBundle:
        return False
    return True


def test_split_batches_give_the_same_decisions_in_the_same_order(monkeypatch):
    paths = example_bundles()[::9]  # both families, several outcomes
    bundles = [load(p) for p in paths]
    monkeypatch.setattr(api_mod, "BATCH_CHUNK", 2)
    with Router(receipts=False, timeout_ms=20000) as router:
        many = router.decide_many(bundles)
        one_by_one = [router.decide(b) for b in bundles]
    assert len(many) == len(bundles) > 2 * api_mod.BATCH_CHUNK
    for got, want, path in zip(many, one_by_one, paths, strict=True):
        assert got.fault is None, (path.name, got.detail)
        assert got.decision_id == want.decision_id, path.name
        assert (got.status, got.route, got.reason) == (want.status, want.route, want.reason), path.name
        assert got.to_dict()["input"] == want.to_dict()["input"]


def test_a_batch_gets_one_decision_timeout_per_bundle():
    """With a decision timeout far below what a whole batch takes, a batch still completes: the batch
    query is allowed the single-decision timeout once per bundle (never one allowance for all)."""
    bundles = [b for b in (load(p) for p in example_bundles()) if _usable(b)][:40]
    with Router(receipts=False, timeout_ms=100) as router:
        single = router.engine.timeout_s
        many = router.decide_many(bundles)
    assert single == 0.1
    assert [d.fault for d in many] == [None] * len(bundles), {d.fault for d in many}
