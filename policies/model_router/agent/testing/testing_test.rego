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
# description: |
#   Policy data with the active routing policy patched. PATCH has the shape of the policy's entry:
#   `document` patches the document (nested objects merge, arrays and other values replace) and the
#   keyed views Rego reads (`lanes`, `taskClasses`, `stages`) are rebuilt from the patched document,
#   as router/policy_data.py builds them; a patch of a view itself (`lanes`, ...) is applied on top.
with_policy(patch) := _replace("policies", _active.policy, object.union(
	{
		"document": doc,
		"lanes": _keyed(doc.modelLanes, "laneId"),
		"taskClasses": _keyed(doc.taskClasses, "taskClass"),
		"stages": _keyed(doc.chainStages, "stage"),
	},
	object.remove(patch, ["document"]),
)) if {
	doc := _patched("policies", _active.policy, patch)
}

# METADATA
# description: |
#   Policy data with the active optimizer patched (`document`; its `windows` and `riskFloors` views are
#   rebuilt from the patched document; a patch of a view is applied on top).
with_optimizer(patch) := _replace("optimizers", _active.optimizer, object.union(
	{
		"document": doc,
		"windows": _keyed(doc.budgetPolicy.windows, "window"),
		"riskFloors": _keyed(doc.qualityPolicy.riskFloors, "riskClass"),
	},
	object.remove(patch, ["document"]),
)) if {
	doc := _patched("optimizers", _active.optimizer, patch)
}

# METADATA
# description: |
#   Policy data with the active price catalog patched (`document`; its `lanes` view, each lane with
#   its resolved `defaultProfile`, is rebuilt from the patched document; a patch of a view is applied on top).
with_catalog(patch) := _replace("priceCatalogs", _active.priceCatalog, object.union(
	{"document": doc, "lanes": {lane.laneId: object.union(lane, {"defaultProfile": profile}) |
		some lane in doc.lanes
		some profile in lane.profiles
		profile.profileRef == lane.defaultProfileRef
	}},
	object.remove(patch, ["document"]),
)) if {
	doc := _patched("priceCatalogs", _active.priceCatalog, patch)
}

_patched(collection, id, patch) := object.union(
	data.model_router_data[collection][id].document,
	object.get(patch, "document", {}),
)

_keyed(items, key) := {item[key]: item | some item in items}

_replace(collection, id, entry) := json.patch(data.model_router_data, [{
	"op": "replace",
	"path": [collection, id],
	"value": stamped(data.model_router_data[collection][id], entry),
}])

# METADATA
# description: |
#   ENTRY (a rebuilt entry of data.model_router_data) with a digest, as router.model_data stamps every
#   entry: ORIGINAL (the entry in force) when ENTRY has the same content, else ENTRY with a digest of its
#   own content, so that tables built from ORIGINAL are stale for it (model_router.models.entries.current,
#   model_router.agent.config.tables).
stamped(original, entry) := original if {
	object.remove(entry, ["digest"]) == object.remove(original, ["digest"])
} else := object.union(entry, {"digest": sprintf("patched:%s", [crypto.sha256(json.marshal(object.remove(entry, ["digest"])))])})

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

test_with_policy_rebuilds_the_keyed_views_from_the_patched_document if {
	doc := data.model_router_data.policies[_active.policy].document
	docs := {"taskClass": "docs-update", "defaultLane": "cheap", "allowedEscalationLanes": [], "requiresHumanJustification": false}
	d := with_policy({"document": {"taskClasses": array.concat(doc.taskClasses, [docs])}})
	d.policies[_active.policy].taskClasses["docs-update"] == docs
	data.model_router.agent.config.task_classes["docs-update"] == docs with data.model_router_data as d
	without := with_policy({"document": {"chainStages": [s | some s in doc.chainStages; s.stage != "review"]}})
	not without.policies[_active.policy].stages.review
	with_policy({}).policies[_active.policy] == data.model_router_data.policies[_active.policy]
}

test_with_optimizer_and_with_catalog_rebuild_their_views if {
	opt := data.model_router_data.optimizers[_active.optimizer]
	with_optimizer({}).optimizers[_active.optimizer] == opt
	windows := [w | some w in opt.document.budgetPolicy.windows; w.window != "day"]
	d := with_optimizer({"document": {"budgetPolicy": {"windows": windows}}})
	not d.optimizers[_active.optimizer].windows.day
	with_catalog({}).priceCatalogs[_active.priceCatalog] == data.model_router_data.priceCatalogs[_active.priceCatalog]
}

test_base_bundle_is_routable if {
	d := decide(bundle)
	d.selected.lane == "standard"
	d.selected.status == "selected"
}
