package system.log_test

import data.system.log

test_single_decision_prompt_is_masked if {
	log.mask == {"/input/request/prompt"} with input as {"input": {"request": {"prompt": {"sha256": "ab", "chars": 3}}}}
}

test_each_batch_prompt_is_masked if {
	log.mask == {"/input/bundles/0/request/prompt", "/input/bundles/2/request/prompt"} with input as {"input": {"bundles": [
		{"request": {"prompt": {"sha256": "ab", "chars": 3}}},
		{"request": {}},
		{"request": {"prompt": {"sha256": "cd", "chars": 4}}},
	]}}
}

test_input_without_prompt_masks_nothing if {
	count(log.mask) == 0 with input as {"input": {"request": {"taskClass": "x"}}}
}

test_query_without_input_masks_nothing if {
	count(log.mask) == 0 with input as {"path": "system/bundles"}
}

test_prompt_echoed_in_a_decision_is_masked if {
	log.mask == {"/input/request/prompt", "/result/input/prompt"} with input as {
		"input": {"request": {"prompt": {"sha256": "ab", "chars": 3}}},
		"result": {"input": {"prompt": {"sha256": "ab", "chars": 3}}},
	}
}

test_prompt_echoed_in_batch_decisions_is_masked if {
	log.mask == {"/result/1/input/prompt"} with input as {"result": [{"input": {}}, {"input": {"prompt": {"sha256": "ab"}}}]}
}

test_prompt_echoed_in_batch_decisions_keyed_by_index_is_masked if {
	log.mask == {"/result/1/input/prompt"} with input as {"result": {"0": {"input": {}}, "1": {"input": {"prompt": {"sha256": "ab"}}}}}
}

test_prompt_echoed_in_a_decision_beside_its_projection_is_masked if {
	log.mask == {"/result/decision/input/prompt"} with input as {"result": {
		"decision": {"input": {"prompt": {"sha256": "ab", "chars": 3}}},
		"projection": {"guardrail": {}, "lane": null},
	}}
}

test_prompt_echoed_in_batch_answers_is_masked if {
	log.mask == {"/result/0/decision/input/prompt"} with input as {"result": {
		"0": {"decision": {"input": {"prompt": {"sha256": "ab"}}}, "projection": {}},
		"1": {"decision": {"input": {}}, "projection": {}},
	}}
}
