package model_router.agent.reserve_test

import data.model_router.agent.reserve
import data.model_router.agent.testing_test as t

_reserve := data.model_router_data.optimizers[data.model_router_data.active.optimizer].document.budgetPolicy.premiumReserveShare

test_premium_lane_with_enough_quota if {
	reserve.failures("high-end") == [] with input as t.bundle
	reserve.share == 0.8 with input as t.bundle
	reserve.premium_share == _reserve
}

test_non_premium_lanes_are_not_checked if {
	reserve.failures("standard") == [] with input as t.with_quota({"providerQuotaRemainingShare": -1})
}

test_unknown_share if {
	reserve.failures("pro") == [
		"provider-quota-share-missing",
		"premium-reserve-below-threshold",
	] with input as t.with_quota({"providerQuotaRemainingShare": -1})
}

test_share_exactly_at_the_reserve_is_admitted if {
	reserve.failures("high-end") == [] with input as t.with_quota({"providerQuotaRemainingShare": _reserve})
}

test_share_just_below_the_reserve if {
	b := t.with_quota({"providerQuotaRemainingShare": _reserve - 0.000001})
	reserve.failures("high-end") == ["premium-reserve-below-threshold"] with input as b
}

test_absent_share_counts_as_unknown if {
	d := t.with_optimizer({"document": {"resourcePolicy": {"requiredSignals": ["estimatedInputTokens"]}}})
	b := json.remove(t.bundle, ["quota/providerQuotaRemainingShare"])
	reserve.share == -1 with input as b with data.model_router_data as d
}

test_no_reserve_declared if {
	id := data.model_router_data.active.optimizer
	d := json.remove(data.model_router_data, [["optimizers", id, "document", "budgetPolicy", "premiumReserveShare"]])
	reserve.premium_share == null with data.model_router_data as d
	reserve.failures("high-end") == [] with input as t.with_quota({"providerQuotaRemainingShare": 0.01}) with data.model_router_data as d
}

test_unknown_share_without_a_reserve_is_only_missing if {
	id := data.model_router_data.active.optimizer
	d := json.remove(data.model_router_data, [["optimizers", id, "document", "budgetPolicy", "premiumReserveShare"]])
	b := t.with_quota({"providerQuotaRemainingShare": -1})
	reserve.failures("pro") == ["provider-quota-share-missing"] with input as b with data.model_router_data as d
	reserve.failures("standard") == [] with input as b with data.model_router_data as d
}

# a premium reserve share that is not a number sets no threshold: the general case, not the usual one
test_a_reserve_that_is_not_a_number_sets_no_threshold if {
	reserve.failures("pro") == [] with reserve.premium_share as "0.5" with input as t.bundle
	reserve.failures("pro") == ["provider-quota-share-missing"] with reserve.premium_share as "0.5"
		with input as t.with_quota({"providerQuotaRemainingShare": -1})
}
