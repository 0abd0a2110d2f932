"""Give every example bundle that carries an approval reference a valid token for it.

For each examples/bundles/<case>.json (not *.expected.json) whose request names `escalation.receiptRef`,
`egressApprovalRef` or `personal.ledgerApprovalRef` without the token beside it, a token is issued with
the DEMO issuer key (examples/approvals/) for the fixed evaluation time the examples are decided at
(router.approvals.FIXTURE_EVALUATION_TIME), with the reference as its jti and the request's own claims;
a personal `consentRef` is set to the ledger contract's `signedIntentRef`. Existing tokens are kept.
Usage: .venv/bin/python tools/sign_example_bundles.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router import approvals, policy_data  # noqa: E402

KEY = ROOT / "examples" / "approvals" / "demo-issuer-2026.ed25519.pem"
ISSUER, KID = "urn:socioprophet:approval-issuer:demo", "demo-2026-01"
T = approvals.parse_evaluation_time(approvals.FIXTURE_EVALUATION_TIME)["timeNs"] // 1_000_000_000


def _sign(purpose: str, request_id: str, jti: str, claims: dict) -> str:
    return approvals.issue(purpose=purpose, key=KEY, kid=KID, issuer=ISSUER, request_id=request_id, jti=jti,
                           issued_at=T - 600, lifetime_s=4 * 3600, claims=claims)


def sign_bundle(bundle: dict, data: dict) -> bool:
    req = bundle.get("request") or {}
    rid = req.get("requestId")
    changed = False
    esc = req.get("escalation")
    if isinstance(esc, dict) and isinstance(esc.get("receiptRef"), str) and "receiptToken" not in esc:
        esc["receiptToken"] = _sign("escalation-receipt", rid, esc["receiptRef"],
                                    {"taskClass": req.get("taskClass"), "reason": esc.get("reason"), "maxLane": "pro"})
        changed = True
    if isinstance(req.get("egressApprovalRef"), str) and "egressApprovalToken" not in req:
        req["egressApprovalToken"] = _sign("egress-approval", rid, req["egressApprovalRef"],
                                           {"dataClasses": [req.get("dataClass") or "internal"], "maxLane": "pro"})
        changed = True
    personal = req.get("personal")
    if isinstance(personal, dict):
        binding = (data["bindings"].get(personal.get("bindingRef")) or {}).get("document") or {}
        pers = binding.get("personalization") or {}
        contract = data["consentContracts"].get(pers.get("governanceContractRef")) or {}
        intent = (contract.get("consent") or {}).get("signedIntentRef")
        if isinstance(personal.get("consentRef"), str) and intent and personal["consentRef"] != intent:
            personal["consentRef"] = intent
            changed = True
        if isinstance(personal.get("ledgerApprovalRef"), str) and "ledgerApprovalToken" not in personal:
            personal["ledgerApprovalToken"] = _sign("personal-activation", rid, personal["ledgerApprovalRef"], {
                "bindingRef": personal.get("bindingRef"), "artifactRef": pers.get("artifactRef"),
                "contractId": pers.get("governanceContractRef")})
            changed = True
    return changed


def main() -> None:
    data = policy_data.assemble(env={})
    for path in sorted((ROOT / "examples" / "bundles").glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(bundle, dict) and sign_bundle(bundle, data):
            path.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
