"""Trust anchors and the ledger snapshot as policy data: the active files are configuration (sources.json,
or MODEL_ROUTER_TRUST_ANCHORS / MODEL_ROUTER_LEDGER_SNAPSHOT), checked against their schemas, and
validated like every other contract document."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from router import Router, approvals, paths, policy_data
from router.data_views import PolicyDataError

ANCHORS = paths.EXAMPLES / "approval-trust-anchors.demo.json"
ESCALATED = paths.EXAMPLES / "bundles" / "agent-architecture-escalated.json"
CONSENTED = paths.EXAMPLES / "bundles" / "personal-office-assist-consented.json"


def _validate(*files) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_ROUTER_")}
    return subprocess.run([sys.executable, "-m", "router.cli", "validate", *map(str, files)], capture_output=True,
                          cwd=paths.ROOT, env=env, timeout=120)


def test_default_policy_data_holds_the_demo_anchors_and_the_snapshot():
    data = policy_data.assemble(env={})
    anchors = data["trustAnchors"]
    assert anchors["demo"] is True
    demo = anchors["issuers"]["urn:socioprophet:approval-issuer:demo"]
    assert demo["demo"] is True
    assert {kid: key["status"] for kid, key in demo["keys"].items()} == {"demo-2026-01": "active", "demo-2025-01": "retired"}
    statuses = {cid.rsplit(":", 1)[1]: c["consent"]["status"] for cid, c in data["consentContracts"].items()}
    assert statuses["demo-user-local-llama32"] == "granted"
    assert {"granted", "pending", "revoked"} <= set(statuses.values())


def test_an_anchors_file_that_does_not_conform_stops_the_assembly(tmp_path):
    doc = json.loads(ANCHORS.read_text())
    doc["issuers"][0]["keys"][0]["jwk"]["crv"] = "P-256"
    bad = tmp_path / "anchors.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(PolicyDataError) as exc:
        policy_data.assemble(env={policy_data.TRUST_ANCHORS_ENV: str(bad)})
    assert f"{bad}: $.issuers[0].keys[0].jwk.crv" in str(exc.value)


def test_a_missing_snapshot_is_named(tmp_path):
    with pytest.raises(PolicyDataError, match="ledger snapshot not found"):
        policy_data.assemble(env={policy_data.LEDGER_SNAPSHOT_ENV: str(tmp_path / "nowhere")})


def test_the_validator_knows_the_governance_documents(tmp_path):
    snapshot = sorted((paths.EXAMPLES / "ledger-snapshot").glob("*.json"))
    ok = _validate(ANCHORS, *snapshot)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ANCHORS.read_text())
    for key in doc["issuers"][1]["keys"]:
        key["status"] = "retired"
    doc["issuers"][1]["demo"] = False
    bad = tmp_path / "anchors.json"
    bad.write_text(json.dumps(doc))
    out = _validate(bad)
    assert out.returncode != 0
    err = out.stderr.decode() + out.stdout.decode()
    assert "$.issuers[1].keys" in err and "$.issuers[1].demo" in err


@pytest.fixture
def restore_policy_data():
    yield
    policy_data.write(data=policy_data.assemble(env={}))


def test_the_active_anchors_file_is_a_setting(tmp_path, monkeypatch, restore_policy_data):
    entry = approvals.keygen(tmp_path / "own.pem", "own-1")
    own = {"schemaVersion": "v0.1", "kind": "ApprovalTrustAnchors", "anchorsId": "urn:socioprophet:approval-trust-anchors:own",
           "issuers": [{"issuerId": "urn:socioprophet:approval-issuer:own", "purposes": ["escalation-receipt", "egress-approval"],
                        "keys": [entry]}]}
    anchors = tmp_path / "anchors.json"
    anchors.write_text(json.dumps(own))
    monkeypatch.setenv(policy_data.TRUST_ANCHORS_ENV, str(anchors))
    bundle = json.loads(ESCALATED.read_text())
    with Router(receipts=False, timeout_ms=5000) as r:
        d = r.decide(copy.deepcopy(bundle))
        assert d.route != "high-end"
        assert "escalation-receipt-invalid:issuer" in d.get("requestedEvaluation")["reasons"]
        # a receipt from the configured issuer is accepted
        req = bundle["request"]
        bundle["request"]["escalation"]["receiptToken"] = approvals.issue(
            purpose="escalation-receipt", key=tmp_path / "own.pem", kid="own-1", issuer="urn:socioprophet:approval-issuer:own",
            request_id=req["requestId"], jti=req["escalation"]["receiptRef"], issued_at=1780315200 - 60,
            claims={"taskClass": req["taskClass"], "reason": req["escalation"]["reason"], "maxLane": "high-end"})
        bundle["request"]["egressApprovalToken"] = approvals.issue(
            purpose="egress-approval", key=tmp_path / "own.pem", kid="own-1", issuer="urn:socioprophet:approval-issuer:own",
            request_id=req["requestId"], jti=req["egressApprovalRef"], issued_at=1780315200 - 60,
            claims={"dataClasses": [req.get("dataClass", "internal")], "maxLane": "pro"})
        assert r.decide(bundle).route == "high-end"


def test_the_ledger_snapshot_is_a_setting(tmp_path, monkeypatch, restore_policy_data):
    (tmp_path / "snapshot").mkdir()
    monkeypatch.setenv(policy_data.LEDGER_SNAPSHOT_ENV, str(tmp_path / "snapshot"))
    with Router(receipts=False, timeout_ms=5000) as r:
        d = r.decide(CONSENTED)
    assert d.route != "personal-local"
    assert "consent-contract-missing" in d.targets[0].reasons


def test_the_validator_refuses_a_bundle_that_carries_an_evaluation_time(tmp_path):
    bundle = json.loads(ESCALATED.read_text())
    bundle["evaluation"] = {"time": "2026-06-01T12:00:00Z", "timeNs": 1780315200000000000}
    path = tmp_path / "stamped.json"
    path.write_text(json.dumps(bundle))
    out = _validate(path)
    assert out.returncode != 0
    assert f"{path}: $.evaluation:" in out.stdout.decode() + out.stderr.decode()


def test_issuer_and_key_ids_are_unique():
    from router.contracts.validate import validate_document

    doc = json.loads(ANCHORS.read_text())
    doc["issuers"].append(copy.deepcopy(doc["issuers"][1]))
    doc["issuers"][0]["keys"].append(copy.deepcopy(doc["issuers"][0]["keys"][0]))
    found = {(v.rule, v.path) for v in validate_document(doc, source="anchors.json")}
    assert found == {("unique-issuers-and-keys", "$.issuers[2].issuerId"), ("unique-issuers-and-keys", "$.issuers[0].keys[2].kid")}
