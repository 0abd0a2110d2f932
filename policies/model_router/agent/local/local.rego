# METADATA
# title: Local admission
# description: |
#   Rule 9, for lanes that run on a local model runtime: the local model profile must be available,
#   the local service healthy, the machine not thermal- or battery-critical (when the optimizer denies
#   those states), memory at least `minMemoryAvailableBytes`, and the profile in use (the request's
#   `localProfileRef`, else the lane's default price profile) among `allowedProfileRefs` when declared.
#   Positive evidence is required: an absent availability, health or memory signal fails its check.
package model_router.agent.local

import data.model_router.agent.config
import data.model_router.agent.lanes
import data.model_router.agent.signals

# METADATA
# scope: document
# description: The local profile a lane would run (the requested localProfileRef, else the lane's default profile).
profile_ref(_) := signals.value.localProfileRef

profile_ref(lane) := config.catalog_lanes[lane].defaultProfileRef if not signals.value.localProfileRef

default _profile_unavailable := false

_profile_unavailable if not signals.value.localModelProfileAvailable == true

default _service_unhealthy := false

_service_unhealthy if not signals.value.localServiceHealthy == true

default _thermal_critical := false

_thermal_critical if {
	config.optimizer.resourcePolicy.localAdmission.denyWhenThermalCritical == true
	signals.value.thermalState == "critical"
}

default _battery_critical := false

_battery_critical if {
	config.optimizer.resourcePolicy.localAdmission.denyWhenBatteryCritical == true
	signals.value.batteryState == "critical"
}

default _memory_low := false

_memory_low if not _memory_ok

_memory_ok if signals.value.memoryAvailableBytes >= config.optimizer.resourcePolicy.localAdmission.minMemoryAvailableBytes

default _profile_not_allowed(_) := false

_profile_not_allowed(lane) if {
	is_array(config.optimizer.resourcePolicy.localAdmission.allowedProfileRefs)
	not _profile_allowed(lane)
}

_profile_allowed(lane) if profile_ref(lane) in config.optimizer.resourcePolicy.localAdmission.allowedProfileRefs

# A healthy machine (the usual case): every machine check passes.
_machine_ok if {
	signals.value.localModelProfileAvailable == true
	signals.value.localServiceHealthy == true
	not signals.value.thermalState == "critical"
	not signals.value.batteryState == "critical"
	_memory_ok
}

# A healthy machine has no reasons: checked first, without the table below.
_machine_reasons := [] if _machine_ok

else := [code |
	some [failed, code] in [
		[_profile_unavailable, "local-model-profile-unavailable"],
		[_service_unhealthy, "local-service-unhealthy"],
		[_thermal_critical, "thermal-critical"],
		[_battery_critical, "battery-critical"],
		[_memory_low, "insufficient-local-memory"],
	]
	failed
]

# Every local-runtime lane runs an allowed profile: no allow-list, the requested profile is allowed,
# or no profile is requested and each lane's default profile is allowed.
_profiles_ok if not is_array(object.get(config.optimizer.resourcePolicy.localAdmission, "allowedProfileRefs", null))

_profiles_ok if signals.value.localProfileRef in config.optimizer.resourcePolicy.localAdmission.allowedProfileRefs

_profiles_ok if {
	not signals.value.localProfileRef
	every lane in lanes.local_runtime {
		config.catalog_lanes[lane].defaultProfileRef in config.optimizer.resourcePolicy.localAdmission.allowedProfileRefs
	}
}

_failures(lane) := array.concat(_machine_reasons, [code |
	_profile_not_allowed(lane)
	code := "local-profile-not-allowed"
])

# METADATA
# description: >-
#   Rule 9 failures by lane, in table order: only the local-runtime lanes that fail a check are keys
#   (a lane that is not a key passes, or the rule does not apply to it); no per-lane work when the
#   machine is healthy and every profile allowed (one rule body, as _machine_ok).
failures_by_lane := {} if {
	signal := signals.value
	signal.localModelProfileAvailable == true
	signal.localServiceHealthy == true
	not signal.thermalState == "critical"
	not signal.batteryState == "critical"
	signal.memoryAvailableBytes >= config.optimizer.resourcePolicy.localAdmission.minMemoryAvailableBytes
	_profiles_ok
} else := {lane: failures |
	some lane in lanes.local_runtime
	failures := _failures(lane)
	count(failures) > 0
}

# METADATA
# description: Rule 9 failures of a declared lane (local-runtime lanes only; an empty array for any other), in table order.
failures(lane) := object.get(failures_by_lane, lane, []) if config.policy_lanes[lane]
