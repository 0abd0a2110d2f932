# METADATA
# title: Consent from the governance ledger and verified personal approvals
# description: |
#   The PersonalTuningContract named by the binding's `personalization.governanceContractRef`, looked
#   up in the ledger snapshot (data.model_router_data.consentContracts), and the approvals a personal
#   route presents (docs/policy-authoring.md, "Approvals and consent").
#
#   `failures` (when consent is needed, the contract exists in the snapshot), in order:
#   consent-not-granted:<status>, consent-expired (expiresAt not after input.evaluation),
#   consent-ref-mismatch (consentRef is not consent.signedIntentRef; a missing consentRef is the
#   targets' consent-missing), consent-subject-mismatch, consent-artifact-mismatch (artifact or base
#   model), consent-binding-mismatch (promotion.modelRouterBindingRef names another binding).
#
#   `activation_codes`: ledger-approval-missing without a `personal.ledgerApprovalToken`, otherwise
#   `personal-activation-invalid:<why>` for a token that fails a check (claims bindingRef, artifactRef
#   and contractId must name this binding, its artifact and its contract).
#   `egress_codes`: egress-approval-missing without an `egressApprovalToken`, otherwise
#   `egress-approval-invalid:<why>`; a personal hosted target has no lane, so `maxLane` is not compared.
#   `contract_forbids_egress`: the binding names a contract that is missing from the snapshot or whose
#   `dataBoundary.egressPolicy` is not `encrypted-allowed`.
package model_router.personal.consent

import data.model_router.approvals.token
import data.model_router.personal.request

_binding := request.binding

_personalization := object.get(_binding, "personalization", {})

_policy := object.get(_binding, "policy", {})

_contract_ref := object.get(_personalization, "governanceContractRef", null)

_activation_kind := "personal-activation"

_egress_kind := "egress-approval"

# The egress policy under which a personal route's prompt may leave the device.
_egress_allowed_policy := "encrypted-allowed"

_subject_fields := ["userRef", "tenantRef", "workspaceRef", "deviceRef"]

# METADATA
# description: The ledger contract the binding names (undefined when it is not in the snapshot).
contract := data.model_router_data.consentContracts[_contract_ref] if is_string(_contract_ref)

# METADATA
# scope: document
# description: Whether consent is needed (the route requires it, or the binding's policy does; true unless it says false).
needed if request.route.requiresConsent == true

needed if object.get(_policy, "personalizationRequiresConsent", true) != false

default _consent := {}

_consent := object.get(contract, "consent", {})

_status := object.get(_consent, "status", null)

default _expired := true

_expired := false if {
	is_number(input.evaluation.timeNs)
	expires_ns := time.parse_rfc3339_ns(_consent.expiresAt)
	input.evaluation.timeNs < expires_ns
}

default _ref_mismatch := false

_ref_mismatch if {
	request.consent_ref != null
	request.consent_ref != object.get(_consent, "signedIntentRef", null)
}

default _subject_mismatch := false

# A subject field (absent is null) on which the contract and the binding differ; the first one found
# decides (no subject object is built).
_subject_mismatch if {
	contract_subject := object.get(contract, "subject", {})
	binding_subject := object.get(_binding, "subject", {})
	some field in _subject_fields
	object.get(contract_subject, field, null) != object.get(binding_subject, field, null)
}

default _artifact_mismatch := false

_artifact_mismatch if {
	object.get(object.get(contract, "tuningTarget", {}), "artifactRef", null) != object.get(_personalization, "artifactRef", null)
}

_artifact_mismatch if object.get(contract, "baseModelRef", null) != object.get(_binding, "defaultLocalProfileRef", null)

default _binding_mismatch := false

_binding_mismatch if {
	named := object.get(object.get(contract, "promotion", {}), "modelRouterBindingRef", null)
	named != null
	named != request.binding_ref
}

_not_granted := [sprintf("consent-not-granted:%v", [_status]) | _status != "granted"]

# METADATA
# scope: document
# description: The consent checks the contract fails, in order (empty when consent is not needed or the contract is missing).
default failures := []

