package model_router.agent.signals_test

import data.model_router.agent.signals
import data.model_router.agent.testing_test as t

test_complete_bundle_has_no_missing_signals if {
	signals.missing == [] with input as t.bundle
	signals.value.memoryAvailableBytes == 8589934592 with input as t.bundle
	signals.value.estimatedInputTokens == 20000 with input as t.bundle
	signals.budget_spend.task.spent == 0.1 with input as t.bundle
}

test_absent_required_signals_are_missing if {
	b := json.remove(t.bundle, ["resources/thermalState", "quota/providerQuotaKnown", "request/estimatedOutputTokens"])
	signals.missing == ["estimatedOutputTokens", "providerQuotaKnown", "thermalState"] with input as b
}

test_a_false_boolean_signal_is_not_missing_beside_a_missing_one if {
	b := json.remove(t.with_resources({"networkAvailable": false}), ["resources/thermalState"])
	signals.missing == ["thermalState"] with input as b
}

test_null_signal_is_missing if {
	signals.missing == ["networkAvailable"] with input as t.with_resources({"networkAvailable": null})
}

test_ill_typed_signals_are_missing if {
	b := t.with_all(
		{"estimatedInputTokens": "many", "estimatedOutputTokens": 10.5},
		{
			"batteryState": "empty", "thermalState": "hot", "memoryAvailableBytes": -1,
			"localModelProfileAvailable": "yes", "localServiceHealthy": 1, "networkAvailable": "up",
			"providerErrorRate": 1.5, "providerLatencyP95Ms": "fast",
		},
		{"providerQuotaKnown": "maybe", "providerQuotaRemainingShare": 1.2},
	)
	signals.missing == [
		"batteryState", "estimatedInputTokens", "estimatedOutputTokens", "localModelProfileAvailable",
		"localServiceHealthy", "memoryAvailableBytes", "networkAvailable", "providerErrorRate",
		"providerLatencyP95Ms", "providerQuotaKnown", "providerQuotaRemainingShare", "thermalState",
	] with input as b
}

test_negative_quota_share_is_well_typed if {
	signals.missing == [] with input as t.with_quota({"providerQuotaRemainingShare": -1})
	signals.value.providerQuotaRemainingShare == -1 with input as t.with_quota({"providerQuotaRemainingShare": -1})
}

test_signals_are_found_in_quota_and_request_too if {
	moved := json.remove(t.bundle, ["resources/networkAvailable", "resources/memoryAvailableBytes"])
	b := object.union(moved, {"quota": {"networkAvailable": true}, "request": {"memoryAvailableBytes": 4096}})
	signals.missing == [] with input as b
	signals.value.memoryAvailableBytes == 4096 with input as b
}

test_resources_take_precedence_over_the_request if {
	b := t.with_request({"memoryAvailableBytes": 1})
	signals.value.memoryAvailableBytes == 8589934592 with input as b
}

test_optional_ill_typed_signals_are_missing if {
	b := t.with_all({"estimatedToolCalls": "x", "estimatedLocalRuntimeMinutes": -2}, {"localProfileRef": 3}, {})
	signals.missing == ["estimatedLocalRuntimeMinutes", "estimatedToolCalls", "localProfileRef"] with input as b
}

test_optional_signals_when_well_typed if {
	b := t.with_all(
		{"estimatedToolCalls": 2, "estimatedLocalRuntimeMinutes": 0.5},
		{"localProfileRef": "urn:srcos:model-profile:local-llama32-3b"},
		{},
	)
	signals.missing == [] with input as b
	signals.value.estimatedLocalRuntimeMinutes == 0.5 with input as b
}

test_budget_spend_for_every_window_is_required if {
	b := json.remove(t.bundle, ["quota/budget/session"])
	signals.missing == ["budget.session.highEndSpent", "budget.session.proSpent", "budget.session.spent"] with input as b
	not signals.budget_spend.session with input as b
}

test_budget_spend_keeps_only_the_spend_fields if {
	b := t.with_quota({"budget": {"task": {"spent": 0.1, "highEndSpent": 0, "proSpent": 0, "note": "x"}}})
	signals.budget_spend.task == {"spent": 0.1, "highEndSpent": 0, "proSpent": 0} with input as b
}

test_ill_typed_budget_spend if {
	b := t.with_quota({"budget": {"task": {"spent": "0.1", "proSpent": -1}}})
	signals.missing == ["budget.task.proSpent", "budget.task.spent"] with input as b
}

test_no_quota_at_all if {
	b := json.remove(t.bundle, ["quota"])
	count(signals.missing) == 11 with input as b
}

test_required_signal_outside_the_type_table if {
	signals_list := data.model_router_data.optimizers[data.model_router_data.active.optimizer].document.resourcePolicy.requiredSignals
	d := t.with_optimizer({"document": {"resourcePolicy": {"requiredSignals": array.concat(signals_list, ["gpuAvailable"])}}})
	signals.missing == ["gpuAvailable"] with input as t.bundle with data.model_router_data as d
	signals.missing == [] with input as t.with_resources({"gpuAvailable": false}) with data.model_router_data as d
}

test_input_that_is_not_an_object if {
	count(signals.missing) == 21 with input as "text"
}

test_known_is_every_typed_signal if {
	signals._known == ((signals._booleans | signals._counts) | object.keys(signals._enums)) | {
		"providerQuotaRemainingShare", "providerErrorRate", "estimatedLocalRuntimeMinutes",
		"localProfileRef",
	}
}
