"""Write the approval tokens the Rego unit tests use (policies/model_router/approvals/testing/testing_test.rego).

The tokens are signed with the DEMO issuer key committed under examples/approvals/ at the fixed
evaluation time router.approvals.FIXTURE_EVALUATION_TIME. Ed25519 signatures are deterministic, so
running this again (then `opa fmt --write policies/model_router/approvals`) writes the same file.
Usage: .venv/bin/python tools/approval_test_tokens.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router import approvals  # noqa: E402

OUT = ROOT / "policies" / "model_router" / "approvals" / "testing" / "testing_test.rego"
KEYS = ROOT / "examples" / "approvals"
ISSUER = "urn:socioprophet:approval-issuer:demo"
EVAL = approvals.parse_evaluation_time(approvals.FIXTURE_EVALUATION_TIME)
T = EVAL["timeNs"] // 1_000_000_000
TASKS = ["formatting-rewrite", "log-triage", "routine-code", "architecture-decision", "hard-debugging",
         "security-review", "multi-repo-migration", "high-stakes-synthesis"]
REASONS = ["architecture-decision", "hard-debugging", "security-review", "privacy-review", "multi-repo-migration",
           "irreversible-production-decision", "high-stakes-synthesis", "conflicting-evidence-resolution",
           "repeated-standard-lane-failure", "release-gate-review"]
RECEIPT_REF = "urn:socioprophet:escalation-receipt:test-0001"
EGRESS_REF = "urn:socioprophet:policy-decision:egress-test-0001"


def sign(purpose, request_id, jti, claims, *, key="demo-issuer-2026.ed25519.pem", kid="demo-2026-01", issuer=ISSUER,
         iat=T - 600, lifetime=3600, nbf=None):
    return approvals.issue(purpose=purpose, key=KEYS / key, kid=kid, issuer=issuer, request_id=request_id, jti=jti,
                           issued_at=iat, lifetime_s=lifetime, not_before=nbf, claims=claims)


def main() -> None:
    receipts = {f"{task}/{reason}": sign("escalation-receipt", "req-test-0001", RECEIPT_REF,
                                         {"taskClass": task, "reason": reason, "maxLane": "pro"})
                for task in TASKS for reason in REASONS}
    esc = {"taskClass": "routine-code", "reason": "architecture-decision", "maxLane": "pro"}
    rid = "req-test-0001"
    good = sign("escalation-receipt", rid, RECEIPT_REF, esc)
    header, claims, sig = good.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    cases = {
        "valid": good,
        "signature": f"{header}.{claims}.{flipped}",
        "issuer-unknown": sign("escalation-receipt", rid, RECEIPT_REF, esc, issuer="urn:socioprophet:approval-issuer:unlisted",
                               key="demo-unlisted-issuer.ed25519.pem", kid="unlisted-2026-01"),
        "issuer-retired-key": sign("escalation-receipt", rid, RECEIPT_REF, esc, key="demo-issuer-2025-retired.ed25519.pem",
                                   kid="demo-2025-01"),
        "signature-other-key": sign("escalation-receipt", rid, RECEIPT_REF, esc, key="demo-unlisted-issuer.ed25519.pem"),
        "purpose": sign("egress-approval", rid, RECEIPT_REF, esc),
        "purpose-not-allowed-for-issuer": sign("escalation-receipt", rid, RECEIPT_REF, esc,
                                               issuer="urn:socioprophet:approval-issuer:demo-egress-desk"),
        "ref-mismatch": sign("escalation-receipt", rid, "urn:socioprophet:escalation-receipt:other", esc),
        "expired": sign("escalation-receipt", rid, RECEIPT_REF, esc, iat=T - 7200, lifetime=3600),
        "not-yet-valid": sign("escalation-receipt", rid, RECEIPT_REF, esc, iat=T + 600),
        "nbf-future": sign("escalation-receipt", rid, RECEIPT_REF, esc, nbf=T + 600),
        "within-skew": sign("escalation-receipt", rid, RECEIPT_REF, esc, iat=T + 30, nbf=T + 30),
        "lifetime": sign("escalation-receipt", rid, RECEIPT_REF, esc, iat=T - 600, lifetime=86401),
        "request": sign("escalation-receipt", "req-other", RECEIPT_REF, esc),
        "task-class": sign("escalation-receipt", rid, RECEIPT_REF, {**esc, "taskClass": "log-triage"}),
        "reason": sign("escalation-receipt", rid, RECEIPT_REF, {**esc, "reason": "hard-debugging"}),
        "lane-high-end": sign("escalation-receipt", rid, RECEIPT_REF, {**esc, "maxLane": "high-end"}),
        "lane-unknown": sign("escalation-receipt", rid, RECEIPT_REF, {**esc, "maxLane": "standard"}),
        "egress": sign("egress-approval", rid, EGRESS_REF, {"dataClasses": ["public", "internal", "confidential"], "maxLane": "pro"}),
        "egress-standard": sign("egress-approval", rid, EGRESS_REF, {"dataClasses": ["internal"], "maxLane": "standard"}),
        "egress-data-class": sign("egress-approval", rid, EGRESS_REF, {"dataClasses": ["public"], "maxLane": "pro"}),
        "egress-desk": sign("egress-approval", rid, EGRESS_REF, {"dataClasses": ["internal"], "maxLane": "pro"},
                            issuer="urn:socioprophet:approval-issuer:demo-egress-desk", lifetime=3600),
        "egress-desk-lifetime": sign("egress-approval", rid, EGRESS_REF, {"dataClasses": ["internal"], "maxLane": "pro"},
                                     issuer="urn:socioprophet:approval-issuer:demo-egress-desk", lifetime=7200),
        "personal-activation": sign("personal-activation", "req-1", "ledger:1", {
            "bindingRef": "urn:socioprophet:model-router-binding:test", "artifactRef": "urn:socioprophet:model-adapter:test",
            "contractId": "urn:socioprophet:personal-tuning-contract:test"}),
        "personal-activation-binding": sign("personal-activation", "req-1", "ledger:1", {
            "bindingRef": "urn:socioprophet:model-router-binding:other", "artifactRef": "urn:socioprophet:model-adapter:test",
            "contractId": "urn:socioprophet:personal-tuning-contract:test"}),
        "personal-activation-artifact": sign("personal-activation", "req-1", "ledger:1", {
            "bindingRef": "urn:socioprophet:model-router-binding:test", "artifactRef": "urn:socioprophet:model-adapter:other",
            "contractId": "urn:socioprophet:personal-tuning-contract:test"}),
        "personal-activation-contract": sign("personal-activation", "req-1", "ledger:1", {
            "bindingRef": "urn:socioprophet:model-router-binding:test", "artifactRef": "urn:socioprophet:model-adapter:test",
            "contractId": "urn:socioprophet:personal-tuning-contract:other"}),
        "personal-egress": sign("egress-approval", "req-1", "egress:1", {"dataClasses": ["public", "internal", "confidential"], "maxLane": "standard"}),
    }
    anchors = json.loads((ROOT / "examples" / "approval-trust-anchors.demo.json").read_text(encoding="utf-8"))
    issuers = {i["issuerId"]: {"purposes": i["purposes"], "maxLifetimeSeconds": i.get("maxLifetimeSeconds", 86400),
                               "demo": True, "keys": {k["kid"]: {"jwk": k["jwk"], "status": k["status"]} for k in i["keys"]}}
               for i in anchors["issuers"]}
    dump = lambda v: json.dumps(v, indent="\t", sort_keys=True)  # noqa: E731
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(f"""# METADATA
# title: Approval tokens for the Rego unit tests (generated by tools/approval_test_tokens.py)
# description: |
#   Tokens signed with the DEMO issuer key (examples/approvals/) for the fixed evaluation time
#   {approvals.FIXTURE_EVALUATION_TIME}; `anchors` is the demo trust anchors as policy data. Regenerate with
#   `.venv/bin/python tools/approval_test_tokens.py` (the output is deterministic).
package model_router.approvals.testing_test

# METADATA
# description: The fixed evaluation time the tokens are valid at.
evaluation := {dump(EVAL)}

# METADATA
# description: The demo trust anchors as policy data (data.model_router_data.trustAnchors).
anchors := {dump({"anchorsId": anchors["anchorsId"], "demo": True, "issuers": issuers})}

# METADATA
# description: Escalation receipts for req-test-0001 by "<taskClass>/<reason>" (maxLane pro).
receipts := {dump(receipts)}

# METADATA
# description: Tokens by case (see tools/approval_test_tokens.py).
tokens := {dump(cases)}
""", encoding="utf-8")
    print(OUT.relative_to(ROOT))


if __name__ == "__main__":
    main()
