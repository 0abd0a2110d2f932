# METADATA
# title: Shared test bundles for the agent packages
# description: |
#   A routable base bundle (routine code at the execution stage, medium risk, healthy machine and
#   provider, fresh budgets) and helpers that patch its request, resources, quota or the policy data.
#   Each agent test module starts from it and changes only what its test is about.
package model_router.agent.testing_test

import data.model_router.approvals.testing_test as approvals

# METADATA
# description: The base bundle; decided as `standard` (selected-cheapest-feasible).
bundle := {
	"schemaVersion": "v0.1",
	"kind": "RouteInputBundle",
	"request": {
		"requestId": "req-test-0001",
		"executionSurface": "codex",
		"subject": {"userRef": "urn:socioprophet:user:demo-user", "workspaceRef": "urn:socioprophet:workspace:demo-workspace"},
		"taskClass": "routine-code",
		"stage": "execution",
		"riskClass": "medium",
		"requestedLane": null,
		"escalation": null,
		"standardLaneFailures": 0,
		"deterministicVerificationAvailable": false,
		"dataClass": "internal",
		"egressApprovalRef": "urn:socioprophet:policy-decision:egress-test-0001",
		"egressApprovalToken": approvals.tokens.egress,
		"prompt": {"sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "chars": 1200},
		"estimatedInputTokens": 20000,
		"estimatedOutputTokens": 2000,
	},
	"resources": {
		"localModelProfileAvailable": true,
		"localServiceHealthy": true,
		"batteryState": "normal",
		"thermalState": "normal",
		"memoryAvailableBytes": 8589934592,
		"networkAvailable": true,
		"providerErrorRate": 0.01,
		"providerLatencyP95Ms": 4000,
	},
	"quota": {
		"providerQuotaKnown": true,
		"providerQuotaRemainingShare": 0.8,
		"budget": {
			"task": {"spent": 0.1, "highEndSpent": 0, "proSpent": 0},
			"session": {"spent": 1, "highEndSpent": 0, "proSpent": 0},
			"day": {"spent": 5, "highEndSpent": 0, "proSpent": 0},
		},
	},
	"evaluation": approvals.evaluation,
}

# METADATA
# description: A valid escalation for every premium lane of the base bundle's task class (routine-code).
valid_escalation := escalation_for("routine-code", "architecture-decision")

# METADATA
# description: A valid escalation (verified receipt, visible justification) for a task class and reason.
escalation_for(task_class, reason) := {
	"reason": reason,
	"receiptRef": "urn:socioprophet:escalation-receipt:test-0001",
	"receiptToken": approvals.receipts[sprintf("%s/%s", [task_class, reason])],
	"humanJustification": "irreversible storage choice with no rollback path",
}

# METADATA
# description: The base bundle with its request patched (nested objects merge, other values replace).
with_request(patch) := object.union(bundle, {"request": patch})

# METADATA
# description: The base bundle with its resources patched.
with_resources(patch) := object.union(bundle, {"resources": patch})

# METADATA
# description: The base bundle with its quota patched.
with_quota(patch) := object.union(bundle, {"quota": patch})

# METADATA
# description: The base bundle with request, resources and quota patched.
with_all(request, resources, quota) := object.union(bundle, {"request": request, "resources": resources, "quota": quota})

_active := data.model_router_data.active

# METADATA
# description: Policy data with the active routing policy document patched (keyed views patched alike).
with_policy(patch) := object.union(data.model_router_data, {"policies": {_active.policy: patch}})

# METADATA
# description: Policy data with the active optimizer patched.
with_optimizer(patch) := object.union(data.model_router_data, {"optimizers": {_active.optimizer: patch}})

# METADATA
# description: Policy data with the active price catalog patched.
with_catalog(patch) := object.union(data.model_router_data, {"priceCatalogs": {_active.priceCatalog: patch}})

# METADATA
# description: The decision for a bundle under the loaded policy data.
decide(b) := d if {
	d := data.model_router.agent.decision.result with input as b
}

# METADATA
# description: The candidate of a decision for a lane.
candidate(decision, lane) := c if {
	some c in decision.candidateSet
	c.lane == lane
}

test_base_bundle_is_routable if {
	d := decide(bundle)
	d.selected.lane == "standard"
	d.selected.status == "selected"
}
