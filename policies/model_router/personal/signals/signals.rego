# METADATA
# title: personal route signals
# description: |
#   Which runtime signals a local-personal route needs, which of them are missing or ill-typed, and the
#   snapshot of the signals used. A local target (base-local, personal-local, quality-local) reads the
#   local runtime's health; a hosted target reads network availability; a deny target reads nothing.
#   The signals needed are those of every target the route may try, so the outcome never depends on a
#   signal that was not checked.
package model_router.personal.signals

import data.model_router.lib
import data.model_router.personal.request

# Signals of the local runtime, in the order they are reported.
_local := ["localServiceHealthy", "localModelProfileAvailable", "memoryAvailableBytes", "thermalState", "batteryState"]

# Signals a hosted target reads.
_hosted := ["networkAvailable"]

# Every signal, in report order.
_order := array.concat(_local, _hosted)

# Signals per target kind.
_by_target := {
	"base-local": _local,
	"personal-local": _local,
	"quality-local": _local,
	"hosted": _hosted,
}

default _resources := {}

# The resources object of the bundle (empty when it is missing or not an object).
_resources := input.resources if is_object(input.resources)

_needed contains signal if {
	some target in request.targets
	some signal in object.get(_by_target, target, [])
}

# METADATA
# title: needed
# description: The signals the route's targets read, in report order.
needed := [signal | some signal in _order; signal in _needed]

# METADATA
# title: missing
# description: The needed signals that are absent or ill-typed, in report order.
missing := [signal | some signal in needed; not _well_typed(signal, object.get(_resources, signal, null))]

# METADATA
# title: runtime_health
# description: The well-typed values of the needed signals (the snapshot the decision used).
runtime_health[signal] := value if {
	some signal in needed
	value := _resources[signal]
	_well_typed(signal, value)
}

_well_typed("localServiceHealthy", value) if is_boolean(value)

_well_typed("localModelProfileAvailable", value) if is_boolean(value)

_well_typed("networkAvailable", value) if is_boolean(value)

_well_typed("memoryAvailableBytes", value) if lib.non_negative_integer(value)

_well_typed("thermalState", value) if value in {"normal", "elevated", "critical"}

_well_typed("batteryState", value) if value in {"normal", "low", "critical"}
