package model_router.agent.local_test

import data.model_router.agent.local
import data.model_router.agent.testing_test as t

_floor := data.model_router_data.optimizers[data.model_router_data.active.optimizer].document.resourcePolicy.localAdmission.minMemoryAvailableBytes

test_healthy_machine_admits_the_local_lane if {
	local.failures("local-cheap") == [] with input as t.bundle
}

test_only_local_runtime_lanes_are_checked if {
	b := t.with_resources({"thermalState": "critical"})
	local.failures("no-model") == [] with input as b
	local.failures("cheap") == [] with input as b
}

test_each_local_check if {
	local.failures("local-cheap") == ["local-model-profile-unavailable"] with input as t.with_resources({"localModelProfileAvailable": false})
	local.failures("local-cheap") == ["local-service-unhealthy"] with input as t.with_resources({"localServiceHealthy": false})
	local.failures("local-cheap") == ["thermal-critical"] with input as t.with_resources({"thermalState": "critical"})
	local.failures("local-cheap") == ["battery-critical"] with input as t.with_resources({"batteryState": "critical"})
	local.failures("local-cheap") == ["insufficient-local-memory"] with input as t.with_resources({"memoryAvailableBytes": 1024})
	b := t.with_resources({"localProfileRef": "urn:srcos:model-profile:unvetted-70b"})
	local.failures("local-cheap") == ["local-profile-not-allowed"] with input as b
}

test_elevated_and_low_states_are_admitted if {
	local.failures("local-cheap") == [] with input as t.with_resources({"thermalState": "elevated", "batteryState": "low"})
}

test_every_local_check_in_table_order if {
	b := t.with_resources({
		"localModelProfileAvailable": false, "localServiceHealthy": false, "thermalState": "critical",
		"batteryState": "critical", "memoryAvailableBytes": 0, "localProfileRef": "urn:srcos:model-profile:unvetted-70b",
	})
	local.failures("local-cheap") == [
		"local-model-profile-unavailable", "local-service-unhealthy", "thermal-critical",
		"battery-critical", "insufficient-local-memory", "local-profile-not-allowed",
	] with input as b
}

test_memory_exactly_at_the_floor_is_admitted if {
	local.failures("local-cheap") == [] with input as t.with_resources({"memoryAvailableBytes": _floor})
}

test_memory_one_byte_below_the_floor_is_not if {
	local.failures("local-cheap") == ["insufficient-local-memory"] with input as t.with_resources({"memoryAvailableBytes": _floor - 1})
}

test_critical_states_admitted_when_the_optimizer_allows_them if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"localAdmission": {
		"denyWhenThermalCritical": false,
		"denyWhenBatteryCritical": false,
	}}}})
	b := t.with_resources({"thermalState": "critical", "batteryState": "critical"})
	local.failures("local-cheap") == [] with input as b with data.model_router_data as d
}

test_profile_defaults_to_the_catalog_default_profile if {
	local.profile_ref("local-cheap") == "urn:srcos:model-profile:local-llama32-1b" with input as t.bundle
	b := t.with_resources({"localProfileRef": "urn:srcos:model-profile:local-llama32-3b"})
	local.profile_ref("local-cheap") == "urn:srcos:model-profile:local-llama32-3b" with input as b
}

test_any_profile_when_no_allow_list if {
	id := data.model_router_data.active.optimizer
	d := json.remove(data.model_router_data, [["optimizers", id, "document", "resourcePolicy", "localAdmission", "allowedProfileRefs"]])
	b := t.with_resources({"localProfileRef": "urn:srcos:model-profile:unvetted-70b"})
	local.failures("local-cheap") == [] with input as b with data.model_router_data as d
}

test_absent_optional_signals_fail_closed if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"requiredSignals": ["estimatedInputTokens"]}}})
	b := json.remove(
		t.bundle,
		[
			"resources/localModelProfileAvailable",
			"resources/localServiceHealthy",
			"resources/memoryAvailableBytes",
			"resources/thermalState",
		],
	)
	local.failures("local-cheap") == [
		"local-model-profile-unavailable", "local-service-unhealthy", "insufficient-local-memory",
	] with input as b with data.model_router_data as d
}

test_only_failing_local_runtime_lanes_are_keys if {
	local.failures_by_lane == {} with input as t.bundle
	object.keys(local.failures_by_lane) == {"local-cheap"} with input as t.with_resources({"thermalState": "critical"})
	local.failures("standard") == [] with input as t.bundle
	not local.failures("turbo") with input as t.bundle
}

test_default_profile_outside_the_allow_list if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"localAdmission": {
		"allowedProfileRefs": ["urn:srcos:model-profile:local-llama32-3b"],
	}}}})
	local.failures("local-cheap") == ["local-profile-not-allowed"] with input as t.bundle with data.model_router_data as d
	b := t.with_resources({"localProfileRef": "urn:srcos:model-profile:local-llama32-3b"})
	local.failures("local-cheap") == [] with input as b with data.model_router_data as d
}
