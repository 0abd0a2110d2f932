# METADATA
# title: Active agent-execution policy data
# description: |
#   Resolves the active routing policy, budget/resource optimizer and price catalog from
#   data.model_router_data (assembled by router.policy_data). Every other agent package reads the
#   documents through this one, so a missing or mismatched document is detected in one place.
package model_router.agent.config

_root := data.model_router_data

# METADATA
# description: Id of the active AgentExecutionModelRoutingPolicy.
policy_ref := _root.active.policy if is_string(_root.active.policy)

# METADATA
# description: Id of the active AgentExecutionBudgetResourceOptimizer.
optimizer_ref := _root.active.optimizer if is_string(_root.active.optimizer)

# METADATA
# description: Id of the active ModelPriceCatalog.
price_catalog_ref := _root.active.priceCatalog if is_string(_root.active.priceCatalog)

_policy_view := _root.policies[policy_ref] if is_object(_root.policies[policy_ref].document)

_optimizer_view := _root.optimizers[optimizer_ref] if is_object(_root.optimizers[optimizer_ref].document)

_catalog_view := _root.priceCatalogs[price_catalog_ref] if is_object(_root.priceCatalogs[price_catalog_ref].document)

# METADATA
# description: The active routing policy document.
policy := _policy_view.document

# METADATA
# description: Policy lanes keyed by laneId.
policy_lanes := _policy_view.lanes

# METADATA
# description: Policy task classes keyed by taskClass.
task_classes := _policy_view.taskClasses

# METADATA
# description: Policy chain stages keyed by stage.
stages := _policy_view.stages

# METADATA
# description: The active optimizer document.
optimizer := _optimizer_view.document

# METADATA
# description: Optimizer budget windows keyed by window name.
windows := _optimizer_view.windows

# METADATA
# description: Budget window names in the order the optimizer declares them (reasons follow this order).
window_order := [w.window | some w in optimizer.budgetPolicy.windows]

# METADATA
# description: Optimizer risk floors keyed by risk class.
risk_floors := _optimizer_view.riskFloors

# METADATA
# description: The active price catalog document.
catalog := _catalog_view.document

# METADATA
# description: Price catalog lanes keyed by laneId (each with its resolved defaultProfile).
catalog_lanes := _catalog_view.lanes

# METADATA
# description: The reason-code catalogue keyed by code (without its `:<suffix>`).
reason_catalogue := object.get(_root, "reasons", {})

# METADATA
# description: |
#   Why the policy data cannot be used, as reason codes; empty when the active documents are
#   present and consistent. Any entry makes the decision denied (fail closed).
problems contains "policy-data-unavailable:policy" if not policy

problems contains "policy-data-unavailable:optimizer" if not optimizer

problems contains "policy-data-unavailable:priceCatalog" if not catalog

problems contains "optimizer-policy-mismatch" if optimizer.policyRef != policy_ref

problems contains "currency-mismatch" if catalog.currency != optimizer.budgetPolicy.currency
