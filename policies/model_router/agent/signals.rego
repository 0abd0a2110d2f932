# METADATA
# title: Resource, quota and estimate signals
# description: |
#   Looks up every signal the optimizer requires (`resourcePolicy.requiredSignals`) in input.resources,
#   then input.quota, then input.request, and checks its type. A required signal that is absent, null
#   or ill-typed is missing; so is an optional signal that is present but ill-typed, and any budget
#   spend field (`spent`, `highEndSpent`, `proSpent`) of a window the optimizer declares. Missing
#   signals deny the decision (`missing-signals`) before any lane is evaluated.
package model_router.agent.signals

import data.model_router.agent.config

# The contract's signal types (routing-semantics, section 1). A signal the optimizer requires
# but this table does not know only has to be present and non-null.
_types := {
	"localModelProfileAvailable": "boolean",
	"localServiceHealthy": "boolean",
	"batteryState": "battery",
	"thermalState": "thermal",
	"memoryAvailableBytes": "count",
	"networkAvailable": "boolean",
	"providerQuotaKnown": "boolean",
	"providerQuotaRemainingShare": "share",
	"providerErrorRate": "fraction",
	"providerLatencyP95Ms": "count",
	"estimatedInputTokens": "count",
	"estimatedOutputTokens": "count",
	"estimatedCacheReadTokens": "count",
	"estimatedToolCalls": "count",
	"estimatedLocalRuntimeMinutes": "amount",
	"localProfileRef": "string",
}

_well_typed("boolean", value) if is_boolean(value)

_well_typed("battery", value) if value in {"normal", "low", "critical"}

_well_typed("thermal", value) if value in {"normal", "elevated", "critical"}

_well_typed("count", value) if {
	is_number(value)
	value >= 0
	value == round(value)
}

_well_typed("amount", value) if {
	is_number(value)
	value >= 0
}

_well_typed("share", value) if {
	is_number(value)
	value <= 1
}

_well_typed("fraction", value) if {
	is_number(value)
	value >= 0
	value <= 1
}

_well_typed("string", value) if {
	is_string(value)
	value != ""
}

_well_typed("any", value) if value != null

_section(name) := section if {
	section := input[name]
	is_object(section)
} else := {}

# Every signal source merged once: resources win over quota, quota over the request.
_merged := object.union_n([_section("request"), _section("quota"), _section("resources")])

_lookup(name) := _merged[name]

_required := {name | some name in config.optimizer.resourcePolicy.requiredSignals}

_names := _required | object.keys(_types)

# METADATA
# description: Every known or required signal that is present and well-typed, by name.
value := {name: v |
	some name in _names
	v := _lookup(name)
	_well_typed(object.get(_types, name, "any"), v)
}

_budget_fields := ["spent", "highEndSpent", "proSpent"]

# METADATA
# description: Budget spend per declared window, {spent, highEndSpent, proSpent}, when every field is a non-negative number.
budget_spend := {window: spend |
	some window in config.window_order
	spend := input.quota.budget[window]
	every field in _budget_fields {
		_well_typed("amount", spend[field])
	}
}

_present(name) if value[name] != null

_missing contains name if {
	some name in _required
	not _present(name)
}

_missing contains name if {
	some name, _ in _types
	_lookup(name) != null
	not _present(name)
}

_missing contains sprintf("budget.%s.%s", [window, field]) if {
	some window in config.window_order
	some field in _budget_fields
	not _spend_field_ok(window, field)
}

_spend_field_ok(window, field) if _well_typed("amount", input.quota.budget[window][field])

# METADATA
# description: Names of the missing or ill-typed signals, sorted.
missing := sort(_missing)
