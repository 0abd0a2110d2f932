# METADATA
# title: local-personal route decision
# description: |
#   The LocalPersonalRouteDecision for a bundle whose request carries `personal`. Called by the
#   `model_router` dispatcher; always defined, whatever the input.
#
#   Order: a request that cannot be decided (malformed personal request, unknown binding, unknown
#   route, task class not the route's) is denied with that reason; a route whose targets need a
#   signal that is missing or ill-typed is denied with `missing-signals`; otherwise the preferred
#   target, then the fallback target, is tried and the first admissible one wins.
#
#   selected.reason / selected.reasons:
#     selected  `preferred-target-admissible`
#     fallback  `preferred-target-inadmissible:<preferred>`, then the preferred target's reasons
#     denied    `no-admissible-target`, then every tried target's reasons (in order, each once);
#               or the request's denial reasons; or `missing-signals`, then
#               `missing-signals:<signal>` for each missing or ill-typed signal
package model_router.personal.decision

import data.model_router.approvals.token
import data.model_router.denied
import data.model_router.personal.consent
import data.model_router.personal.request
import data.model_router.personal.signals
import data.model_router.personal.targets

default _request := {}

_request := input.request if is_object(input.request)

_personal_fields := ["bindingRef", "routeId", "consentRef", "ledgerApprovalRef"]

default _pre_denial := []

# Reasons to deny before any target is tried ([] when the targets decide).
_pre_denial := request.denial_reasons if count(request.denial_reasons) > 0

else := array.concat(["missing-signals"], _missing_signal_reasons) if count(signals.missing) > 0

_missing_signal_reasons := [sprintf("missing-signals:%s", [signal]) | some signal in signals.missing]

# Every target tried, in order, with its admissibility and reasons.
_tried := [] if count(_pre_denial) > 0

else := [{
	"target": target,
	"profileRef": targets.profile_ref(target),
	"admissible": admissible,
	"reasons": object.get(_admissible_reasons, admissible, failures),
} |
	some target in request.targets
	failures := targets.failures(target)
	admissible := count(failures) == 0
]

# The reasons of an admissible target (targets.reasons).
_admissible_reasons := {true: ["admissible"]}

_preferred_reason := sprintf("preferred-target-inadmissible:%s", [_tried[0].target])

# Each element once, first occurrence kept.
_once(items) := [item | some i, item in items; not item in array.slice(items, 0, i)]

# METADATA
# title: selected
# description: The chosen target and profile with the status and reasons (see the package description).
selected := denied.selected("LocalPersonalRouteDecision", _pre_denial) if count(_pre_denial) > 0

else := {
	"target": _tried[0].target,
	"profileRef": _tried[0].profileRef,
	"status": "selected",
	"reason": "preferred-target-admissible",
	"reasons": ["preferred-target-admissible"],
} if {
	_tried[0].admissible
}

else := {
	"target": _tried[1].target,
	"profileRef": _tried[1].profileRef,
	"status": "fallback",
	"reason": _preferred_reason,
	"reasons": array.concat([_preferred_reason], _tried[0].reasons),
} if {
	_tried[1].admissible
}

else := denied.selected("LocalPersonalRouteDecision", _once(array.concat(
	["no-admissible-target"],
	[reason | some tried in _tried; some reason in tried.reasons],
)))

# The targets tried, in order: the route's targets unless the request is denied before any is tried.
default _tried_targets := []

_tried_targets := request.targets if count(_pre_denial) == 0

_personal_was_tried := "personal-local" in _tried_targets

_hosted_was_tried := "hosted" in _tried_targets

default _binding := {}

_binding := request.binding

_personalization := object.get(_binding, "personalization", {})

_binding_evidence := object.get(_binding, "evidence", {})

_ledger_ref := object.get(_binding_evidence, "ledgerRef", null)

