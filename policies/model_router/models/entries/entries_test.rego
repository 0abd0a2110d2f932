package model_router.models.entries_test

import data.model_router.models.catalog_test
import data.model_router.models.entries
import data.model_router.models.tables_test

test_reason_counts_leave_out_zero if {
	entries.sum_counts([{"a": 1, "b": 2}, {"a": -1, "c": 1}]) == {"b": 2, "c": 1}
}

test_reason_counts_count_the_lists_holding_each_reason if {
	entries.reason_counts([["a", "b"], ["a"], []]) == {"a": 2, "b": 1}
}

test_score_of_an_unscorable_model_is_null if {
	odd := object.union(catalog_test.models[0], {"qualityTier": "stellar"})
	entries.score_of(odd) == null with data.model_router_data as catalog_test.fixture
}

test_rank_key_orders_by_score_then_local_first_then_catalog_order if {
	ranks := entries.score_ranks([0.5, null, 0.9, 0.5])
	ranks == {0.9: 0, 0.5: 1}
	entries.rank_key({"score": 0.5, "locality": "local", "catalogIndex": 7}, ranks) == [1, 0, 7]
	entries.rank_key({"score": 0.5, "locality": "hosted", "catalogIndex": 2}, ranks) == [1, 1, 2]
	entries.rank_key({"score": null, "locality": "local", "catalogIndex": 1}, ranks) == [2, 0, 1]
}

test_shown_adds_the_reasons_to_the_view if {
	view := {"modelRef": "m", "lane": "cheap", "governanceRoute": "r", "score": null}
	e := {"rank": [0, 1, 3], "lane": "cheap", "catalogIndex": 3, "view": view}
	shown := entries.shown(e, entries.reasons_with(["a"], ["lane-mismatch"], null))
	shown.shown.reasons == ["a", "lane-mismatch", "score-unavailable"]
	shown.catalogIndex == 3
}

test_current_is_the_stored_tables_of_the_documents_in_force if {
	stored := tables_test.with_tables(tables_test.limited)
	entries.current == stored.modelTables with data.model_router_data as stored
	not entries.current with data.model_router_data as object.union(stored, {"modelSelectionLimits": {"fallbacks": 2}})
}
