package model_router.agent.lanes_test

import data.model_router.agent.lanes
import data.model_router.agent.testing_test as t

test_rank_follows_the_policy_lane_order if {
	lanes.rank == {"no-model": 0, "local-cheap": 1, "cheap": 2, "standard": 3, "high-end": 4, "pro": 5}
}

test_rank_changes_with_the_document if {
	lanes_doc := data.model_router_data.policies[data.model_router_data.active.policy].document.modelLanes
	swapped := array.concat(array.concat(array.slice(lanes_doc, 0, 2), [lanes_doc[3], lanes_doc[2]]), array.slice(lanes_doc, 4, 6))
	d := t.with_policy({"document": {"modelLanes": swapped}})
	r := lanes.rank with data.model_router_data as d
	r.standard == 2
	r.cheap == 3
}

test_lane_kinds_come_from_the_catalog_and_policy if {
	lanes.local == {"no-model", "local-cheap"}
	lanes.local_runtime == {"local-cheap"}
	lanes.model_free == {"no-model"}
	lanes.hosted == {"cheap", "standard", "high-end", "pro"}
	lanes.premium == {"high-end", "pro"}
	lanes.requires_receipt == {"high-end", "pro"}
	lanes.premium_tier == {"high-end": "high", "pro": "maximum"}
}

test_receipt_flag_makes_a_lane_premium if {
	d := t.with_policy({"lanes": {"standard": {"requiresEscalationReceipt": true}}})
	premium := lanes.premium with data.model_router_data as d
	premium == {"standard", "high-end", "pro"}
}

test_cost_class_of_each_lane if {
	lanes.cost_class.cheap == "low"
	lanes.cost_class.pro == "maximum"
}

test_candidate_order if {
	lanes.candidate_order == ["no-model", "local-cheap", "cheap", "standard", "high-end", "pro"]
}

test_highest_non_premium_at_or_below if {
	lanes.highest_non_premium_at_or_below("pro") == "standard"
	lanes.highest_non_premium_at_or_below("high-end") == "standard"
	lanes.highest_non_premium_at_or_below("cheap") == "cheap"
	lanes.highest_non_premium_at_or_below("no-model") == "no-model"
	not lanes.highest_non_premium_at_or_below("no-such-lane")
	not lanes.highest_non_premium_at_or_below("no-model") with lanes.premium as {"no-model", "high-end", "pro"}
}

# every view reads the stored agent tables when they are current, and computes the same without them
test_views_come_from_the_agent_tables_when_current if {
	stored := data.model_router_data.modelTables.agent.lanes
	lanes.rank == stored.rank
	lanes.premium_tier == stored.premiumTier
	lanes.table == stored
	computed := lanes.table with data.model_router_data.modelTables as null
	computed == stored
	views := [
		lanes.rank, lanes.premium_tier, lanes.local, lanes.local_runtime,
		lanes.model_free, lanes.hosted, lanes.requires_receipt, lanes.premium,
	]
	computed_views := [
		lanes.rank, lanes.premium_tier, lanes.local, lanes.local_runtime,
		lanes.model_free, lanes.hosted, lanes.requires_receipt, lanes.premium,
	] with data.model_router_data.modelTables as null
	views == computed_views
}

test_views_of_other_documents_are_computed if {
	lanes.requires_receipt == {"high-end", "pro"}
	d := t.with_policy({"lanes": {"standard": {"requiresEscalationReceipt": true}}})
	lanes.requires_receipt == {"standard", "high-end", "pro"} with data.model_router_data as d
	lanes.hosted == {"cheap", "standard", "high-end", "pro"} with data.model_router_data as d
}
