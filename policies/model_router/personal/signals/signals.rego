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

# Target kinds that read the local runtime's signals.
_local_kinds := {"base-local", "personal-local", "quality-local"}

default _resources := {}

# The resources object of the bundle (empty when it is missing or not an object).
_resources := input.resources if is_object(input.resources)

_reads_local if {
	some target in request.targets
	target in _local_kinds
}

_reads_hosted if "hosted" in request.targets

# METADATA
# scope: document
# title: needed
# description: The signals the route's targets read, in report order.
default needed := []

needed := _order if {
	_reads_local
	_reads_hosted
} else := _local if {
	_reads_local
} else := _hosted if {
	_reads_hosted
}

# METADATA
# title: missing
# description: The needed signals that are absent or ill-typed, in report order.
missing := [] if count(runtime_health) == count(needed)

else := [signal | some signal in needed; object.get(runtime_health, signal, null) == null]

# METADATA
# scope: document
# title: runtime_health
# description: The well-typed values of the needed signals (the snapshot the decision used).
default runtime_health := {}

# One object comprehension (a partial object rule costs more allocations per signal).
runtime_health := health if {
	count(needed) > 0
	health := {signal: value |
		some signal in needed
		value := _resources[signal]
		value in _allowed[signal]
	}
}

# The well-typed values of each signal: booleans, a vocabulary, or the bundle's own memory value when
# it is a non-negative integer (lib.non_negative_integer).
_allowed := {
	"localServiceHealthy": {true, false},
	"localModelProfileAvailable": {true, false},
	"networkAvailable": {true, false},
	"thermalState": {"normal", "elevated", "critical"},
	"batteryState": {"normal", "low", "critical"},
	"memoryAvailableBytes": _memory_values,
}

default _memory_values := set()

_memory_values := {memory} if {
	memory := _resources.memoryAvailableBytes
	lib.non_negative_integer(memory)
}
