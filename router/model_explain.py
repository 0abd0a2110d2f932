"""Render the concrete-model part of a decision (model, fallbacks, blockedCandidates) for `explain`.

    lines(decision_doc, describe)  -> text lines (describe(code) turns a reason code into a sentence)
    summary(decision_doc, describe) -> the same as JSON-ready data

A decision without a `model` field (no model selection wired) yields nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Describe = Callable[[str], str]

LANE_MISMATCH = "lane-mismatch"


def lines(doc: dict[str, Any], describe: Describe) -> list[str]:
    if "model" not in doc:
        return []
    model = doc.get("model")
    out: list[str] = []
    if model is None:
        out.append("model: none needed (no lane or target was chosen, or the lane needs no model)")
        return out
    if model.get("status") == "selected":
        out.append(
            f"model: {model.get('modelRef')} (governance route {model.get('governanceRoute')}, score {model.get('score')})"
        )
    else:
        codes = model.get("reasons") or []
        out.append("model: none may be called — " + "; ".join(describe(c) for c in codes))
    fallbacks = doc.get("fallbacks") or []
    if fallbacks:
        out.append("fallbacks (when the model fails, try these in order):")
        for i, f in enumerate(fallbacks, 1):
            out.append(f"  {i}. {f.get('modelRef')} (lane {f.get('lane')}, score {f.get('score')})")
    blocked = doc.get("blockedCandidates") or []
    # models that only serve a lane the decision did not admit are listed on one line
    elsewhere = [b for b in blocked if (b.get("reasons") or []) == [LANE_MISMATCH]]
    blocked = [b for b in blocked if b not in elsewhere]
    if blocked:
        out.append("blocked models:")
        for b in blocked:
            out.append(f"  {b.get('modelRef')} (lane {b.get('lane')}, score {b.get('score')})")
            for code in b.get("reasons") or []:
                out.append(f"      - {describe(code)}")
    if elsewhere:
        out.append(f"models of lanes this decision did not admit ({LANE_MISMATCH}): "
                   + ", ".join(str(b.get("modelRef")) for b in elsewhere))
    return out


def summary(doc: dict[str, Any], describe: Describe) -> dict[str, Any] | None:
    if "model" not in doc:
        return None
    return {
        "model": doc.get("model"),
        "fallbacks": doc.get("fallbacks") or [],
        "blockedCandidates": [
            {**b, "reasonTexts": [describe(c) for c in b.get("reasons") or []]} for b in doc.get("blockedCandidates") or []
        ],
    }
