"""Write the example bundles that show each way an approval or consent fails (examples/bundles/approval-*.json).

Each case starts from an approved example bundle and replaces one token (signed with the committed DEMO
keys under examples/approvals/ for the fixed evaluation time router.approvals.FIXTURE_EVALUATION_TIME),
one reference or the binding; its .expected.json says what the policy must decide and which reason it
must give. Ed25519 signatures are deterministic: running this again writes the same files.
Usage: .venv/bin/python tools/approval_fixtures.py
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router import approvals  # noqa: E402

BUNDLES = ROOT / "examples" / "bundles"
KEYS = ROOT / "examples" / "approvals"
DEMO = "urn:socioprophet:approval-issuer:demo"
T = approvals.parse_evaluation_time(approvals.FIXTURE_EVALUATION_TIME)["timeNs"] // 1_000_000_000


def _load(name: str) -> dict:
    return json.loads((BUNDLES / f"{name}.json").read_text(encoding="utf-8"))


def _sign(purpose, request_id, jti, claims, *, key="demo-issuer-2026.ed25519.pem", kid="demo-2026-01", issuer=DEMO,
          iat=T - 600, lifetime=3600, nbf=None):
    return approvals.issue(purpose=purpose, key=KEYS / key, kid=kid, issuer=issuer, request_id=request_id, jti=jti,
                           issued_at=iat, lifetime_s=lifetime, not_before=nbf, claims=claims)


def _forge(token: str) -> str:
    header, claims, sig = token.split(".")
    return ".".join([header, claims, sig[:20] + ("A" if sig[20] != "A" else "B") + sig[21:]])


def main() -> None:
    out: dict[str, tuple[dict, dict]] = {}
    agent = _load("agent-architecture-escalated")
    req = agent["request"]
    esc = {"taskClass": req["taskClass"], "reason": req["escalation"]["reason"], "maxLane": "pro"}
    ref, rid = req["escalation"]["receiptRef"], req["requestId"]
    receipt_cases = {
        "forged-signature": _forge(req["escalation"]["receiptToken"]),
        "unknown-issuer": _sign("escalation-receipt", rid, ref, esc, issuer="urn:socioprophet:approval-issuer:unlisted",
                                key="demo-unlisted-issuer.ed25519.pem", kid="unlisted-2026-01"),
        "retired-key": _sign("escalation-receipt", rid, ref, esc, key="demo-issuer-2025-retired.ed25519.pem", kid="demo-2025-01"),
        "wrong-purpose": _sign("egress-approval", rid, ref, esc),
        "ref-mismatch": _sign("escalation-receipt", rid, "urn:socioprophet:escalation-receipt:other", esc),
        "expired": _sign("escalation-receipt", rid, ref, esc, iat=T - 7200),
        "not-yet-valid": _sign("escalation-receipt", rid, ref, esc, iat=T - 60, nbf=T + 3600),
        "over-long-lifetime": _sign("escalation-receipt", rid, ref, esc, lifetime=7 * 86400),
        "other-request": _sign("escalation-receipt", "req-agent-999", ref, esc),
        "other-task-class": _sign("escalation-receipt", rid, ref, {**esc, "taskClass": "routine-code"}),
        "other-reason": _sign("escalation-receipt", rid, ref, {**esc, "reason": "hard-debugging"}),
        "malformed": "not.a-token",
    }
    why = {"forged-signature": "signature", "unknown-issuer": "issuer", "retired-key": "issuer", "wrong-purpose": "purpose",
           "ref-mismatch": "ref-mismatch", "expired": "expired", "not-yet-valid": "not-yet-valid",
           "over-long-lifetime": "lifetime", "other-request": "request", "other-task-class": "task-class",
           "other-reason": "reason", "malformed": "malformed"}
    for case, token in receipt_cases.items():
        b = copy.deepcopy(agent)
        b["request"]["escalation"]["receiptToken"] = token
        out[f"approval-receipt-{case}"] = (b, {
            "family": "agent", "status": "deferred", "lane": None,
            "description": f"An escalation receipt that fails verification ({case.replace('-', ' ')}) approves nothing: high-end is not granted.",
            "reasonsInclude": [f"escalation-receipt-invalid:{why[case]}"]})
    b = copy.deepcopy(agent)
    b["request"]["requestedLane"] = "pro"
    b["request"]["escalation"]["receiptToken"] = _sign("escalation-receipt", rid, ref, {**esc, "maxLane": "high-end"})
    out["approval-receipt-lane-above-max-lane"] = (b, {
        "family": "agent", "status": "downgraded", "lane": "high-end",
        "description": "A receipt whose maxLane is high-end does not approve pro: the request is served on high-end.",
        "reasonsInclude": ["escalation-receipt-invalid:lane", "requested-lane-not-optimal-or-feasible:pro"]})

    egress = _load("agent-routine-code-confidential-approved")
    ereq = egress["request"]
    b = copy.deepcopy(egress)
    b["request"]["egressApprovalToken"] = _sign("egress-approval", ereq["requestId"], ereq["egressApprovalRef"],
                                                {"dataClasses": ["internal"], "maxLane": "pro"})
    out["approval-egress-data-class-not-approved"] = (b, {
        "family": "agent", "status": "deferred", "lane": None,
        "description": "An egress approval for internal data does not let confidential data leave the device.",
        "reasonsInclude": ["egress-approval-invalid:data-class"]})

    personal = _load("personal-office-assist-consented")
    p = personal["request"]["personal"]
    claims = {"bindingRef": p["bindingRef"], "artifactRef": "urn:socioprophet:model-adapter:demo-user-local-llama32-lora",
              "contractId": "urn:socioprophet:personal-tuning-contract:demo-user-local-llama32"}
    for case, patch in {"binding": {"bindingRef": "urn:socioprophet:model-router-binding:hosted-user-local-llama32"},
                        "artifact": {"artifactRef": "urn:socioprophet:model-adapter:hosted-user-local-llama32-lora"},
                        "contract": {"contractId": "urn:socioprophet:personal-tuning-contract:hosted-user-local-llama32"}}.items():
        b = copy.deepcopy(personal)
        b["request"]["personal"]["ledgerApprovalToken"] = _sign("personal-activation", b["request"]["requestId"],
                                                                 p["ledgerApprovalRef"], {**claims, **patch})
        out[f"approval-activation-other-{case}"] = (b, {
            "family": "personal", "status": "fallback", "target": "base-local",
            "description": f"A ledger activation approval for another {case} does not activate this personal adapter.",
            "reasonsInclude": [f"personal-activation-invalid:{case}"]})
    for case, binding, code in (
        ("pending", "candidate-user", "consent-not-granted:pending"),
        ("revoked", "revoked-user", "consent-not-granted:revoked"),
        ("expired", "expired-user", "consent-expired"),
        ("subject-mismatch", "mismatch-user", "consent-subject-mismatch"),
    ):
        b = copy.deepcopy(personal)
        bp = b["request"]["personal"]
        bp["bindingRef"] = f"urn:socioprophet:model-router-binding:{binding}-local-llama32"
        bp["routeId"] = "coding-assist-personal" if binding == "candidate-user" else "office-assist-personal"
        if binding == "candidate-user":
            b["request"]["taskClass"] = "coding-assist"
        bp["consentRef"] = f"urn:socioprophet:signed-intent:{binding}-local-llama32"
        bp["ledgerApprovalToken"] = _sign("personal-activation", b["request"]["requestId"], bp["ledgerApprovalRef"], {
            "bindingRef": bp["bindingRef"], "artifactRef": f"urn:socioprophet:model-adapter:{binding}-local-llama32-lora",
            "contractId": f"urn:socioprophet:personal-tuning-contract:{binding}-local-llama32"})
        fallback = "quality-local" if binding == "candidate-user" else "base-local"
        out[f"approval-consent-{case}"] = (b, {
            "family": "personal", "status": "fallback", "target": fallback,
            "description": f"Ledger consent {case.replace('-', ' ')}: the personal adapter is not used.",
            "reasonsInclude": [code]})
    for name, (bundle, expected) in out.items():
        (BUNDLES / f"{name}.json").write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (BUNDLES / f"{name}.expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
        print(name)


if __name__ == "__main__":
    main()
