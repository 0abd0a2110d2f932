"""A batch larger than one sub-batch is split, evaluated concurrently and reassembled in order."""

from __future__ import annotations

from api_helpers import example_bundles, load

from router import Router
from router import api as api_mod


def test_split_batches_give_the_same_decisions_in_the_same_order(monkeypatch):
    paths = example_bundles()[::9]  # both families, several outcomes
    bundles = [load(p) for p in paths]
    monkeypatch.setattr(api_mod, "BATCH_CHUNK", 2)
    with Router(receipts=False, timeout_ms=20000) as router:
        many = router.decide_many(bundles)
        one_by_one = [router.decide(b) for b in bundles]
    assert len(many) == len(bundles) > 2 * api_mod.BATCH_CHUNK
    for got, want, path in zip(many, one_by_one, paths):
        assert got.fault is None, (path.name, got.detail)
        assert got.decision_id == want.decision_id, path.name
        assert (got.status, got.route, got.reason) == (want.status, want.route, want.reason), path.name
        assert got.to_dict()["input"] == want.to_dict()["input"]
