# METADATA
# title: Stage ceilings and task-class allowances
# description: |
#   Rule 2: without a valid escalation for the lane, a lane ranked above the stage's
#   `maxLaneWithoutEscalation` fails with `stage-max-without-escalation:<maxLane>`.
#   Rule 3: a lane that is neither the task class's default lane, nor one of its
#   `allowedEscalationLanes`, nor the stage's default lane fails with `not-allowed-for-task-class`.
#   Task-class bounds (after rule 3, from the task class's optional fields): a lane ranked below its
#   `minimumLane` fails with `below-task-class-floor:<minimumLane>`, one ranked above its `maximumLane`
#   with `above-task-class-ceiling:<maximumLane>` (an escalation does not lift a task-class ceiling).
package model_router.agent.eligibility

import data.model_router.agent.escalation
import data.model_router.agent.lanes
import data.model_router.agent.request

# METADATA
# description: The lanes the task class and stage allow.
allowed_lanes := {lane |
	some lane in array.concat(
		[request.task.defaultLane, request.stage_entry.defaultLane],
		request.task.allowedEscalationLanes,
	)
}

_stage_reason := sprintf("stage-max-without-escalation:%s", [request.stage_entry.maxLaneWithoutEscalation])

_max_rank := lanes.rank[request.stage_entry.maxLaneWithoutEscalation]

_task_reason := "not-allowed-for-task-class"

_floor_reason := sprintf("below-task-class-floor:%s", [request.task.minimumLane])

_floor_rank := lanes.rank[request.task.minimumLane]

_ceiling_reason := sprintf("above-task-class-ceiling:%s", [request.task.maximumLane])

_ceiling_rank := lanes.rank[request.task.maximumLane]

# The task class declares a floor or a ceiling that names a declared lane (otherwise neither check
# can fail, and the usual task class declares neither). One body: the ranks are not looked up as rules.
_bounded if {
	some bound in [object.get(request.task, "minimumLane", null), object.get(request.task, "maximumLane", null)]
	lanes.rank[bound]
}

# METADATA
# description: Rule 2 and 3 and task-class bound failures of every declared lane, by lane, in that order.
failures_by_lane := {lane: failures |
	# (the ranks compared per lane may be undefined: they stay rule lookups)
	valid := escalation.valid_lanes
	allowed := allowed_lanes
	some lane, rank in lanes.rank
	failures := array.concat(
		array.concat(
			[_stage_reason |
				rank > _max_rank
				not valid[lane]
			],
			[_task_reason | not allowed[lane]],
		),
		array.concat(
			[_floor_reason | rank < _floor_rank],
			[_ceiling_reason | rank > _ceiling_rank],
		),
	)
} if _bounded

else := {lane: codes[[rank > max_rank, lane in valid, lane in allowed]] |
	# without bounds a lane's codes depend on three facts only: above the stage's maximum, covered by a
	# valid escalation, allowed for the task class; the eight possible arrays are built once, and the
	# rules read per lane are bound once (a local lookup per lane, not a rule lookup)
	max_rank := _stage_max_rank
	valid := escalation.valid_lanes
	allowed := allowed_lanes
	task := ["not-allowed-for-task-class"]
	both := array.concat(_stage_codes, task)
	codes := {
		[false, false, true]: [], [false, true, true]: [], [true, true, true]: [],
		[false, false, false]: task, [false, true, false]: task, [true, true, false]: task,
		[true, false, true]: _stage_codes, [true, false, false]: both,
	}
	some lane, rank in lanes.rank
}

# The stage reason as an array; none without a stage maximum (then no lane is above it).
default _stage_codes := []

_stage_codes := [_stage_reason]

# The stage maximum's rank, when the stage names a declared lane; else past the top (no lane is above it).
_stage_max_rank := rank if {
	rank := lanes.rank[request.stage_entry.maxLaneWithoutEscalation]
} else := count(lanes.rank)

# METADATA
# description: Rule 2 and 3 and task-class bound failures of a lane, in that order.
failures(lane) := failures_by_lane[lane]
