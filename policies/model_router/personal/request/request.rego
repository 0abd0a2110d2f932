# METADATA
# title: personal route request
# description: |
#   Reads `input.request.personal` and the request fields a local-personal route decision depends on,
#   and looks up the LocalPersonalRouteBinding named by `bindingRef` and its route `routeId` by key
#   (`data.model_router_data.bindings[bindingRef].routes[routeId]`): one lookup, whatever the number of
#   bindings loaded. Malformed fields, an unknown binding, an unknown route and a task class that does
#   not match the route become denial reasons (`denial_reasons`), so the decision fails closed.
package model_router.personal.request

default _request := {}

# The request object (an empty object when the input carries none, so every rule stays defined).
_request := input.request if is_object(input.request)

# METADATA
# scope: document
# title: personal
# description: The `personal` object of the request (an empty object when it is missing or not an object).
default personal := {}

personal := _request.personal if is_object(_request.personal)

# Fields of `personal` that must be non-empty strings.
_required_refs := ["bindingRef", "routeId"]

# Fields of `personal` (and of the request) that may be absent or null, and otherwise must be non-empty strings.
_optional_refs := ["consentRef", "ledgerApprovalRef"]

# The member of `personal` that carries the ledger approval token (any JSON value: the approvals
# package reports a token that is not a well-formed string as malformed).
_token_fields := ["ledgerApprovalToken"]

# The data classification vocabulary of the input bundle.
_data_classes := {"public", "internal", "confidential", "restricted"}

# METADATA
# title: ref
# description: The value when it is a non-empty string, otherwise undefined.
ref(value) := value if {
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# title: binding_ref
# description: The binding the request names, or null when it is malformed.
default binding_ref := null

binding_ref := value if {
	value := personal.bindingRef
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# title: route_id
# description: The route the request names, or null when it is malformed.
default route_id := null

route_id := value if {
	value := personal.routeId
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# title: consent_ref
# description: The consent reference the request presents, or null.
default consent_ref := null

consent_ref := value if {
	value := personal.consentRef
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# title: ledger_approval_ref
# description: The model-governance-ledger approval the request presents, or null.
default ledger_approval_ref := null

ledger_approval_ref := value if {
	value := personal.ledgerApprovalRef
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# title: id
# description: The request id when it is a non-empty string, otherwise null.
default id := null

id := value if {
	value := _request.requestId
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# title: ledger_approval_token
# description: The personal-activation token beside `ledgerApprovalRef` (null when absent).
default ledger_approval_token := null

ledger_approval_token := personal.ledgerApprovalToken

# METADATA
# scope: document
# title: egress_approval_token
# description: The egress-approval token beside `egressApprovalRef` (null when absent).
default egress_approval_token := null

egress_approval_token := _request.egressApprovalToken

# METADATA
# scope: document
# title: egress_approval_ref
# description: The policy decision approving that the prompt leaves the device, or null.
default egress_approval_ref := null

egress_approval_ref := value if {
	value := _request.egressApprovalRef
	is_string(value)
	value != ""
}

# METADATA
# scope: document
# title: data_class
# description: The request's data class; `internal` when absent or null (the input bundle's default).
default data_class := "internal"

data_class := _request.dataClass if _request.dataClass != null

# METADATA
# title: errors
# description: One `invalid-request-field:<field path under request>` reason per malformed field, sorted.
errors := [] if well_formed

else := sort([sprintf("invalid-request-field:%s", [path]) | some path in _invalid_paths])

# METADATA
# title: well_formed
# description: |
#   True when every field `errors` checks is well formed (the common case, checked at once; otherwise
#   `_invalid_paths` names the malformed ones).
well_formed if {
	p := _request.personal
	is_string(p.bindingRef)
	p.bindingRef != ""
	is_string(p.routeId)
	p.routeId != ""
	consent := object.get(p, "consentRef", null)
	type_name(consent) in {"null", "string"}
	consent != ""
	ledger := object.get(p, "ledgerApprovalRef", null)
	type_name(ledger) in {"null", "string"}
	ledger != ""
	count(object.remove(p, ["bindingRef", "routeId", "consentRef", "ledgerApprovalRef", "ledgerApprovalToken"])) == 0
	egress := object.get(_request, "egressApprovalRef", null)
	type_name(egress) in {"null", "string"}
	egress != ""
	object.get(_request, "dataClass", null) in {null, "public", "internal", "confidential", "restricted"}
}

_invalid_paths contains "personal" if not is_object(object.get(_request, "personal", null))

_invalid_paths contains sprintf("personal.%s", [field]) if {
	is_object(_request.personal)
	some field in _required_refs
	not ref(object.get(personal, field, null))
}

_invalid_paths contains sprintf("personal.%s", [field]) if {
	some field in _optional_refs
	not _null_or_ref(object.get(personal, field, null))
}

_invalid_paths contains sprintf("personal.%s", [field]) if {
	some field, _ in personal
	not field in _required_refs
	not field in _optional_refs
	not field in _token_fields
}

_invalid_paths contains "egressApprovalRef" if not _null_or_ref(object.get(_request, "egressApprovalRef", null))

_invalid_paths contains "dataClass" if not data_class_valid

# METADATA
# title: data_class_valid
# description: True when the data class is one of the input bundle's data classes.
data_class_valid if data_class in _data_classes

_null_or_ref(null)

_null_or_ref(value) if ref(value)

# METADATA
# title: binding
# description: The LocalPersonalRouteBinding document named by `bindingRef` (undefined when unknown).
binding := data.model_router_data.bindings[binding_ref].document

# METADATA
# title: route
# description: The binding's route named by `routeId` (undefined when unknown).
route := data.model_router_data.bindings[binding_ref].routes[route_id]

# METADATA
# title: targets
# description: The route's targets in the order they are tried, preferred first; a null fallback is not tried.
targets := [preferred, fallback] if {
	preferred := route.preferredTarget
	preferred != null
	fallback := object.get(route, "fallbackTarget", null)
	fallback != null
} else := [target |
	some target in [route.preferredTarget, object.get(route, "fallbackTarget", null)]
	target != null
]

# METADATA
# scope: document
# title: denial_reasons
# description: |
#   Why the request cannot be decided at all, or [] when it can: malformed fields first, then
#   `unknown-binding`, `unknown-route`, then `task-class-mismatch:<route task class>` when the request's
#   task class is not the route's.
default denial_reasons := []

denial_reasons := _denial if not _decidable

# The common case, checked first: well formed, the binding known and the route's task class the request's.
_decidable if {
	well_formed
	binding
	_task_class_matches
}

_denial := errors if count(errors) > 0

else := ["unknown-binding"] if {
	not binding
}

else := ["unknown-route"] if {
	not route
}

else := [sprintf("task-class-mismatch:%s", [route.taskClass])] if not _task_class_matches

_task_class_matches if _request.taskClass == route.taskClass