failures := array.concat(_not_granted, [code |
	some [code, failed] in [
		["consent-expired", _expired],
		["consent-ref-mismatch", _ref_mismatch],
		["consent-subject-mismatch", _subject_mismatch],
		["consent-artifact-mismatch", _artifact_mismatch],
		["consent-binding-mismatch", _binding_mismatch],
	]
	failed
]) if {
	needed
	contract
}

# METADATA
# description: Whether the binding names a contract that the ledger snapshot does not hold.
contract_missing if {
	is_string(_contract_ref)
	not contract
}

# METADATA
# scope: document
# description: Whether the binding's contract keeps the prompt on the device (or cannot be found).
contract_forbids_egress if contract_missing

contract_forbids_egress if object.get(object.get(contract, "dataBoundary", {}), "egressPolicy", null) != _egress_allowed_policy

_activation_token := request.ledger_approval_token

# Each token is decoded once per decision ([header, claims], or null when malformed).
_activation_parsed := token.parse(_activation_token)

_activation_failures := token.failures_of(_activation_kind, _activation_token, _activation_parsed, request.ledger_approval_ref, {
	"requestId": request.id,
	"bindingRef": request.binding_ref,
	"artifactRef": object.get(_personalization, "artifactRef", null),
	"contractId": _contract_ref,
})

_activation_verdict := token.verdict(_activation_kind, _activation_failures)

# METADATA
# scope: document
# description: Why the ledger activation is not approved ([] when it is, or when it is not required).
default activation_codes := []

activation_codes := ["ledger-approval-missing"] if {
	_activation_required
	_activation_token == null
} else := [_activation_verdict] if {
	_activation_required
	_activation_verdict != "valid"
}

_activation_required if object.get(_personalization, "activationRequiresLedgerApproval", true) != false

_egress_token := request.egress_approval_token

_egress_parsed := token.parse(_egress_token)

_egress_failures := token.failures_of(_egress_kind, _egress_token, _egress_parsed, request.egress_approval_ref, {
	"requestId": request.id,
	"dataClass": request.data_class,
})

_egress_verdict := token.verdict(_egress_kind, _egress_failures)

# METADATA
# scope: document
# description: Why prompt egress is not approved ([] when a valid egress-approval token is presented).
default egress_codes := []

egress_codes := ["egress-approval-missing"] if {
	_egress_token == null
} else := [_egress_verdict] if {
	_egress_verdict != "valid"
}

default _consent_verdict := "valid"

_consent_verdict := failures[0] if count(failures) > 0

# The consent evidence: the contract's consent status and the first failing check (or valid); a
# contract missing from the snapshot is reported as such.
_consent_entry := {
	"kind": "consent",
	"ref": request.consent_ref,
	"issuer": null,
	"kid": null,
	"tokenDigest": null,
	"verdict": _consent_verdict,
	"expiresAt": object.get(_consent, "expiresAt", null),
	"contractId": _contract_ref,
	"consentStatus": _status,
} if {
	contract
} else := {
	"kind": "consent",
	"ref": request.consent_ref,
	"issuer": null,
	"kid": null,
	"tokenDigest": null,
	"verdict": "consent-contract-missing",
	"expiresAt": object.get(_consent, "expiresAt", null),
	"contractId": _contract_ref,
	"consentStatus": null,
}

# METADATA
# description: |
#   The evidence of the approvals and consent a personal decision relied on (never a token): the
#   personal-activation token when personal-local was tried, the egress approval when hosted was
#   tried, and the consent contract (its id and status) when either was tried and consent is needed.
approvals(personal_tried, hosted_tried) := array.concat(
	array.concat(
		[token.evidence_of(_activation_kind, _activation_token, _activation_parsed, request.ledger_approval_ref, _activation_verdict) |
			personal_tried
			_activation_token != null
		],
		[token.evidence_of(_egress_kind, _egress_token, _egress_parsed, request.egress_approval_ref, _egress_verdict) |
			hosted_tried
			_egress_token != null
		],
	),
	[_consent_entry | _consent_considered(personal_tried, hosted_tried)],
)

_consent_considered(true, _) if needed

_consent_considered(_, true) if needed
