"""OPA faults seen from the router: slow (latency added by a loopback proxy), 500s, garbage,
answers cut off mid-stream, connections reset or left hanging, OPA killed during an evaluation, OPA
restarted with a different policy revision. Every decision is either correct or a fail-closed
denial with the fault's reason code and a receipt; the router recovers without being restarted."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest
from reliability_support import (
    SLOW_MODULE,
    FaultProxy,
    personal_bundle,
    pid_alive,
    upstream_of,
    variant_bundle,
    wait_until,
)

from router import Router
from router import engine as eng
from router.receipts import verify

HANG_BOUND_S = 10.0  # far above every timeout used here: a decision slower than this is a hang


def assert_fail_closed(decision, reasons):
    assert decision.fault in reasons, (decision.fault, decision.detail)
    assert decision.status == "denied" and decision.reason == decision.fault
    assert decision.route is None and not decision.permitted and decision.exit_code == 3
    assert decision.receipt is not None
    assert decision.receipt["selected"]["status"] == "denied"
    assert decision.receipt["selected"]["reason"] == decision.fault


def same_outcome(decision, reference) -> bool:
    return (decision.status, decision.route, decision.reasons) == (reference.status, reference.route, reference.reasons)


@pytest.fixture(scope="module")
def reference(managed):
    """The correct decision for personal_bundle(), from the managed OPA directly."""
    with Router(opa_url=managed.url, opa_token=managed.token, receipts=False, timeout_ms=10000) as router:
        decision = router.decide(personal_bundle())
    assert decision.fault is None, decision.detail
    return decision


@pytest.fixture()
def proxied(managed, tmp_path):
    """A router that reaches the managed OPA through a fault proxy (with the OPA's token)."""
    with FaultProxy(upstream_of(managed)) as proxy, \
            Router(opa_url=proxy.url, opa_token=managed.token, receipts_dir=tmp_path, timeout_ms=400) as router:
        yield proxy, router


# -- a slow OPA ---------------------------------------------------------------------------------


def test_slow_opa_is_engine_timeout_then_recovers(proxied, reference, tmp_path):
    proxy, router = proxied
    proxy.set("delay", 1.5)
    started = time.monotonic()
    slow = router.decide(personal_bundle())
    assert time.monotonic() - started < HANG_BOUND_S
    assert_fail_closed(slow, {eng.ENGINE_TIMEOUT})
    assert "400 ms" in slow.detail
    proxy.set("delay", 0.05)  # latency below the timeout: a correct answer
    late = router.decide(personal_bundle())
    assert late.fault is None, late.detail
    assert same_outcome(late, reference) and late.decision_id == reference.decision_id
    proxy.set("pass")
    assert same_outcome(router.decide(personal_bundle()), reference)
    report = verify(tmp_path / "receipts.jsonl")
    assert report.ok and report.receipts == 3


def test_slow_opa_under_concurrent_decisions(proxied, reference, tmp_path):
    proxy, router = proxied
    proxy.set("delay", 0.7)
    outcomes, errors = [], []

    def work(k):
        try:
            for _i in range(3):
                outcomes.append(router.decide(personal_bundle()))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    proxy.set("pass")  # some in flight when the latency goes away
    for t in threads:
        t.join(60)
    assert errors == [] and len(outcomes) == 12
    for d in outcomes:
        if d.fault is None:
            assert same_outcome(d, reference)
        else:
            assert_fail_closed(d, {eng.ENGINE_TIMEOUT})
    assert any(d.fault == eng.ENGINE_TIMEOUT for d in outcomes)
    report = verify(tmp_path / "receipts.jsonl")
    assert report.ok and report.receipts == 12


# -- broken answers -----------------------------------------------------------------------------

BROKEN = [
    ("http500", {eng.ENGINE_ERROR}, "500"),
    ("garbage", {eng.ENGINE_ERROR}, "unreadable"),
    ("not-object", {eng.ENGINE_ERROR}, "not a JSON object"),
    # a server dying mid-answer: the body is shorter than its Content-Length
    ("truncate", {eng.ENGINE_ERROR, eng.ENGINE_UNAVAILABLE}, ""),
    ("reset", {eng.ENGINE_UNAVAILABLE}, "cannot reach"),
    ("hang", {eng.ENGINE_TIMEOUT}, "no answer within"),
]


@pytest.mark.parametrize(("mode", "reasons", "detail"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_answers_fail_closed_and_the_router_recovers(proxied, reference, tmp_path, mode, reasons, detail):
    proxy, router = proxied
    proxy.set(mode)
    started = time.monotonic()
    one = router.decide(personal_bundle())
    many = router.decide_many([personal_bundle("rel-batch-1"), personal_bundle("rel-batch-2")])
    assert time.monotonic() - started < HANG_BOUND_S
    for d in (one, *many):
        assert_fail_closed(d, reasons)
        assert detail in d.detail
    proxy.set("pass")
    again = router.decide(personal_bundle())
    assert again.fault is None, again.detail
    assert same_outcome(again, reference) and again.decision_id == reference.decision_id
    report = verify(tmp_path / "receipts.jsonl")
    assert report.ok and report.receipts == 4


# -- OPA killed during an evaluation --------------------------------------------------------------


def test_opa_killed_while_evaluating_answers_correctly_or_fails_closed(tmp_path):
    bundle = tmp_path / "slow.tar.gz"
    variant_bundle(bundle, extra_files=(("model_router/zz_slow.rego", SLOW_MODULE.encode()),))
    with Router(bundle=bundle, receipts_dir=tmp_path / "receipts", timeout_ms=60000) as router:
        reference = router.decide(personal_bundle())
        assert reference.fault is None, reference.detail
        engine = router.engine
        box = []
        slow = threading.Thread(target=lambda: box.append(engine.query({}, "model_router.slow", "result")))
        decided = []
        deciders = [threading.Thread(target=lambda: decided.append(router.decide(personal_bundle()))) for _ in range(3)]
        old_pid = engine.pid
        slow.start()
        time.sleep(0.2)  # the slow query is being evaluated now (it takes seconds)
        for t in deciders:
            t.start()
        os.killpg(old_pid, signal.SIGKILL)
        slow.join(60)
        for t in deciders:
            t.join(60)
        answer = box[0]
        # the in-flight query: a fail-closed fault, or (retried once on the restarted OPA) the right answer
        assert answer.fault in (None, eng.ENGINE_UNAVAILABLE), answer.detail
        if answer.fault is None:
            assert answer.result == 285714
        for d in decided:
            if d.fault is None:
                assert same_outcome(d, reference)
            else:
                assert_fail_closed(d, {eng.ENGINE_UNAVAILABLE})
        later = router.decide(personal_bundle())
        assert later.fault is None and same_outcome(later, reference), (later.detail, engine.start_error)
        assert engine.pid != old_pid and engine.alive
    report = verify(tmp_path / "receipts" / "receipts.jsonl")
    assert report.ok and report.receipts == 5


# -- OPA restarted with a different policy revision ----------------------------------------------


def _no_memory(data):
    for profile in data["localProfiles"].values():
        profile["memoryRequiredBytes"] = 10**15


def test_opa_restarted_with_another_revision_decisions_name_the_policy_that_decided(tmp_path):
    served = tmp_path / "served.tar.gz"
    rev_a = variant_bundle(tmp_path / "a.tar.gz")
    rev_b = variant_bundle(tmp_path / "b.tar.gz", data_patch=_no_memory)
    assert rev_a != rev_b
    shutil.copyfile(tmp_path / "a.tar.gz", served)
    with Router(bundle=served, receipts_dir=tmp_path / "receipts", timeout_ms=5000) as router:
        ref_a = router.decide(personal_bundle())
        assert ref_a.fault is None and ref_a.policy_revision == rev_a and router.engine.bundle_revision == rev_a
        outcomes, errors = [], []
        stop = threading.Event()

        def work():
            while not stop.is_set():
                try:
                    outcomes.append(router.decide(personal_bundle()))
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        os.replace(tmp_path / "b.tar.gz", served)  # a new policy revision on disk ...
        old_pid = router.engine.pid
        os.killpg(old_pid, signal.SIGKILL)  # ... served by the restarted OPA
        assert wait_until(lambda: router.engine.pid != old_pid and router.engine.alive, 20)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(60)
        ref_b = router.decide(personal_bundle())
    assert errors == []
    assert ref_b.fault is None and ref_b.policy_revision == rev_b
    assert not same_outcome(ref_a, ref_b)  # the two revisions decide this request differently
    assert router.engine.bundle_revision == rev_b
    seen = {"a": 0, "b": 0, "fault": 0}
    for d in outcomes:
        doc = d.to_dict()
        assert doc["policyRevision"] == d.policy_revision == d.receipt["policyRevision"]
        if d.fault is not None:
            assert_fail_closed(d, {eng.ENGINE_UNAVAILABLE})
            seen["fault"] += 1
        elif d.policy_revision == rev_a:
            assert same_outcome(d, ref_a)
            seen["a"] += 1
        else:
            assert d.policy_revision == rev_b and same_outcome(d, ref_b)
            seen["b"] += 1
    assert seen["a"] > 0 and seen["b"] > 0
    # the same input under two revisions is two different decisions
    assert ref_a.decision_id != ref_b.decision_id
    report = verify(tmp_path / "receipts" / "receipts.jsonl")
    assert report.ok and report.receipts == len(outcomes) + 2


def test_remote_opa_replaced_by_one_with_another_revision(project_bundle, tmp_path):
    """A remote OPA (not managed) replaced on the same port: the router needs no restart, and each
    decision carries the revision that OPA reported for it."""
    rev_b = variant_bundle(tmp_path / "b.tar.gz", data_patch=_no_memory)
    first = eng.ManagedEngine(project_bundle.path, timeout_s=5.0, auth=False)
    proxy = FaultProxy(upstream_of(first))
    try:
        with Router(opa_url=proxy.url, receipts_dir=tmp_path / "receipts", timeout_ms=3000) as router:
            a = router.decide(personal_bundle())
            assert a.fault is None and a.policy_revision == project_bundle.revision
            first.close()
            gone = router.decide(personal_bundle())
            assert_fail_closed(gone, {eng.ENGINE_UNAVAILABLE})
            second = eng.ManagedEngine(tmp_path / "b.tar.gz", timeout_s=5.0, auth=False)
            try:
                proxy.upstream_port = upstream_of(second)
                b = router.decide(personal_bundle())
            finally:
                second.close()
        assert b.fault is None and b.policy_revision == rev_b and not same_outcome(a, b)
    finally:
        proxy.close()
        first.close()
    assert verify(tmp_path / "receipts" / "receipts.jsonl").receipts == 3


def test_a_restart_reports_the_new_revision_before_its_first_answer(tmp_path):
    served = tmp_path / "served.tar.gz"
    rev_a = variant_bundle(served)
    rev_b = variant_bundle(tmp_path / "b.tar.gz", data_patch=_no_memory)
    with eng.ManagedEngine(served, timeout_s=5.0) as engine:
        assert engine.decide(personal_bundle()).revision == rev_a
        assert engine.last_revision == rev_a
        os.replace(tmp_path / "b.tar.gz", served)
        old_pid = engine.pid
        engine.start()  # an explicit restart while running
        assert engine.pid != old_pid
        assert engine.bundle_revision == rev_b and engine.last_revision == rev_b
        assert wait_until(lambda: not pid_alive(old_pid), 10), "the replaced OPA was left running"
        assert engine.decide(personal_bundle()).revision == rev_b


def test_frozen_opa_is_engine_timeout_until_it_resumes(project_bundle, tmp_path):
    """OPA stopped with SIGSTOP (alive but not answering): every decision fails closed with
    engine-timeout — never a hang — and the same router answers correctly once it resumes."""
    with Router(receipts_dir=tmp_path, timeout_ms=300) as router:
        reference = router.decide(personal_bundle())
        assert reference.fault is None, reference.detail
        pid = router.engine.pid
        os.killpg(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            frozen = [router.decide(personal_bundle()) for _ in range(2)]
            assert time.monotonic() - started < HANG_BOUND_S
            for d in frozen:
                assert_fail_closed(d, {eng.ENGINE_TIMEOUT})
            assert router.engine.pid == pid  # alive, so not restarted behind the caller's back
        finally:
            os.killpg(pid, signal.SIGCONT)
        router.engine.timeout_s = 10.0
        resumed = router.decide(personal_bundle())
        assert resumed.fault is None and same_outcome(resumed, reference)
    report = verify(tmp_path / "receipts.jsonl")
    assert report.ok and report.receipts == 4