# METADATA
# title: governance_refs
# description: |
#   consentContractRef, artifactRef, ledgerApprovalRef (set when personal-local was tried), consentRef
#   (set when personal-local or hosted was tried) and ledgerRef (the binding's evidence ledger).
governance_refs := {
	"consentContractRef": object.get(_personalization, "governanceContractRef", null),
	"artifactRef": object.get(_personalization, "artifactRef", null),
	"ledgerApprovalRef": request.ledger_approval_ref,
	"consentRef": request.consent_ref,
	"ledgerRef": _ledger_ref,
} if {
	_personal_was_tried
} else := {
	"consentContractRef": null,
	"artifactRef": null,
	"ledgerApprovalRef": null,
	"consentRef": request.consent_ref,
	"ledgerRef": _ledger_ref,
} if {
	_hosted_was_tried
} else := {
	"consentContractRef": null,
	"artifactRef": null,
	"ledgerApprovalRef": null,
	"consentRef": null,
	"ledgerRef": _ledger_ref,
}

# METADATA
# scope: document
# title: egress
# description: The prompt may leave the device only when hosted is selected, under its egress approval.
default egress := {"allowed": false, "approvalRef": null}

egress := {"allowed": true, "approvalRef": request.egress_approval_ref} if selected.target == "hosted"

_emit := {
	"emitRouteDecision": object.get(_binding_evidence, "emitRouteDecision", true),
	"emitRuntimeHealth": object.get(_binding_evidence, "emitRuntimeHealth", true),
	"emitGovernanceRefs": object.get(_binding_evidence, "emitGovernanceRefs", true),
}

# The echo carries well-formed values only (null otherwise), so the decision always matches its schema;
# the reasons name the malformed fields.
default _echo_ref(_) := null

_echo_ref(value) := request.ref(value)

# A well-formed request echoes its refs as they are (absent optional refs as null).
_personal_echo := {
	"bindingRef": personal.bindingRef,
	"routeId": personal.routeId,
	"consentRef": object.get(personal, "consentRef", null),
	"ledgerApprovalRef": object.get(personal, "ledgerApprovalRef", null),
} if {
	request.well_formed
	personal := request.personal
} else := {field: _echo_ref(object.get(request.personal, field, null)) | some field in _personal_fields}

default _data_class_echo := null

_data_class_echo := request.data_class if request.data_class_valid

default _task_class_echo := null

_task_class_echo := task_class if {
	task_class := _request.taskClass
	is_string(task_class)
	task_class != ""
}

# A prompt evidence of a sha256 hex digest and a non-negative integer length (lib.sha256_hex and
# lib.non_negative_integer, inline).
default _prompt_echo := null

_prompt_echo := {"sha256": digest, "chars": chars} if {
	digest := _request.prompt.sha256
	is_string(digest)
	regex.match(`^[0-9a-f]{64}$`, digest)
	chars := _request.prompt.chars
	is_number(chars)
	chars >= 0
	chars == round(chars)
}

# The input echo; the guardrail reference is echoed only when the request carries one.
_echo := {
	"requestId": request.id,
	"taskClass": _task_class_echo,
	"dataClass": _data_class_echo,
	"egressApprovalRef": request.egress_approval_ref,
	"personal": _personal_echo,
	"prompt": _prompt_echo,
	"guardrailRef": guardrail_ref,
} if {
	guardrail_ref := request.ref(_request.guardrailRef)
} else := {
	"requestId": request.id,
	"taskClass": _task_class_echo,
	"dataClass": _data_class_echo,
	"egressApprovalRef": request.egress_approval_ref,
	"personal": _personal_echo,
	"prompt": _prompt_echo,
}

# METADATA
# title: result
# description: The LocalPersonalRouteDecision document (the caller adds decisionId, createdAt and policyRevision).
result := object.union(
	{
		"approvals": _approvals,
		"bindingRef": request.binding_ref,
		"egress": egress,
		"evaluation": token.evaluation,
		"evidence": {"emit": _emit, "promptEvidenceMode": "hash-only"},
		"governanceRefs": governance_refs,
		"input": _echo,
		"routeId": request.route_id,
		"runtimeHealth": signals.runtime_health,
		"selected": selected,
		"targets": _tried,
	},
	{"kind": "LocalPersonalRouteDecision", "schemaVersion": "v0.1"},
)

# The evidence of the approvals and consent the decision relied on (never a token): none when neither
# personal-local nor hosted was tried.
default _approvals := []

_approvals := consent.approvals(true, _hosted_was_tried) if {
	_personal_was_tried
} else := consent.approvals(false, true) if {
	_hosted_was_tried
}
