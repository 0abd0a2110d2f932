# METADATA
# title: decision-log mask
# description: |
#   Loaded into the OPA replicas of a fleet (deploy/), as its own signed bundle beside the
#   model-router bundle. OPA's decision_logs plugin evaluates data.system.log.mask for every decision
#   before it is shipped, and erases each path in the set: everything derived from the prompt (the
#   prompt's digest and length in a route request and where a decision echoes it, in a single
#   decision, in an answer that carries the decision beside its projections, and in each bundle,
#   decision or answer of a batch) never leaves the replica. The receipts keep only
#   what the receipt contract allows.
# entrypoint: true
package system.log

# METADATA
# title: mask
# scope: document
# description: JSON pointers (into the logged input) that OPA removes before a decision log is shipped.
mask contains "/input/request/prompt" if input.input.request.prompt

mask contains path if {
	some i, bundle in input.input.bundles
	bundle.request.prompt
	path := sprintf("/input/bundles/%d/request/prompt", [i])
}

mask contains "/result/input/prompt" if input.result.input.prompt

# an answer that carries the decision beside its projections ({decision, projection, ...})
mask contains "/result/decision/input/prompt" if input.result.decision.input.prompt

# a batch: index (an array index, or an object key once the answer is JSON) -> decision, or -> answer
mask contains path if {
	some i, decision in input.result
	decision.input.prompt
	path := sprintf("/result/%v/input/prompt", [i])
}

mask contains path if {
	some i, answer in input.result
	answer.decision.input.prompt
	path := sprintf("/result/%v/decision/input/prompt", [i])
}
