# METADATA
# title: Active agent-execution policy data
# description: |
#   Resolves the active routing policy, budget/resource optimizer and price catalog from
#   data.model_router_data (assembled by router.policy_data). Every other agent package reads the
#   documents through this one, so a missing or mismatched document is detected in one place.
package model_router.agent.config

# Documents are read leaf by leaf (never the whole of data.model_router_data at once): reading a
# subtree from the store costs in proportion to its size.

# METADATA
# description: Id of the active AgentExecutionModelRoutingPolicy.
policy_ref := id if {
	id := data.model_router_data.active.policy
	is_string(id)
}

# METADATA
# description: Id of the active AgentExecutionBudgetResourceOptimizer.
optimizer_ref := id if {
	id := data.model_router_data.active.optimizer
	is_string(id)
}

# METADATA
# description: Id of the active ModelPriceCatalog.
price_catalog_ref := id if {
	id := data.model_router_data.active.priceCatalog
	is_string(id)
}

# METADATA
# description: The active routing policy document.
policy := doc if {
	doc := data.model_router_data.policies[policy_ref].document
	is_object(doc)
}

# METADATA
# description: Policy lanes keyed by laneId.
policy_lanes := data.model_router_data.policies[policy_ref].lanes if policy

# METADATA
# description: Policy task classes keyed by taskClass.
task_classes := data.model_router_data.policies[policy_ref].taskClasses if policy

# METADATA
# description: Policy chain stages keyed by stage.
stages := data.model_router_data.policies[policy_ref].stages if policy

# METADATA
# description: The active optimizer document.
optimizer := doc if {
	doc := data.model_router_data.optimizers[optimizer_ref].document
	is_object(doc)
}

# METADATA
# description: Optimizer budget windows keyed by window name.
windows := data.model_router_data.optimizers[optimizer_ref].windows if optimizer

# METADATA
# description: Budget window names in the order the optimizer declares them (reasons follow this order).
window_order := [w.window | some w in optimizer.budgetPolicy.windows]

# METADATA
# description: Optimizer risk floors keyed by risk class.
risk_floors := data.model_router_data.optimizers[optimizer_ref].riskFloors if optimizer

# METADATA
# description: The active price catalog document.
catalog := doc if {
	doc := data.model_router_data.priceCatalogs[price_catalog_ref].document
	is_object(doc)
}

# METADATA
# description: Price catalog lanes keyed by laneId (each with its resolved defaultProfile).
catalog_lanes := data.model_router_data.priceCatalogs[price_catalog_ref].lanes if catalog

# METADATA
# description: The reason-code catalogue keyed by code (without its `:<suffix>`).
reason_catalogue := object.get(data.model_router_data, "reasons", {})

# METADATA
# description: |
#   Why the policy data cannot be used, as reason codes (a set); empty when the active documents
#   are present and consistent. Any entry makes the decision denied (fail closed).
problems := set() if {
	# the usual case, in one body: every document present, the optimizer for the policy, one currency
	policy
	optimizer.policyRef == policy_ref
	catalog.currency == optimizer.budgetPolicy.currency
} else := _problems

_problems contains "policy-data-unavailable:policy" if not policy

_problems contains "policy-data-unavailable:optimizer" if not optimizer

_problems contains "policy-data-unavailable:priceCatalog" if not catalog

_problems contains "optimizer-policy-mismatch" if optimizer.policyRef != policy_ref

_problems contains "currency-mismatch" if catalog.currency != optimizer.budgetPolicy.currency

# METADATA
# description: |
#   What the request-independent agent tables (model_router.models.tables.agent) are computed from:
#   the digests of the active policy, optimizer and price catalog entries (router.policy_data stamps
#   each entry of data.model_router_data with the digest of its content, ids included; null when absent).
table_inputs := {
	"policy": _digest("policies", policy_ref),
	"optimizer": _digest("optimizers", optimizer_ref),
	"priceCatalog": _digest("priceCatalogs", price_catalog_ref),
}

_digest(collection, id) := object.get(data.model_router_data, [collection, id, "digest"], null)

# METADATA
# scope: document
# description: |
#   The stored agent tables (data.model_router_data.modelTables.agent, built by `make data`) when they
#   were built from the documents in force: the active policy, optimizer and price catalog entries
#   carry the digests the tables recorded (table_inputs); undefined otherwise (also when an entry has
#   no digest), and the agent packages then compute what they need per decision.
tables := stored if {
	stored := object.get(data.model_router_data, ["modelTables", "agent"], null)
	inputs := stored.inputs
	inputs.policy == data.model_router_data.policies[policy_ref].digest
	inputs.optimizer == data.model_router_data.optimizers[optimizer_ref].digest
	inputs.priceCatalog == data.model_router_data.priceCatalogs[price_catalog_ref].digest
}
