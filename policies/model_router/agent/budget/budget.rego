# METADATA
# title: Budget windows and premium shares
# description: |
#   Rule 18: a lane whose estimated cost exceeds `maxSpend - spent` of any declared window fails with
#   `budget-insufficient:<window>`. Rule 19: a premium lane whose tier spend in a window plus its cost
#   exceeds the tier's share of that window's `maxSpend` fails with `high-end-share-exceeded:<window>`
#   or `pro-share-exceeded:<window>`. The tier share is the optimizer window's `highEndMaxShare` /
#   `proMaxShare`; when the routing policy's `escalationPolicy.budgetWindow` names the same window, the
#   smaller of the two shares applies. All amounts are compared in integer micro-dollars. A window is
#   exhausted when `spent >= maxSpend`.
package model_router.agent.budget

import data.model_router.agent.config
import data.model_router.agent.cost
import data.model_router.agent.lanes
import data.model_router.agent.signals

_spend := signals.budget_spend

# The contract's per-tier names, by premium cost class: the share in a window, the tier's spend in the
# quota and the reason code.
_tier_fields := {
	"high": {"share": "highEndMaxShare", "spent": "highEndSpent", "code": "high-end-share-exceeded"},
	"maximum": {"share": "proMaxShare", "spent": "proSpent", "code": "pro-share-exceeded"},
}

_policy_window := config.policy.escalationPolicy.budgetWindow

_share(window, tier) := min([config.windows[window][field], _policy_window[field]]) if {
	field := _tier_fields[tier].share
	_policy_window.unit == window
	is_number(_policy_window[field])
} else := config.windows[window][_tier_fields[tier].share]

_max_micros := {window: micros |
	some window in config.window_order
	micros := round(config.windows[window].maxSpend * cost.per_million)
}

# METADATA
# description: Remaining budget per window in micro-dollars.
remaining_micros := {window: remaining |
	some window in config.window_order
	remaining := _max_micros[window] - round(_spend[window].spent * cost.per_million)
}

# METADATA
# description: The premium tier ceiling of a window, in micro-dollars.
ceiling_micros(window, tier) := _ceilings[window][tier]

_ceilings := {window: ceilings |
	some window in config.window_order
	ceilings := {tier: round(_share(window, tier) * _max_micros[window]) | some tier, _ in _tier_fields}
}

# METADATA
# description: Windows whose spend reached their maxSpend, in declaration order.
exhausted := [window |
	some window in config.window_order
	remaining_micros[window] <= 0
]

# METADATA
# description: The budget summary per window for the decision document.
windows := {window: summary |
	some window in config.window_order
	summary := {
		"maxSpend": config.windows[window].maxSpend,
		"spent": _spend[window].spent,
		"remaining": cost.amount(remaining_micros[window]),
		"highEndSpent": _spend[window].highEndSpent,
		"proSpent": _spend[window].proSpent,
	}
}

_insufficient_reason := {window: reason |
	some window in config.window_order
	reason := sprintf("budget-insufficient:%s", [window])
}

_share_reason := {window: reasons |
	some window in config.window_order
	reasons := {tier: sprintf("%s:%s", [fields.code, window]) | some tier, fields in _tier_fields}
}

# What each premium tier may still spend per window: its ceiling minus its spend, in micro-dollars.
_headroom := {window: headroom |
	some window in config.window_order
	headroom := {tier: (_ceilings[window][tier] - round(_spend[window][fields.spent] * cost.per_million)) |
		some tier, fields in _tier_fields
	}
}

# Every rule 18-19 failure of each declared lane as {window, reason}: insufficient budget first, then
# premium share exceeded, windows in declaration order.
_failed := {lane: failed |
	some lane, _ in config.policy_lanes
	failed := array.concat(
		[{"window": window, "reason": _insufficient_reason[window]} |
			some window in config.window_order
			cost.lane_micros[lane] > remaining_micros[window]
		],
		[{"window": window, "reason": _share_reason[window][tier]} |
			tier := lanes.premium_tier[lane]
			some window in config.window_order
			cost.lane_micros[lane] > _headroom[window][tier]
		],
	)
}

# METADATA
# description: Rule 18-19 failures of every declared lane, by lane, in table order (windows in declaration order).
failures_by_lane := {lane: reasons |
	some lane, failed in _failed
	reasons := [failure.reason | some failure in failed]
}

# METADATA
# description: The budget window of each rule 18-19 failure of every declared lane, by lane, in the order of failures_by_lane.
failed_windows := {lane: failed_in |
	some lane, failed in _failed
	failed_in := [failure.window | some failure in failed]
}

# METADATA
# description: Rule 18-19 failures of a lane, in table order (windows in declaration order).
failures(lane) := failures_by_lane[lane]
