package model_router.personal.signals_test

import data.model_router.personal.signals

_binding_id := "urn:socioprophet:model-router-binding:test"

_routes := {
	"local": {
		"routeId": "local",
		"taskClass": "router",
		"preferredTarget": "base-local",
		"fallbackTarget": "quality-local",
		"requiresConsent": false,
		"requiresNetwork": false,
	},
	"hosted": {
		"routeId": "hosted",
		"taskClass": "router",
		"preferredTarget": "hosted",
		"fallbackTarget": "deny",
		"requiresConsent": true,
		"requiresNetwork": true,
	},
	"mixed": {
		"routeId": "mixed",
		"taskClass": "router",
		"preferredTarget": "hosted",
		"fallbackTarget": "personal-local",
		"requiresConsent": true,
		"requiresNetwork": true,
	},
	"deny": {
		"routeId": "deny",
		"taskClass": "router",
		"preferredTarget": "deny",
		"fallbackTarget": null,
		"requiresConsent": false,
		"requiresNetwork": false,
	},
}

_data := {"bindings": {_binding_id: {"document": {"bindingId": _binding_id}, "routes": _routes}}}

_healthy := {
	"localServiceHealthy": true,
	"localModelProfileAvailable": true,
	"memoryAvailableBytes": 4000,
	"thermalState": "normal",
	"batteryState": "low",
	"networkAvailable": false,
	"providerErrorRate": 0.5,
}

_input(route_id, resources) := {
	"request": {"requestId": "r", "taskClass": "router", "personal": {"bindingRef": _binding_id, "routeId": route_id}},
	"resources": resources,
}

_local := ["localServiceHealthy", "localModelProfileAvailable", "memoryAvailableBytes", "thermalState", "batteryState"]

test_local_route_needs_the_local_signals if {
	signals.needed == _local with input as _input("local", _healthy) with data.model_router_data as _data
}

test_hosted_route_needs_network_only if {
	signals.needed == ["networkAvailable"] with input as _input("hosted", _healthy) with data.model_router_data as _data
}

test_mixed_route_needs_both if {
	signals.needed == array.concat(_local, ["networkAvailable"]) with input as _input("mixed", _healthy)
		with data.model_router_data as _data
}

test_deny_route_needs_nothing if {
	signals.needed == [] with input as _input("deny", {}) with data.model_router_data as _data
	signals.missing == [] with input as _input("deny", {}) with data.model_router_data as _data
}

test_unknown_route_needs_nothing if {
	signals.needed == [] with input as _input("nowhere", {}) with data.model_router_data as _data
}

test_no_missing_signal_when_all_are_well_typed if {
	signals.missing == [] with input as _input("mixed", _healthy) with data.model_router_data as _data
}

test_absent_resources_are_all_missing if {
	b := {"request": _input("mixed", {}).request}
	signals.missing == array.concat(_local, ["networkAvailable"]) with input as b with data.model_router_data as _data
}

test_resources_not_an_object if {
	signals.missing == _local with input as _input("local", "healthy") with data.model_router_data as _data
}

test_ill_typed_signals_are_missing if {
	bad := {
		"localServiceHealthy": "yes",
		"localModelProfileAvailable": 1,
		"memoryAvailableBytes": -1,
		"thermalState": "hot",
		"batteryState": "full",
		"networkAvailable": null,
	}
	signals.missing == array.concat(_local, ["networkAvailable"]) with input as _input("mixed", bad)
		with data.model_router_data as _data
}

test_fractional_memory_is_ill_typed if {
	signals.missing == ["memoryAvailableBytes"] with input as _input("local", object.union(_healthy, {"memoryAvailableBytes": 1.5}))
		with data.model_router_data as _data
}

test_runtime_health_reports_the_signals_used if {
	signals.runtime_health == object.remove(_healthy, ["networkAvailable", "providerErrorRate"]) with input as _input("local", _healthy)
		with data.model_router_data as _data
	signals.runtime_health == {"networkAvailable": false} with input as _input("hosted", _healthy)
		with data.model_router_data as _data
}

test_runtime_health_omits_absent_and_ill_typed_signals if {
	resources := {"thermalState": "critical", "batteryState": "empty"}
	signals.runtime_health == {"thermalState": "critical"} with input as _input("local", resources)
		with data.model_router_data as _data
}
