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
#
#   What depends only on the policy data (maxSpend and the tier ceilings in micro-dollars, the reason
#   codes in `window_tables`; the tier of every priced declared lane, `lane_tier_table`; the checks of
#   each tier in reason order, `check_table`) is stored with the model tables
#   (model_router.models.tables.agent, built by `make data`, read through
#   model_router.agent.config.tables) or computed here when they are not current. A lane whose cost is
#   within the smallest remaining amount (and, for a premium lane, the smallest headroom of its tier)
#   fails no window; only the others go through their tier's checks.
package model_router.agent.budget

import data.model_router.agent.config
import data.model_router.agent.cost
import data.model_router.agent.lanes
import data.model_router.agent.signals

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

# METADATA
# description: |
#   What a decision needs of a declared WINDOW that depends only on the policy data: {maxSpend,
#   maxMicros: maxSpend in micro-dollars, ceilings: {premium tier: its share of maxSpend in micro-dollars}, insufficient:
#   the budget-insufficient reason, share: {premium tier: the share-exceeded reason}}.
window_table(window) := {
	"maxSpend": config.windows[window].maxSpend,
	"maxMicros": max_micros,
	"ceilings": {tier: round(_share(window, tier) * max_micros) | some tier, _ in _tier_fields},
	"insufficient": sprintf("budget-insufficient:%s", [window]),
	"share": {tier: sprintf("%s:%s", [fields.code, window]) | some tier, fields in _tier_fields},
} if {
	max_micros := round(config.windows[window].maxSpend * cost.per_million)
}

# METADATA
# scope: document
# description: The window_table of every declared window, by window (from the model tables when they are current).
window_tables := stored if {
	stored := config.tables.windows
} else := {window: window_table(window) | some window in config.window_order}

# METADATA
# scope: document
# description: "Every declared lane without a failure ({lane: []}), from the model tables when they are current."
no_failures := stored if {
	stored := config.tables.noFailures
} else := {lane: [] | some lane, _ in config.policy_lanes}

# The figures of each window with a spend, computed once per decision: what a lane of each tier may
# still spend in it, in micro-dollars, {"none": remaining (maxMicros minus spent), "high": the tier's
# ceiling minus highEndSpent, "maximum": the tier's ceiling minus proSpent}, and its summary for the
# decision document (windows). Both premium tiers of _tier_fields are written out: no inner walk per
# window.
_figures := {window: {
	"none": remaining,
	"high": table.ceilings.high - round(spend.highEndSpent * 1000000),
	"maximum": table.ceilings.maximum - round(spend.proSpent * 1000000),
	"summary": {
		"maxSpend": table.maxSpend,
		"spent": spend.spent,
		"remaining": remaining / 1000000,
		"highEndSpent": spend.highEndSpent,
		"proSpent": spend.proSpent,
	},
} |
	some window, spend in signals.budget_spend
	table := window_tables[window]
	remaining := table.maxMicros - round(spend.spent * 1000000)
}

# METADATA
# description: Remaining budget per window in micro-dollars.
remaining_micros := {window: figures.none | some window, figures in _figures}

# METADATA
# description: The premium tier ceiling of a window, in micro-dollars.
ceiling_micros(window, tier) := window_tables[window].ceilings[tier]

# METADATA
# description: Windows whose spend reached their maxSpend, in declaration order.
exhausted := [] if {
	# the usual case: every window with a spend has some budget left (and at least one has a spend)
	_limit.none > 0
} else := [window |
	some window in config.window_order
	_figures[window].none <= 0
]

# METADATA
# description: The budget summary per window for the decision document.
windows := {window: figures.summary | some window, figures in _figures}

# The most a lane may cost without failing any window: the smallest remaining amount ("none": a lane
# that is not premium), and for a premium tier the smallest of those and of the tier's headroom.
# Empty when no window has a spend (then no lane is over its limit).
_limit := {
	"none": none,
	"high": min([none, min([figures.high | some figures in _figures])]),
	"maximum": min([none, min([figures.maximum | some figures in _figures])]),
} if {
	none := min([figures.none | some figures in _figures])
}

# METADATA
# scope: document
# description: |
#   The tier of every declared lane the price catalog prices, by lane: its premium tier ("high" or
#   "maximum"), or "none" for a lane that is not premium; only these lanes have a cost to check.
lane_tier_table := {lane: object.get(lanes.premium_tier, lane, "none") |
	some lane, _ in config.policy_lanes
	config.catalog_lanes[lane]
}

# METADATA
# description: |
#   The rule 18-19 checks of a lane of each tier ("none", "high", "maximum") with the window tables
#   WINDOWS (window_tables), in the order of its reasons: [[window, figure, reason], ...], the
#   budget-insufficient check of every declared window (figure "none": what remains of it), then for a
#   premium tier the share check of every declared window (figure: the tier's headroom).
check_table(windows) := {tier: array.concat(insufficient, [[window, tier, windows[window].share[tier]] |
	tier != "none"
	some window in config.window_order
]) |
	some tier in ["none", "high", "maximum"]
} if {
	insufficient := [[window, "none", windows[window].insufficient] | some window in config.window_order]
}

# the stored lane tiers and checks, or computed here when the tables are not current
_lane_tiers := stored if {
	stored := config.tables.laneTiers
} else := lane_tier_table

_checks := stored if {
	stored := config.tables.checks
} else := check_table(window_tables)

# The rule 18-19 failures of each lane whose cost exceeds its limit (only these can fail a window),
# by lane: the reasons of the checks its cost fails, in check order.
_failures := {lane: [reason | some [window, figure, reason] in checks; micros > _figures[window][figure]] |
	some lane, tier in _lane_tiers
	micros := cost.lane_micros[lane]
	micros > _limit[tier]
	checks := _checks[tier]
}

# METADATA
# scope: document
# description: Rule 18-19 failures of every declared lane, by lane, in table order (windows in declaration order).
failures_by_lane := object.union(no_failures, _failures) if {
	count(_failures) > 0
} else := no_failures

# METADATA
# scope: document
# description: The budget window of each rule 18-19 failure of every declared lane, by lane, in the order of failures_by_lane.
failed_windows := object.union(no_failures, {lane: [_reason_windows[reason] | some reason in reasons] |
	some lane, reasons in _failures
})

# METADATA
# description: "The window of every reason of the CHECKS (check_table), {reason: window}."
reason_windows(checks) := {reason: window | some tier_checks in checks; some [window, _, reason] in tier_checks}

_reason_windows := stored if {
	stored := config.tables.reasonWindows
} else := reason_windows(_checks)

# METADATA
# description: Rule 18-19 failures of a lane, in table order (windows in declaration order).
failures(lane) := failures_by_lane[lane]
