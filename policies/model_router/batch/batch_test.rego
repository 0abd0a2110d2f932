package model_router.batch_test

import data.model_router.batch

agent_bundle := {"request": {"requestId": "a", "personal": null}}

personal_bundle := {"request": {"requestId": "p", "personal": {"routeId": "local-router"}}}

test_each_bundle_is_decided_with_its_own_input if {
	result := batch.decisions with input as {"bundles": [agent_bundle, personal_bundle, agent_bundle]}
		with data.model_router.agent.decision.result as "agent decision"
		with data.model_router.personal.decision.result as "personal decision"
	result == {0: "agent decision", 1: "personal decision", 2: "agent decision"}
}

test_empty_batch_gives_no_decisions if {
	batch.decisions == {} with input as {"bundles": []}
}

test_missing_bundles_gives_no_decisions if {
	batch.decisions == {} with input as {}
}
