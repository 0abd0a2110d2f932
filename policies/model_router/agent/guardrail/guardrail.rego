# METADATA
# title: Guardrail reference
# description: |
#   The guardrail decision or guardrail policy the request was checked under (`request.guardrailRef`,
#   optional) and whether the active routing policy requires one
#   (`enforcement.requireGuardrailRef`, default false). A request without a reference under a policy
#   that requires one is refused with `guardrail-ref-required`; an ill-typed reference is
#   `invalid-request-field:guardrailRef`.
package model_router.agent.guardrail

import data.model_router.agent.config

# The raw reference (any JSON value): null when the request has none or is not an object (a ref
# into anything but an object is undefined). Read by reasons only; ref reads the field itself.
default _raw := null

_raw := input.request.guardrailRef

# METADATA
# scope: document
# description: The guardrail reference (a non-empty string) or null.
default ref := null

ref := r if {
	r := input.request.guardrailRef
	is_string(r)
	r != ""
}

# METADATA
# scope: document
# description: True when the active routing policy requires a guardrail reference on every request.
default required := false

required if config.policy.enforcement.requireGuardrailRef == true

# METADATA
# scope: document
# description: >-
#   Why the guardrail reference makes the request unroutable (empty when it does not). The two
#   reasons exclude each other: one needs a reference, the other its absence. A reference that is
#   present but not a non-empty string is invalid (the default).
default reasons := ["invalid-request-field:guardrailRef"]

reasons := [] if {
	# the usual case first: no reference, none required
	_raw == null
	not config.policy.enforcement.requireGuardrailRef == true # not required, without its rule
} else := ["guardrail-ref-required"] if {
	_raw == null
} else := [] if {
	ref != null
}
