# METADATA
# title: Premium reserve
# description: |
#   Rules 16-17, for premium lanes: the provider's remaining quota share must be known (a negative or
#   absent share means unknown: `provider-quota-share-missing`) and at least the optimizer's
#   `premiumReserveShare` (`premium-reserve-below-threshold`), so premium work never eats the reserve.
package model_router.agent.reserve

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

default _share_missing := false

_share_missing if share < 0

default _below_reserve := false

_below_reserve if {
	is_number(premium_share)
	share < premium_share
}

_premium_reasons := [code |
	some [failed, code] in [
		[_share_missing, "provider-quota-share-missing"],
		[_below_reserve, "premium-reserve-below-threshold"],
	]
	failed
]

# METADATA
# description: Rule 16-17 failures of every declared lane, by lane (premium lanes only), in table order.
failures_by_lane := object.union(
	{lane: [] | some lane, _ in config.policy_lanes},
	{lane: _premium_reasons | some lane in lanes.premium},
)

# METADATA
# description: Rule 16-17 failures of a lane (premium lanes only), in table order.
failures(lane) := failures_by_lane[lane]
