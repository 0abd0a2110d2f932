package model_router.agent.budget_test

import data.model_router.agent.budget
import data.model_router.agent.testing_test as t

# The base bundle's standard estimate is 0.033 and its high-end estimate 0.33.

test_remaining_per_window if {
	budget.remaining_micros == {"task": 1900000, "session": 19000000, "day": 95000000} with input as t.bundle
	budget.windows.task == {"maxSpend": 2.0, "spent": 0.1, "remaining": 1.9, "highEndSpent": 0, "proSpent": 0} with input as t.bundle
}

test_nothing_exhausted if {
	budget.exhausted == [] with input as t.bundle
}

test_window_exhausted_at_max_spend if {
	b := t.with_quota({"budget": {"task": {"spent": 2}, "day": {"spent": 120}}})
	budget.exhausted == ["task", "day"] with input as b
}

test_cost_exactly_equal_to_the_remaining_budget_is_allowed if {
	b := t.with_quota({"budget": {"task": {"spent": 1.967}}})
	budget.failures("standard") == [] with input as b
}

test_one_micro_dollar_over_the_remaining_budget_is_not if {
	b := t.with_quota({"budget": {"task": {"spent": 1.967001}}})
	budget.failures("standard") == ["budget-insufficient:task"] with input as b
}

test_every_short_window_is_named_in_order if {
	b := t.with_quota({"budget": {"task": {"spent": 1.99}, "session": {"spent": 19.99}, "day": {"spent": 99.99}}})
	budget.failures("standard") == ["budget-insufficient:task", "budget-insufficient:session", "budget-insufficient:day"] with input as b
	budget.failures("no-model") == [] with input as b
}

test_high_end_share_exactly_at_the_ceiling_is_allowed if {
	# task ceiling 0.25 x 2.0 = 0.5; 0.17 + 0.33 = 0.5
	b := t.with_quota({"budget": {"task": {"highEndSpent": 0.17}}})
	budget.failures("high-end") == [] with input as b
}

test_high_end_share_one_micro_dollar_over if {
	b := t.with_quota({"budget": {"task": {"highEndSpent": 0.170001}}})
	budget.failures("high-end") == ["high-end-share-exceeded:task"] with input as b
}

test_pro_share_per_window if {
	# pro 0.66 against 0.05 x 2.0 = 0.1 (task) and 0.03 x 20 = 0.6 (session); 0.02 x 100 = 2.0 (day)
	budget.failures("pro") == ["pro-share-exceeded:task", "pro-share-exceeded:session"] with input as t.bundle
}

test_non_premium_lanes_have_no_share_ceiling if {
	b := t.with_quota({"budget": {"task": {"highEndSpent": 5, "proSpent": 5}}})
	budget.failures("standard") == [] with input as b
}

test_insufficient_budget_comes_before_share if {
	b := t.with_quota({"budget": {"task": {"spent": 1.9, "highEndSpent": 0.4}}})
	budget.failures("high-end") == ["budget-insufficient:task", "high-end-share-exceeded:task"] with input as b
}

test_policy_budget_window_share_can_be_stricter if {
	d := t.with_policy({"document": {"escalationPolicy": {"budgetWindow": {"unit": "task", "highEndMaxShare": 0.1}}}})
	budget.ceiling_micros("task", "high") == 200000 with data.model_router_data as d
	budget.failures("high-end") == ["high-end-share-exceeded:task"] with input as t.bundle with data.model_router_data as d
}

test_policy_budget_window_applies_to_its_unit_only if {
	d := t.with_policy({"document": {"escalationPolicy": {"budgetWindow": {"unit": "day", "highEndMaxShare": 0.001}}}})
	budget.ceiling_micros("task", "high") == 500000 with data.model_router_data as d
	budget.ceiling_micros("day", "high") == 100000 with data.model_router_data as d
}

test_optimizer_share_when_the_policy_one_is_looser if {
	d := t.with_policy({"document": {"escalationPolicy": {"budgetWindow": {"unit": "task", "highEndMaxShare": 0.9}}}})
	budget.ceiling_micros("task", "high") == 500000 with data.model_router_data as d
}

test_failed_windows_follow_the_failures if {
	some lane, failures in budget.failures_by_lane with input as t.bundle
	count(failures) > 0
	windows := budget.failed_windows[lane] with input as t.bundle
	[w | some f in failures; w := split(f, ":")[1]] == windows
}

test_window_tables_come_from_the_model_tables_when_current if {
	budget.window_tables == data.model_router_data.modelTables.agent.windows
	budget.window_tables == budget.window_tables with data.model_router_data.modelTables as null
	budget.no_failures == budget.no_failures with data.model_router_data.modelTables as null
}

# the same failures with the stored tables and without them, at and just past every boundary
test_failures_are_the_same_without_the_tables if {
	data.model_router_data.modelTables.agent
	some quota in [
		{},
		{"budget": {"task": {"spent": 1.967}}},
		{"budget": {"task": {"spent": 1.967001}}},
		{"budget": {"task": {"highEndSpent": 0.17}}},
		{"budget": {"task": {"highEndSpent": 0.170001}}},
		{"budget": {"task": {"spent": 1.99}, "session": {"spent": 19.99}, "day": {"spent": 99.99}}},
		{"budget": {"task": {"spent": 1.9, "highEndSpent": 0.4}}},
	]
	b := t.with_quota(quota)
	with_tables := [budget.failures_by_lane, budget.failed_windows, budget.remaining_micros] with input as b
	without := [budget.failures_by_lane, budget.failed_windows, budget.remaining_micros] with input as b
		with data.model_router_data.modelTables as null
	with_tables == without
}

test_only_lanes_over_their_limit_fail if {
	# pro 0.66 is over its task and session ceilings; every other lane is within every limit
	failing := {lane | some lane, failures in budget.failures_by_lane; count(failures) > 0} with input as t.bundle
	failing == {"pro"}
	object.remove(budget.failures_by_lane, ["pro"]) == object.remove(budget.no_failures, ["pro"]) with input as t.bundle
	budget.failed_windows.pro == ["task", "session"] with input as t.bundle
}

# _figures and _limit write both premium tiers out: they must be every tier of _tier_fields.
test_headroom_and_limit_cover_every_premium_tier if {
	object.keys(budget._tier_fields) == {"high", "maximum"}
	budget._tier_fields.high.spent == "highEndSpent"
	budget._tier_fields.maximum.spent == "proSpent"
}
