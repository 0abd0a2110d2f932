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

_request := r if {
	r := input.request
	is_object(r)
}

default _raw := null

_raw := _request.guardrailRef

# METADATA
# scope: document
# description: The guardrail reference (a non-empty string) or null.
default ref := null

ref := _raw if {
	is_string(_raw)
	_raw != ""
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
#   reasons exclude each other: one needs a reference, the other its absence.
default reasons := []

reasons := ["invalid-request-field:guardrailRef"] if {
	_raw != null
	ref == null
}

reasons := ["guardrail-ref-required"] if {
	required
	_raw == null
}
