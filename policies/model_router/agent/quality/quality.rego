# METADATA
# title: Quality floors and deterministic verification
# description: |
#   Rule 1: a lane ranked below the risk class's `minimumLane` fails with
#   `below-quality-floor:<minimumLane>`. Deterministic verification first (section 2.1): at a stage
#   whose default lane needs no model, when the policy prefers mechanical verification and the
#   request says a deterministic verifier is available, that model-free lane is exempt from the floor
#   and is preferred (`deterministic-verification-preferred`).
package model_router.agent.quality

import data.model_router.agent.config
import data.model_router.agent.lanes
import data.model_router.agent.request

# METADATA
# scope: document
# description: The lane the risk class requires at least (null when the risk class declares none).
default minimum_lane := null

minimum_lane := request.risk_floor.minimumLane

# METADATA
# scope: document
# description: Whether the risk class requires verification of the result.
default requires_verification := false

requires_verification if request.risk_floor.requiresVerification == true

# METADATA
# description: The model-free stage default lane, when deterministic verification is preferred and available.
deterministic_lane := request.stage_entry.defaultLane if {
	lanes.model_free[request.stage_entry.defaultLane]
	config.policy.defaultPosture.mechanicalVerificationPreferred == true
	request.deterministic_verification == true
}

# METADATA
# description: >-
#   Rule 1 failures by lane: only the lanes below the floor are keys (a lane that is not a key meets
#   it); no object of empty arrays is built per request. The floor's rank and reason are computed once,
#   before the lanes are walked; the lanes below the floor are the first ones of modelLanes (a lane's
#   rank is its position), the preferred model-free lane excepted.
failures_by_lane := {lane.laneId: reasons |
	reasons := [sprintf("below-quality-floor:%s", [minimum_lane])]
	some lane in array.slice(config.policy.modelLanes, 0, lanes.rank[minimum_lane])
	lane.laneId != exempt
} if {
	exempt := deterministic_lane
} else := {lane.laneId: reasons |
	reasons := [sprintf("below-quality-floor:%s", [minimum_lane])]
	some lane in array.slice(config.policy.modelLanes, 0, lanes.rank[minimum_lane])
}

# METADATA
# description: Rule 1 failures of a declared lane (an empty array when it meets the floor).
failures(lane) := object.get(failures_by_lane, lane, []) if config.policy_lanes[lane]
