"""Input bundles the test suites build by hand (the example bundles live in examples/bundles/)."""

from __future__ import annotations


def personal_bundle(request_id: str = "req-p-1", **request_extra) -> dict:
    """A local-personal bundle the project policy decides (the example binding's local-router route)."""
    bundle = {
        "schemaVersion": "v0.1",
        "kind": "RouteInputBundle",
        "request": {
            "requestId": request_id,
            "taskClass": "router",
            "personal": {"bindingRef": "urn:socioprophet:model-router-binding:demo-user-local-llama32", "routeId": "local-router"},
        },
        "resources": {
            "localModelProfileAvailable": True, "localServiceHealthy": True, "batteryState": "normal",
            "thermalState": "normal", "memoryAvailableBytes": 17179869184, "networkAvailable": True,
            "providerErrorRate": 0.01, "providerLatencyP95Ms": 800,
        },
        "quota": {"providerQuotaKnown": True, "providerQuotaRemainingShare": 0.8},
    }
    bundle["request"].update(request_extra)
    return bundle
