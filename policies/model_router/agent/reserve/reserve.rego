# METADATA
# title: Premium reserve
# description: |
#   Rules 16-17, for premium lanes: the provider's remaining quota share must be known (a negative or
#   absent share means unknown: `provider-quota-share-missing`) and at least the optimizer's
#   `premiumReserveShare` (`premium-reserve-below-threshold`), so premium work never eats the reserve.
package model_router.agent.reserve

import data.model_router.agent.budget
import data.model_router.agent.config
import data.model_router.agent.lanes
import data.model_router.agent.signals

# METADATA
# scope: document
# description: >-
#   The provider's remaining quota share (-1 when absent: unknown).
default share := -1

share := signals.value.providerQuotaRemainingShare

# METADATA
# scope: document
# description: The optimizer's premium reserve share, or null when it declares none.
default premium_share := null

premium_share := config.optimizer.budgetPolicy.premiumReserveShare

# The rule 16-17 reasons of a premium lane, undefined when it has none (the common case: then
# failures_by_lane is the table of no failures, with no walk of the lanes). Written out per case: no
# list of [condition, code] pairs to walk per decision.
_premium_reasons := ["provider-quota-share-missing", "premium-reserve-below-threshold"] if {
	share < 0
	is_number(premium_share)
	share < premium_share
} else := ["provider-quota-share-missing"] if {
	share < 0
} else := ["premium-reserve-below-threshold"] if {
	is_number(premium_share)
	share < premium_share
}

# METADATA
# scope: document
# description: Rule 16-17 failures of every declared lane, by lane (premium lanes only), in table order.
failures_by_lane := budget.no_failures if {
	# the usual case, two comparisons: the share is known and not below a premium reserve share (a
	# number sorts after null, so any known share passes when the optimizer declares none; any other
	# kind of premium_share goes to the general case)
	share >= 0
	share >= premium_share
} else := object.union(budget.no_failures, {lane: reasons | some lane in lanes.premium}) if {
	reasons := _premium_reasons
} else := budget.no_failures

# METADATA
# description: Rule 16-17 failures of a lane (premium lanes only), in table order.
failures(lane) := failures_by_lane[lane]
