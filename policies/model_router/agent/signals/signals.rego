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
import data.model_router.lib

# The contract's signal types (routing-semantics, section 1). A signal the optimizer requires
# but this table does not know only has to be present and non-null.
# Signal names by type.
_booleans := {"localModelProfileAvailable", "localServiceHealthy", "networkAvailable", "providerQuotaKnown"}

_counts := {
	"memoryAvailableBytes", "providerLatencyP95Ms", "estimatedInputTokens", "estimatedOutputTokens",
	"estimatedCacheReadTokens", "estimatedToolCalls",
}

_enums := {
	"batteryState": {"normal", "low", "critical"},
	"thermalState": {"normal", "elevated", "critical"},
}

# Every known signal (_booleans, _counts, the _enums and the other numbers and strings), written out:
# a constant, not a union computed per query.
_known := {
	"localModelProfileAvailable", "localServiceHealthy", "networkAvailable", "providerQuotaKnown",
	"memoryAvailableBytes", "providerLatencyP95Ms", "estimatedInputTokens", "estimatedOutputTokens",
	"estimatedCacheReadTokens", "estimatedToolCalls", "batteryState", "thermalState",
	"providerQuotaRemainingShare", "providerErrorRate", "estimatedLocalRuntimeMinutes", "localProfileRef",
}

# Every signal source merged once: resources win over quota, quota over the request (a source that is
# absent or not an object is left out).
_merged := object.union_n([section |
	some name in ["request", "quota", "resources"]
	section := input[name]
	is_object(section)
])

# The required signal names, as the optimizer lists them (an array: used as keys, never walked
# when every required signal is valid).
_required := config.optimizer.resourcePolicy.requiredSignals

# The names of the known signals the request carries (possibly null or ill-typed): an intersection
# of key sets (cheaper than filtering the merged object).
_present_names := _known & object.keys(_merged)

# METADATA
# description: Every known or required signal that is present and well-typed, by name.
value := object.union_n([
	{name: v | some name in _booleans; v := _merged[name]; is_boolean(v)},
	# counts: lib.non_negative_integer, written out (one function call less per signal)
	{name: v |
		some name in _counts
		v := _merged[name]
		is_number(v)
		v >= 0
		v == round(v)
	},
	{name: v | some name, allowed in _enums; v := _merged[name]; v in allowed},
	# one comprehension per signal below (no function call): providerQuotaRemainingShare is a number
	# at most 1 (negative means unknown), providerErrorRate a fraction, estimatedLocalRuntimeMinutes a
	# non-negative amount, localProfileRef a non-empty string
	{name: v | name := "providerQuotaRemainingShare"; v := _merged[name]; is_number(v); v <= 1},
	{name: v | name := "providerErrorRate"; v := _merged[name]; is_number(v); v >= 0; v <= 1},
	{name: v | name := "estimatedLocalRuntimeMinutes"; v := _merged[name]; is_number(v); v >= 0},
	{name: v | name := "localProfileRef"; v := _merged[name]; is_string(v); v != ""},
	# required signals this policy does not know: present and non-null
	{name: v | some name, v in object.remove(object.filter(_merged, _required), _known); v != null},
])

_budget_fields := ["spent", "highEndSpent", "proSpent"]

# METADATA
# description: |
#   Budget spend per declared window, {spent, highEndSpent, proSpent} (no other member), when every
#   field is a non-negative number.
budget_spend := {window: {"spent": spent, "highEndSpent": high_end, "proSpent": pro} |
	some window in config.window_order
	spend := input.quota.budget[window]

	# lib.non_negative of each of _budget_fields, written out (no walk, no function call; each
	# field read once)
	spent := spend.spent
	is_number(spent)
	spent >= 0
	high_end := spend.highEndSpent
	is_number(high_end)
	high_end >= 0
	pro := spend.proSpent
	is_number(pro)
	pro >= 0
}

_valid_names := object.keys(value)

# Known signals present with a non-null value but ill-typed (only the present, invalid ones are walked).
_ill_typed := {name | some name in (_present_names - _valid_names); _merged[name] != null}

# Required signals that are absent, null or ill-typed: those without a valid value (by key: a valid
# `false` is present). Only read when `missing` is not answered by its counts.
_missing_required := {name | some name in _required} - _valid_names

_missing_signals := _missing_required | _ill_typed

_missing_spend := {sprintf("budget.%s.%s", [window, field]) |
	some window in config.window_order
	not budget_spend[window]
	some field in _budget_fields
	not _spend_field_ok(window, field)
}

_spend_field_ok(window, field) if lib.non_negative(input.quota.budget[window][field])

# METADATA
# description: Names of the missing or ill-typed signals, sorted.
missing := [] if {
	# the usual case, from counts and one set difference: every present known signal is valid (so
	# none is ill-typed or null), every required one is valid, and every declared window has its
	# spend (budget_spend's keys are declared windows, so equal counts mean every one)
	count(_present_names - _valid_names) == 0
	count(_missing_required) == 0
	count(budget_spend) == count(config.window_order)
} else := sort(_missing_signals | _missing_spend)
