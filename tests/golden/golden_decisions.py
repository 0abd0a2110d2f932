"""The documents every example bundle produces, minus the fields that identify one run.

`python tests/golden/golden_decisions.py --record` writes `example-decisions.json` (done once, before a
refactor that must not change any decision); `test_golden_decisions.py` compares a fresh run with it.
For each bundle in examples/bundles/ it keeps the decision document, its guardrail projection, its
agentplane receipt (agent bundles) and its route receipt, with run identity removed: ids, timestamps,
the policy revision (it changes with every edit of a module) and the digests that cover them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ROOT / "examples" / "bundles"
RECORDED = Path(__file__).with_name("example-decisions.json")

# Fields that differ from one run to the next (or from one policy revision to the next) without the
# decision differing: identities, clocks, and digests over documents that contain them.
RUN_IDENTITY = frozenset(
    {
        "decisionId",
        "createdAt",
        "policyRevision",
        "policyVersion",
        "policyHash",
        "timestamp",
        "receiptId",
        "receiptDigest",
        "routeDecisionId",
        "issuedAt",
        "outputDigest",
        "promptDigest",
        "previousReceiptDigest",
        "prevReceiptDigest",
        "chain",
        "mac",
        "receiptRef",
        "decisionRef",
        "issued_at",
        "prompt_hash_ref",
        "receipt_id",
        "logId",
        "receiptMac",
        "decision_id",
        "policy_revision",
        "policy_decision_ref",
    }
)


def without_identity(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_identity(v) for k, v in value.items() if k not in RUN_IDENTITY}
    if isinstance(value, list):
        return [without_identity(v) for v in value]
    return value


def bundle_paths() -> list[Path]:
    return sorted(p for p in BUNDLES.glob("*.json") if not p.name.endswith(".expected.json"))


def current_documents() -> dict[str, dict]:
    """Decide every example bundle on a managed OPA; the documents keyed by bundle file name."""
    from router import Router

    out: dict[str, dict] = {}
    with Router(agentplane=True) as router:
        for path in bundle_paths():
            try:
                decision = router.decide(path)
            except Exception as exc:  # an unusable bundle is part of the record too
                out[path.name] = {"raises": type(exc).__name__}
                continue
            entry = {"decision": decision.to_dict(), "guardrail": decision.to_guardrail(), "receipt": decision.receipt}
            try:
                entry["agentplane"] = decision.to_agentplane()
            except Exception as exc:
                entry["agentplane"] = {"raises": type(exc).__name__}
            out[path.name] = without_identity(entry)
    return out


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: golden_decisions.py --record")
    RECORDED.write_text(json.dumps(current_documents(), indent=1, sort_keys=True) + "\n")
    print(f"recorded {RECORDED.name}")
