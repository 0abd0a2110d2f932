"""The policy data as this installation holds it, read without asking OPA.

`policy_data()` is what the router falls back to when the engine cannot answer for its reason
catalogue and active policy id (rendering a fault, the guardrail document of unusable input, a
refused agentplane projection): the built data root (build/data/model_router_data/data.json, what
`make data` and the bundle build write), else the policy data assembled from policies/data now, else
nothing.
"""

from __future__ import annotations

import json
from typing import Any

from router import paths
from router import policy_data as policy_data_mod
from router.data_views import PolicyDataError


def policy_data() -> dict[str, Any]:
    """The model_router_data document: built, else assembled now, else {} (never raises)."""
    built = paths.BUILD / "data" / "model_router_data" / "data.json"
    try:
        doc = json.loads(built.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = None
    if isinstance(doc, dict):
        return doc
    try:
        assembled = policy_data_mod.assemble()
    except (PolicyDataError, OSError, ValueError, TypeError, KeyError):  # unusable policy data: codes are shown without texts
        return {}
    return assembled if isinstance(assembled, dict) else {}


def reasons() -> dict[str, Any]:
    """The reason catalogue of the local policy data ({} when there is none)."""
    found = policy_data().get("reasons")
    return found if isinstance(found, dict) else {}
