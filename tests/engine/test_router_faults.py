"""Router-level fail-closed behaviour: every engine fault becomes a denied decision with its own
reason code and a receipt, never an exception; a receipt that cannot be written denies too."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from faulty_policy import agent_bundle, personal_bundle, schema_errors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router import Router
from router import engine as eng
from router.receipts import verify

DECISION_SCHEMA = "agent-execution-route-decision"


@pytest.fixture(scope="module")
def faulty_router(faulty_bundle, tmp_path_factory):
    receipts = tmp_path_factory.mktemp("faulty-receipts")
    with Router(bundle=faulty_bundle, receipts_dir=receipts, timeout_ms=5000) as router:
        yield router


def assert_fail_closed(decision, reason):
    assert decision.status == "denied"
    assert decision.reason == reason and decision.reasons == (reason,)
    assert decision.fault == reason
    assert decision.lane is None and decision.route is None
    assert decision.permitted is False and decision.exit_code == 3
    doc = decision.to_dict()
    assert doc["candidateSet"] == [] and doc["budget"] is None and doc["policyRef"] is None
    assert schema_errors(doc, DECISION_SCHEMA) == []
    assert decision.receipt is not None
    assert decision.receipt["selected"]["status"] == "denied" and decision.receipt["selected"]["reason"] == reason
    assert schema_errors(decision.receipt, "route-decision-receipt") == []
    guardrail = decision.to_guardrail()
    assert guardrail["decision"] == "deny" and guardrail["effects"]["agentMayContinue"] is False
    assert schema_errors(guardrail, "sourceos.guardrail.decision.v0.1") == []


@pytest.mark.parametrize(
    ("request_id", "reason"),
    [
        ("garbage", eng.INVALID_POLICY_RESULT),
        ("string", eng.INVALID_POLICY_RESULT),
        ("wrong-kind", eng.INVALID_POLICY_RESULT),
        ("error", eng.ENGINE_ERROR),
        ("nothing-defined", eng.POLICY_UNDEFINED),
    ],
)
def test_policy_faults_fail_closed_with_distinct_reasons(faulty_router, request_id, reason):
    decision = faulty_router.decide(agent_bundle(request_id))
    assert_fail_closed(decision, reason)
    assert decision.detail
    assert decision.policy_revision.startswith("sha256:")


def test_timeout_fails_closed(faulty_bundle, tmp_path):
    with Router(bundle=faulty_bundle, receipts_dir=tmp_path, timeout_ms=100) as router:
        decision = router.decide(agent_bundle("slow"))
    assert_fail_closed(decision, eng.ENGINE_TIMEOUT)


def test_fail_closed_decision_id_is_stable_for_the_same_input(faulty_router):
    a = faulty_router.decide(agent_bundle("garbage"))
    b = faulty_router.decide(agent_bundle("garbage"))
    assert a.decision_id == b.decision_id
    assert a.receipt["receiptId"] != b.receipt["receiptId"]


def test_batch_maps_each_missing_or_broken_result(faulty_router):
    decisions = faulty_router.decide_many([agent_bundle("string"), agent_bundle("undefined"), agent_bundle("garbage")])
    assert [d.reason for d in decisions] == [eng.INVALID_POLICY_RESULT, eng.POLICY_UNDEFINED, eng.INVALID_POLICY_RESULT]
    for d in decisions:
        assert_fail_closed(d, d.reason)
    assert verify(faulty_router.receipts_path).ok


def test_batch_engine_fault_denies_every_bundle(tmp_path):
    port = eng.free_port()
    with Router(opa_url=f"http://127.0.0.1:{port}", receipts_dir=tmp_path) as router:
        decisions = router.decide_many([agent_bundle("a"), agent_bundle("b")])
    assert [d.reason for d in decisions] == [eng.ENGINE_UNAVAILABLE] * 2
    assert verify(tmp_path / "receipts.jsonl").receipts == 2


def test_closed_port_is_engine_unavailable_with_a_receipt(tmp_path):
    port = eng.free_port()
    with Router(opa_url=f"http://127.0.0.1:{port}", receipts_dir=tmp_path, timeout_ms=300) as router:
        decision = router.decide(agent_bundle())
        assert_fail_closed(decision, eng.ENGINE_UNAVAILABLE)
        assert decision.policy_revision == "unknown"
    assert verify(tmp_path / "receipts.jsonl").receipts == 1


def test_unwritable_receipt_log_is_evidence_unavailable(project_bundle, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with Router(receipts_dir=blocker / "receipts") as router:
        decision = router.decide(agent_bundle())
    assert decision.status == "denied" and decision.reason == eng.EVIDENCE_UNAVAILABLE
    assert decision.receipt is None and "receipt" in decision.detail
    assert schema_errors(decision.to_dict(), DECISION_SCHEMA) == []
    assert schema_errors(decision.to_guardrail(), "sourceos.guardrail.decision.v0.1") == []


def test_opa_killed_mid_run_then_restarted(project_bundle, tmp_path):
    with Router(receipts_dir=tmp_path, timeout_ms=2000) as router:
        first = router.decide(personal_bundle("before"))
        assert first.fault is None, first.detail
        old_pid = router.engine.pid
        os.killpg(old_pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while router.engine.alive and time.monotonic() < deadline:
            time.sleep(0.01)
        next_one = router.decide(personal_bundle("before"))
        assert next_one.fault in (None, eng.ENGINE_UNAVAILABLE)
        if next_one.fault is None:
            assert next_one.to_dict()["selected"] == first.to_dict()["selected"]
        later = router.decide(personal_bundle("before"))
        assert later.fault is None
        assert later.decision_id == first.decision_id  # same input, same policy revision
        assert later.to_dict()["selected"] == first.to_dict()["selected"]
        assert router.engine.pid != old_pid
    assert verify(tmp_path / "receipts.jsonl").receipts == 3


def test_a_closed_router_denies_instead_of_raising(project_bundle):
    router = Router(receipts=False)
    router.close()
    decision = router.decide(agent_bundle())
    assert decision.status == "denied" and decision.reason == eng.ENGINE_UNAVAILABLE


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
statuses = st.sampled_from(["selected", "downgraded", "deferred", "denied", "quarantined", "fallback", "allow", None])


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    result=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"kind": st.sampled_from(["AgentExecutionRouteDecision", "LocalPersonalRouteDecision", "Other"]),
             "schemaVersion": st.just("v0.1"),
             "selected": st.fixed_dictionaries({"status": statuses, "lane": st.sampled_from(["pro", "cheap", None])})},
            optional={"candidateSet": json_values, "policyRef": json_values, "input": json_values},
        ),
    )
)
def test_no_policy_result_escapes_as_an_exception_or_a_permission(faulty_router, result):
    prep = faulty_router.prepare(agent_bundle("property"))
    decision = faulty_router._build(prep, eng.EngineResult(result=result, revision="sha256:" + "0" * 64))
    assert decision.fault == eng.INVALID_POLICY_RESULT
    assert decision.status == "denied" and not decision.permitted
    assert schema_errors(decision.to_dict(), DECISION_SCHEMA) == []
    assert schema_errors(decision.to_guardrail(), "sourceos.guardrail.decision.v0.1") == []


def test_threads_deciding_while_opa_is_killed_never_see_an_exception(project_bundle, tmp_path):
    with Router(receipts_dir=tmp_path, timeout_ms=2000) as router:
        reference = router.decide(personal_bundle("threads"))
        assert reference.fault is None, reference.detail
        outcomes, errors = [], []
        stop = threading.Event()

        def work():
            while not stop.is_set():
                try:
                    d = router.decide(personal_bundle("threads"))
                    outcomes.append((d.fault, d.status, d.route))
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        os.killpg(router.engine.pid, signal.SIGKILL)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
        assert errors == []
        faults = {f for f, _, _ in outcomes}
        assert faults <= {None, eng.ENGINE_UNAVAILABLE}
        for fault, status, route in outcomes:
            if fault is None:
                assert (status, route) == (reference.status, reference.route)
            else:
                assert status == "denied" and route is None
        final = router.decide(personal_bundle("threads"))
        assert final.fault is None and final.decision_id == reference.decision_id
        assert router.engine.starts == 2
    assert verify(tmp_path / "receipts.jsonl").receipts == len(outcomes) + 2
