# METADATA
# title: batch decisions
# description: |
#   Decides many input bundles in one query: the decision for each element of `input.bundles`,
#   keyed by its index. Each bundle is decided by the one entrypoint, `data.model_router.decision`,
#   so a batch gives exactly the decisions that single queries would give; `results` gives each
#   with its projections (model_router.projection.result).
# entrypoint: true
package model_router.batch

# METADATA
# title: decisions
# description: Index of each bundle in `input.bundles` -> its route decision (an index is absent when the decision is undefined).
# schemas:
#   - input: {"type": "object", "properties": {"bundles": {"type": "array", "items": {"type": "object"}}}}
decisions[i] := d if {
	some i, bundle in input.bundles
	d := data.model_router.decision with input as bundle
}

# METADATA
# title: batch decisions with their projections
# description: Index of each bundle in `input.bundles` -> its data.model_router.projection.result.
# schemas:
#   - input: {"type": "object", "properties": {"bundles": {"type": "array", "items": {"type": "object"}}}}
results[i] := r if {
	some i, bundle in input.bundles
	r := data.model_router.projection.result with input as bundle
}
