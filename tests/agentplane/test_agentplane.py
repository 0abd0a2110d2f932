"""agentplane lane-decision receipts: every agent-execution example bundle given a runRef, decided by the
real OPA with the projection in the same query, gives a receipt valid against the project's schema of
agentplane's ModelRoutingLaneDecisionReceipt v0.1, whose fields match the decision; the refusals
(personal routes, no runRef, values with no agentplane counterpart, engine faults) are each shown."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from router import Router, agentplane, approvals, paths, policy_data
from router import engine as eng
from router.approvals import EVALUATION_TIME_ENV, FIXTURE_EVALUATION_TIME
from router.bundle_input import InvalidBundle
from router.contracts import load_document, validate_document
from router.decision import Decision

DEMO_KEY = paths.EXAMPLES / "approvals" / "demo-issuer-2026.ed25519.pem"
FIXTURE_T = approvals.parse_evaluation_time(FIXTURE_EVALUATION_TIME)["timeNs"] // 1_000_000_000

BUNDLES = paths.EXAMPLES / "bundles"
RUN = "urn:agentplane:run:test-22"
RECEIPT_SCHEMA = paths.SCHEMAS / "model-routing-lane-decision-receipt.schema.json"
MAPPING_FILE = paths.POLICY_DATA / "agentplane-lane-mapping.json"

# the test's own statement of the documented mapping (docs/contracts.md), not read from policy data
LANES = {"no-model": "no_model", "local-cheap": "lightweight", "cheap": "lightweight", "standard": "standard", "high-end": "high_end", "pro": "pro"}
OUTCOMES = {"selected": "lane_selected", "downgraded": "downgraded", "deferred": "deferred", "denied": "denied"}
PREMIUM = {"high_end", "pro"}
# example bundles whose projection is refused, and why
REFUSED_EXAMPLES = {
    "agent-formatting-finalization": ["agentplane-unmapped-task-class:formatting-rewrite"],
    "agent-formatting-requests-high-end": ["agentplane-unmapped-task-class:formatting-rewrite"],
    "agent-formatting-requests-standard": ["agentplane-unmapped-task-class:formatting-rewrite"],
    "agent-formatting-standard-escalated": ["agentplane-unmapped-task-class:formatting-rewrite"],
    "agent-tool-use-deterministic": ["agentplane-unmapped-task-class:formatting-rewrite"],
    "agent-unknown-stage": ["agentplane-unmapped-stage:daydreaming"],
    "agent-unknown-task-class": ["agentplane-requested-lane-unknown", "agentplane-unmapped-task-class:poetry"],
}


@lru_cache(maxsize=1)
def receipt_validator() -> Draft202012Validator:
    schema = json.loads(RECEIPT_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def receipt_errors(receipt: dict) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in receipt_validator().iter_errors(receipt)]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def with_run(bundle: dict, run: str | None = RUN) -> dict:
    out = copy.deepcopy(bundle)
    if run is not None:
        out["request"]["runRef"] = run
    return out


def agent_examples() -> list[Path]:
    """The agent-execution example bundles the input schema accepts (the rest are meant to be rejected)."""
    out = []
    for path in sorted(BUNDLES.glob("agent-*.json")):
        if path.name.endswith(".expected.json"):
            continue
        expected = load(path.with_name(path.stem + ".expected.json"))
        if expected.get("schemaValidInput", True):
            out.append(path)
    return out


def example(name: str) -> dict:
    return load(BUNDLES / f"{name}.json")


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    with Router(receipts_dir=tmp_path_factory.mktemp("receipts"), timeout_ms=5000, agentplane=True) as r:
        yield r


@pytest.fixture(scope="module")
def example_decisions(router) -> dict[str, Decision]:
    paths_ = agent_examples()
    decisions = router.decide_many([with_run(load(p)) for p in paths_])
    return {p.stem: d for p, d in zip(paths_, decisions, strict=True)}


# ---- every agent-execution example -----------------------------------------------------------------


def test_the_examples_cover_projections_and_refusals(example_decisions):
    assert len(example_decisions) >= 40
    assert set(REFUSED_EXAMPLES) <= set(example_decisions)


@pytest.mark.parametrize("name", [p.stem for p in agent_examples()])
def test_every_agent_example_with_a_run_ref_projects_or_is_refused_as_documented(example_decisions, name):
    decision = example_decisions[name]
    assert decision.fault is None, decision.detail
    if name in REFUSED_EXAMPLES:
        with pytest.raises(agentplane.ProjectionRefused) as refused:
            decision.to_agentplane()
        assert list(refused.value.reasons) == REFUSED_EXAMPLES[name]
        return
    receipt = decision.to_agentplane()
    assert receipt_errors(receipt) == []
    doc = decision.to_dict()
    request = doc["input"]
    assert receipt["kind"] == "ModelRoutingLaneDecisionReceipt"
    assert receipt["run_ref"] == RUN == request["runRef"]
    # identity: the router's receipt, the decision, the prompt digest
    assert receipt["receipt_id"] == decision.receipt["receiptId"]
    assert receipt["issued_at"] == decision.receipt["issuedAt"]
    assert receipt["policy_decision_ref"] == decision.decision_id
    assert receipt["prompt_hash_ref"] == decision.receipt["promptDigest"]  # keyed per log, like the receipt's
    assert receipt["model_router_policy_ref"] == doc["policyRef"]
    assert receipt["non_claims"]
    # outcome and lanes
    escalated = decision.status == "selected" and "escalation-accepted" in decision.reasons
    assert receipt["lane_decision_outcome"] == ("escalated" if escalated else OUTCOMES[decision.status])
    assert receipt["selected_lane"] == (LANES[decision.lane] if decision.lane else "no_model")
    if request.get("requestedLane"):
        assert receipt["requested_lane"] == LANES[request["requestedLane"]]
    elif decision.lane:
        assert receipt["requested_lane"] == receipt["selected_lane"]
    if decision.status == "downgraded":
        assert receipt["downgrade_reason"] == decision.reason
    # escalation fields
    escalation = doc["escalation"] or {}
    assert receipt.get("escalation_reason") == escalation.get("reason")
    assert receipt.get("escalation_receipt_ref") == escalation.get("receiptRef")
    if receipt["selected_lane"] in PREMIUM:
        assert receipt["escalation_receipt_ref"] == request["escalation"]["receiptRef"]
        assert receipt["de_escalation_required_after_stage"] is doc["deEscalation"]["required"] is True
    else:
        assert "de_escalation_required_after_stage" not in receipt
    # the same receipt every time it is asked for
    assert decision.to_agentplane() == receipt


def test_the_examples_include_escalated_downgraded_deferred_denied_and_verification(example_decisions):
    receipts = [d.to_agentplane() for n, d in example_decisions.items() if n not in REFUSED_EXAMPLES]
    outcomes = {r["lane_decision_outcome"] for r in receipts}
    assert outcomes == {"lane_selected", "escalated", "downgraded", "deferred", "denied"}
    premium = [r for r in receipts if r["selected_lane"] in PREMIUM]
    assert premium and all(r["escalation_receipt_ref"] and r["de_escalation_required_after_stage"] is True for r in premium)
    modes = {r.get("verification_mode") for r in receipts if r["chain_stage"] == "verification"}
    assert {"mechanical_tools_only", "model_primary"} <= modes


def test_escalated_example_in_full(router):
    decision = router.decide(with_run(example("agent-architecture-escalated")))
    receipt = decision.to_agentplane()
    assert {k: receipt[k] for k in (
        "chain_stage", "task_class", "requested_lane", "selected_lane", "lane_decision_outcome", "cost_class",
        "escalation_reason", "escalation_receipt_ref", "de_escalation_required_after_stage", "prompt_evidence_policy",
        "context_tool_posture",
    )} == {
        "chain_stage": "planning", "task_class": "reasoning", "requested_lane": "high_end", "selected_lane": "high_end",
        "lane_decision_outcome": "escalated", "cost_class": "high", "escalation_reason": "architecture-decision",
        "escalation_receipt_ref": "urn:socioprophet:escalation-receipt:arch-031", "de_escalation_required_after_stage": True,
        "prompt_evidence_policy": "hash_only", "context_tool_posture": "tools_governed",
    }
    assert "verification_mode" not in receipt


def test_single_and_batch_projections_agree(router, example_decisions):
    for name in ("agent-architecture-escalated", "agent-verification-deterministic", "agent-routine-code-network-down", "agent-formatting-finalization"):
        single = router.decide(with_run(example(name)))
        assert single.decision_id == example_decisions[name].decision_id
        assert agentplane.refusals_of(single) == agentplane.refusals_of(example_decisions[name])
        if not agentplane.refusals_of(single):
            a, b = single.to_agentplane(), example_decisions[name].to_agentplane()
            for ident in ("receipt_id", "issued_at"):
                a.pop(ident), b.pop(ident)
            assert a == b


def test_the_decision_is_the_same_with_or_without_the_projection(router):
    bundle = with_run(example("agent-routine-code-budget-pressure-downgrade"))
    plain = router.decide(bundle, agentplane=False)
    projected = router.decide(bundle)

    def strip(d: Decision) -> dict[str, object]:
        return {k: v for k, v in d.to_dict().items() if k != "createdAt"}

    assert strip(plain) == strip(projected)
    assert plain.to_dict()["input"]["runRef"] == RUN
    with pytest.raises(agentplane.ProjectionNotRequested, match="agentplane=True"):
        plain.to_agentplane()


# ---- refusals ---------------------------------------------------------------------------------------


def test_personal_route_is_refused(router):
    decision = router.decide(with_run(load(next(BUNDLES.glob("personal-office-assist-consented.json")))))
    assert decision.is_personal and decision.permitted
    with pytest.raises(agentplane.ProjectionRefused) as refused:
        decision.to_agentplane()
    assert refused.value.reasons == ("agentplane-personal-route",)
    assert decision.decision_id in str(refused.value)


def test_missing_run_ref_is_refused(router):
    decision = router.decide(example("agent-architecture-escalated"))
    assert decision.permitted and decision.to_dict()["input"].get("runRef") is None
    with pytest.raises(agentplane.ProjectionRefused) as refused:
        decision.to_agentplane()
    assert refused.value.reasons == ("agentplane-run-ref-missing",)


def test_unmapped_task_class_is_refused_even_when_the_route_is_permitted(router):
    decision = router.decide(with_run(example("agent-formatting-finalization")))
    assert decision.permitted and decision.lane == "cheap"
    assert agentplane.refusals_of(decision) == ("agentplane-unmapped-task-class:formatting-rewrite",)


def test_engine_fault_is_refused():
    with Router(opa_url=f"http://127.0.0.1:{eng.free_port()}", receipts=False, agentplane=True) as r:
        decision = r.decide(with_run(example("agent-architecture-escalated")))
    assert decision.fault == eng.ENGINE_UNAVAILABLE
    with pytest.raises(agentplane.ProjectionRefused) as refused:
        decision.to_agentplane()
    assert refused.value.reasons == (eng.ENGINE_UNAVAILABLE,)


def test_a_receipt_that_fails_the_schema_is_withheld():
    doc = {"kind": "AgentExecutionRouteDecision", "decisionId": "urn:socioprophet:model-route-decision:" + "0" * 24, "selected": {"status": "selected"}}
    decision = Decision(doc, input_digest="sha256:" + "1" * 64, prompt_digest=None)
    decision.agentplane = agentplane.Projection({"kind": "ModelRoutingLaneDecisionReceipt", "selected_lane": "high_end"}, ())
    with pytest.raises(agentplane.ProjectionRefused) as refused:
        decision.to_agentplane()
    assert refused.value.reasons == (agentplane.RECEIPT_INVALID,)
    assert "$" in refused.value.detail
    assert agentplane.refusals_of(decision) == (agentplane.RECEIPT_INVALID,)


@pytest.mark.parametrize("value", [None, [], {"receipt": None}, {"receipt": None, "refusals": []}, {"receipt": {}, "refusals": [1]}])
def test_a_malformed_projection_is_a_refusal(value):
    assert agentplane.Projection.from_result(value).refusals == (agentplane.RESULT_MALFORMED,)
    assert agentplane.split_result({"decision": {}, "agentplane": value})[1].refusals == (agentplane.RESULT_MALFORMED,)
    assert agentplane.split_result({"no": "decision"}) == (None, None)


# ---- written beside the receipt log -----------------------------------------------------------------


def test_receipts_are_written_beside_the_receipt_log(tmp_path):
    with Router(receipts_dir=tmp_path, timeout_ms=5000, agentplane_receipts=True) as r:
        projected = r.decide(with_run(example("agent-routine-code-execution")))
        refused = r.decide(example("agent-routine-code-execution"))
        batch = r.decide_many([with_run(example("agent-verification-deterministic")), with_run(example("agent-formatting-finalization"))])
    lines = [json.loads(line) for line in (tmp_path / agentplane.LOG_NAME).read_text(encoding="utf-8").splitlines()]
    assert lines == [projected.to_agentplane(), batch[0].to_agentplane()]
    assert agentplane.refusals_of(refused) == ("agentplane-run-ref-missing",)
    router_receipts = [json.loads(line) for line in (tmp_path / "receipts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["receipt_id"] for x in lines] == [router_receipts[0]["receiptId"], router_receipts[2]["receiptId"]]
    assert router_receipts[0]["runRef"] == RUN and "runRef" not in router_receipts[1]
    assert all(receipt_errors(x) == [] for x in lines)


def test_a_receipt_that_cannot_be_written_is_withheld(tmp_path):
    with Router(receipts_dir=tmp_path, timeout_ms=5000, agentplane_receipts=True) as r:
        (tmp_path / agentplane.LOG_NAME).mkdir()  # the log path is taken by a directory
        decision = r.decide(with_run(example("agent-routine-code-execution")))
    assert decision.permitted and decision.receipt is not None
    assert agentplane.refusals_of(decision) == (agentplane.NOT_WRITTEN,)


def test_writing_beside_needs_the_receipt_log():
    with pytest.raises(ValueError, match="receipts are off"):
        Router(receipts=False, agentplane_receipts=True)


# ---- the command line -------------------------------------------------------------------------------


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_") or k == EVALUATION_TIME_ENV}
    return subprocess.run([sys.executable, "-m", "router.cli", *args], input=stdin, capture_output=True, check=False, cwd=paths.ROOT, env=env, timeout=120)


def test_cli_prints_the_receipt_and_writes_it_beside(tmp_path):
    bundle = json.dumps(with_run(example("agent-architecture-escalated"))).encode()
    proc = _cli("decide", "-", "--format", "agentplane", "--receipts-dir", str(tmp_path), "--agentplane-receipts", stdin=bundle)
    assert proc.returncode == 0, proc.stderr.decode()
    receipt = json.loads(proc.stdout)
    assert receipt_errors(receipt) == []
    assert receipt["lane_decision_outcome"] == "escalated" and receipt["run_ref"] == RUN
    assert json.loads((tmp_path / agentplane.LOG_NAME).read_text(encoding="utf-8")) == receipt
    assert json.loads((tmp_path / "receipts.jsonl").read_text(encoding="utf-8"))["receiptId"] == receipt["receipt_id"]


def test_cli_refusal_names_the_reason_and_exits_3():
    proc = _cli("decide", str(BUNDLES / "agent-architecture-escalated.json"), "--format", "agentplane", "--no-receipts")
    assert proc.returncode == 3
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert "agentplane-run-ref-missing" in err and "request.runRef" in err
    proc = _cli("decide", str(BUNDLES / "agent-architecture-escalated.json"), "--agentplane-receipts", "--no-receipts")
    assert proc.returncode == 2 and "--no-receipts" in proc.stderr.decode()


# ---- the input and the documents -------------------------------------------------------------------


def test_run_ref_in_the_input_schema():
    Router.prepare(with_run(example("agent-routine-code-execution")))
    with pytest.raises(InvalidBundle) as bad:
        Router.prepare(with_run(example("agent-routine-code-execution"), ""), source="b.json")
    assert any("runRef" in str(v) and "b.json" in str(v) for v in bad.value.violations)


def test_receipt_schema_is_closed_and_names_its_source_version():
    schema = json.loads(RECEIPT_SCHEMA.read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert "v0.1" in schema["description"] and "agentplane" in schema["description"]
    good = {
        "kind": "ModelRoutingLaneDecisionReceipt", "receipt_id": "r", "run_ref": "run", "chain_stage": "planning",
        "task_class": "reasoning", "requested_lane": "standard", "selected_lane": "standard",
        "lane_decision_outcome": "lane_selected", "cost_class": "standard", "prompt_evidence_policy": "hash_only",
        "context_tool_posture": "tools_governed", "policy_decision_ref": "d", "model_router_policy_ref": "p",
        "non_claims": ["x"], "issued_at": "2026-01-01T00:00:00Z",
    }
    assert receipt_errors(good) == []
    assert receipt_errors({**good, "selected_lane": "high_end"})  # premium needs the receipt ref and the flag
    assert receipt_errors({**good, "selected_lane": "high_end", "escalation_receipt_ref": "e", "de_escalation_required_after_stage": True}) == []
    assert receipt_errors({**good, "extra": 1})
    assert receipt_errors({**good, "non_claims": []})
    assert receipt_errors({**good, "run_ref": ""})
    assert load_document(MAPPING_FILE)["kind"] == "AgentplaneLaneDecisionMapping"
    assert validate_document(good, source="r.json") == []


def test_the_mapping_is_policy_data_and_validates():
    assert validate_document(load_document(MAPPING_FILE), source=MAPPING_FILE.name) == []
    data = policy_data.assemble()
    active = data["active"]["agentplaneMapping"]
    assert data["agentplaneMappings"][active]["document"] == load(MAPPING_FILE)


def test_the_mapping_validator_names_undecided_values(tmp_path):
    doc = load(MAPPING_FILE)
    del doc["taskClasses"]["log-triage"]
    doc["unselected"]["lane"] = "pro"
    found = {(v.rule, v.path) for v in validate_document(doc, source="m.json")}
    assert found == {("every-task-class-decided", "$.taskClasses['log-triage']"), ("unselected-lane-not-premium", "$.unselected.lane")}
    doc = load(MAPPING_FILE)
    doc["appliesTo"]["policyRefs"].append("urn:socioprophet:model-routing-policy:unknown")
    doc["toolPostures"].append({"when": {**doc["toolPostures"][0]["when"], "mechanicalVerificationRequired": True}, "posture": "tools_full"})
    found = {(v.rule, v.path) for v in validate_document(doc, source="m.json")}
    assert found == {("applies-to-known-policies", "$.appliesTo.policyRefs[1]"), ("tool-posture-rules-reachable", "$.toolPostures[2].when")}
    doc = load(MAPPING_FILE)
    doc["lanes"]["cheap"] = "cheap"
    assert {(v.rule, v.path) for v in validate_document(doc, source="m.json")} == {("schema", "$.lanes.cheap")}


# ---- across the request space ------------------------------------------------------------------------


def test_every_request_combination_gives_a_valid_receipt_or_catalogued_refusals(router):
    """Task classes, stages, risk classes, requested lanes, escalations and verifier availability in
    combination (a fixed random sample, decided in one batch): each projection is a receipt valid
    against the schema and consistent with its decision, or refused with catalogued reason codes;
    never incomplete, never invalid."""
    import random

    rng = random.Random(22)
    policy = load(paths.EXAMPLES / "agent-execution-model-routing-policy.default.json")
    tasks = [t["taskClass"] for t in policy["taskClasses"]] + ["poetry"]
    stages = [s["stage"] for s in policy["chainStages"]] + ["daydreaming"]
    escalations = [None, {"reason": "architecture-decision", "receiptRef": "urn:socioprophet:escalation-receipt:x", "humanJustification": "approved by the architecture board"},
                   {"reason": "architecture-decision"}, {"reason": "not-a-reason", "receiptRef": "urn:socioprophet:escalation-receipt:y"}]
    base = example("agent-routine-code-execution")
    bundles = []
    for i in range(240):
        b = copy.deepcopy(base)
        b["request"].update({
            "requestId": f"req-combo-{i}", "taskClass": rng.choice(tasks), "stage": rng.choice(stages),
            "riskClass": rng.choice(["low", "medium", "high", "critical"]), "requestedLane": rng.choice([None, *LANES]),
            "escalation": copy.deepcopy(rng.choice(escalations)), "deterministicVerificationAvailable": rng.random() < 0.5,
        })
        esc = b["request"]["escalation"]
        if esc and esc.get("receiptRef", "").endswith(":x"):  # the approved escalation carries its verified token
            esc["receiptToken"] = approvals.issue(
                purpose="escalation-receipt", key=DEMO_KEY, kid="demo-2026-01", issuer="urn:socioprophet:approval-issuer:demo",
                request_id=b["request"]["requestId"], jti=esc["receiptRef"], issued_at=FIXTURE_T - 60,
                claims={"taskClass": b["request"]["taskClass"], "reason": esc["reason"], "maxLane": "pro"})
        if b["request"].get("egressApprovalRef"):  # the egress approval names this request
            b["request"]["egressApprovalToken"] = approvals.issue(
                purpose="egress-approval", key=DEMO_KEY, kid="demo-2026-01", issuer="urn:socioprophet:approval-issuer:demo",
                request_id=b["request"]["requestId"], jti=b["request"]["egressApprovalRef"], issued_at=FIXTURE_T - 60,
                claims={"dataClasses": [b["request"].get("dataClass", "internal")], "maxLane": "pro"})
        if rng.random() < 0.9:
            b["request"]["runRef"] = f"urn:agentplane:run:combo-{i}"
        bundles.append(b)
    catalogue = load(paths.POLICY_DATA / "reasons" / "agentplane.json")
    outcomes = set()
    for decision in router.decide_many(bundles):
        assert decision.fault is None, decision.detail
        try:
            receipt = decision.to_agentplane()
        except agentplane.ProjectionRefused as refused:
            assert refused.reasons and all(code.split(":")[0] in catalogue for code in refused.reasons)
            assert not {agentplane.RECEIPT_INVALID, "agentplane-projection-incomplete"} & set(refused.reasons)
            continue
        assert receipt_errors(receipt) == []
        assert receipt["selected_lane"] == (LANES[decision.lane] if decision.lane else "no_model")
        outcomes.add(receipt["lane_decision_outcome"])
    assert {"lane_selected", "escalated", "deferred"} <= outcomes
