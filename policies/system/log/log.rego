# METADATA
# title: decision-log mask
# description: |
#   Loaded into the OPA replicas of a fleet (deploy/), as its own signed bundle beside the
#   model-router bundle. OPA's decision_logs plugin evaluates data.system.log.mask for every decision
#   before it is shipped, and erases each path in the set: everything derived from the prompt (the
#   prompt's digest and length in a route request and where a decision echoes it, in a single
#   decision and in each bundle or decision of a batch) never leaves the replica. The receipts keep only
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

mask contains path if {
	some i, decision in input.result
	decision.input.prompt
	path := sprintf("/result/%d/input/prompt", [i])
}
