package model_router.agent.config_test

import data.model_router.agent.config
import data.model_router.agent.testing_test as t

test_active_documents_resolve if {
	config.policy.policyId == data.model_router_data.active.policy
	config.optimizer.optimizerId == data.model_router_data.active.optimizer
	config.catalog.catalogId == data.model_router_data.active.priceCatalog
	count(config.problems) == 0
}

test_window_order_follows_the_optimizer if {
	config.window_order == ["task", "session", "day"]
}

test_reason_catalogue_is_loaded if {
	config.reason_catalogue["no-feasible-candidate"].severity == "high"
}

test_no_policy_data_at_all if {
	config.problems == {
		"policy-data-unavailable:policy",
		"policy-data-unavailable:optimizer",
		"policy-data-unavailable:priceCatalog",
	} with data.model_router_data as {}
}

test_active_policy_not_loaded if {
	d := object.union(data.model_router_data, {"active": {"policy": "urn:socioprophet:model-routing-policy:absent"}})
	"policy-data-unavailable:policy" in config.problems with data.model_router_data as d
}

test_active_ids_of_the_wrong_type if {
	d := object.union(data.model_router_data, {"active": {"policy": 7, "optimizer": null, "priceCatalog": false}})
	count(config.problems) == 3 with data.model_router_data as d
}

test_optimizer_for_another_policy if {
	d := t.with_optimizer({"document": {"policyRef": "urn:socioprophet:model-routing-policy:other"}})
	config.problems == {"optimizer-policy-mismatch"} with data.model_router_data as d
}

test_currency_mismatch if {
	d := t.with_catalog({"document": {"currency": "EUR"}})
	config.problems == {"currency-mismatch"} with data.model_router_data as d
}

test_stored_tables_are_used_only_for_their_inputs if {
	active := data.model_router_data.active
	config.table_inputs == {
		"policy": data.model_router_data.policies[active.policy].digest,
		"optimizer": data.model_router_data.optimizers[active.optimizer].digest,
		"priceCatalog": data.model_router_data.priceCatalogs[active.priceCatalog].digest,
	}
	startswith(config.table_inputs.policy, "sha256:")
	config.tables == data.model_router_data.modelTables.agent
	stale := json.patch(data.model_router_data, [{"op": "replace", "path": ["modelTables", "agent", "inputs"], "value": {}}])
	not config.tables with data.model_router_data as stale
}

test_stored_tables_are_not_used_when_a_document_changed if {
	not config.tables with data.model_router_data as t.with_policy({"document": {"description": "changed"}})
	not config.tables with data.model_router_data as t.with_optimizer({"document": {"description": "changed"}})
	not config.tables with data.model_router_data as t.with_catalog({"document": {"description": "changed"}})
}

test_stored_tables_are_not_used_for_entries_without_a_digest if {
	active := data.model_router_data.active
	unstamped := json.patch(data.model_router_data, [{"op": "remove", "path": ["policies", active.policy, "digest"]}])
	config.table_inputs.policy == null with data.model_router_data as unstamped
	not config.tables with data.model_router_data as unstamped
}

# The optimizer names the active policy, but that policy's document is unusable: still a problem
# (the usual-case body checks the policy document itself, not only its id).
test_active_policy_document_unusable if {
	patch := {"policies": {data.model_router_data.active.policy: {"document": "not an object"}}}
	d := object.union(data.model_router_data, patch)
	config.problems == {"policy-data-unavailable:policy"} with data.model_router_data as d
}
