# METADATA
# title: personal route targets
# description: |
#   Admissibility of each target a local-personal route may try. Every check of a target runs (no
#   short-circuit) and each failing check adds its reason, in the order listed below; a target with no
#   failing check is admissible and has reasons ["admissible"]. Profile refs come from the binding and
#   memory needs from `data.model_router_data.localProfiles`, looked up by key.
#
#   base-local / quality-local: local-profile-not-configured, local-profile-unknown,
#     local-service-unhealthy, local-model-profile-unavailable, insufficient-local-memory,
#     thermal-critical, battery-critical.
#   personal-local: the base-local checks, then personalization-disabled, personalization-revoked,
#     personalization-not-active, consent-contract-missing (no contract ref, or the ledger snapshot
#     does not hold it), personalization-artifact-missing, consent-missing, the ledger consent checks
#     (model_router.personal.consent: consent-not-granted:<status>, consent-expired,
#     consent-ref-mismatch, consent-subject-mismatch, consent-artifact-mismatch,
#     consent-binding-mismatch), then ledger-approval-missing or personal-activation-invalid:<why>.
#   hosted: network-unavailable, egress-approval-missing or egress-approval-invalid:<why>,
#     consent-missing, the ledger consent checks when the route requires consent,
#     contract-forbids-egress, data-class-forbids-egress.
#   deny: route-target-deny. Any other value: route-target-unknown.
package model_router.personal.targets

import data.model_router.personal.consent
import data.model_router.personal.request

_profiles := data.model_router_data.localProfiles

default _resources := {}

_resources := input.resources if is_object(input.resources)

_binding := request.binding

_personalization := object.get(_binding, "personalization", {})

_policy := object.get(_binding, "policy", {})

_state := object.get(_personalization, "defaultState", null)

# States in which the personalized adapter may serve the user.
_serving_states := {"personal-only", "active"}

# States reported by their own reason.
_reported_states := {"disabled", "revoked"}

# METADATA
# scope: document
# title: profile_ref
# description: |
#   The local model profile a target runs: the binding's default profile for base-local and
#   personal-local (the adapter sits on the default profile), its quality fallback profile for
#   quality-local; null for hosted, deny and a quality fallback the binding does not configure.
default profile_ref(_) := null

profile_ref(target) := object.get(_binding, object.get(_profile_fields, target, ""), null)

# The binding field naming each local target's profile.
_profile_fields := {
	"base-local": "defaultLocalProfileRef",
	"personal-local": "defaultLocalProfileRef",
	"quality-local": "qualityFallbackLocalProfileRef",
}

# METADATA
# scope: document
# title: reasons
# description: The reasons of a target, every failing check in order, or ["admissible"].
default reasons(_) := ["admissible"]

reasons(target) := failing if {
	failing := failures(target)
	count(failing) > 0
}

# METADATA
# scope: document
# title: admissible
# description: True when no check of the target fails.
default admissible(_) := false

admissible(target) if count(failures(target)) == 0

# METADATA
# title: failures
# description: The reason codes of the target's failing checks, in check order ([] when it is admissible).
failures(target) := _local_failures(profile_ref(target)) if {
	target in {"base-local", "quality-local"}
} else := array.concat(_local_failures(profile_ref(target)), _personal_failures) if {
	target == "personal-local"
} else := array.concat(_hosted_failures, _hosted_tail) if {
	target == "hosted"
} else := ["route-target-deny"] if {
	target == "deny"
} else := ["route-target-unknown"]

_local_runtime_healthy if {
	_resources.localServiceHealthy == true
	_resources.localModelProfileAvailable == true
	object.get(_resources, "thermalState", "critical") != "critical"
	object.get(_resources, "batteryState", "critical") != "critical"
}

# The reason codes of the checks that fail, in check order.
_failing(checks) := [reason | some [reason, fails] in checks; fails]

# A local target whose profile is known, fits in memory and whose runtime is healthy fails no check
# (the common case, decided without building the check list).
_local_failures(ref) := [] if {
	_local_runtime_healthy
	need := _profiles[ref].memoryRequiredBytes
	is_number(need)
	_resources.memoryAvailableBytes >= need
} else := [reason |
	need := object.get(_profiles, [ref, "memoryRequiredBytes"], null)
	known := is_number(need)
	some [reason, fails] in [
		["local-profile-not-configured", ref == null],
		# a configured profile whose memory need policy data does not declare: its memory cannot be checked
		["local-profile-unknown", [ref == null, known] == [false, false]],
		["local-service-unhealthy", object.get(_resources, "localServiceHealthy", false) != true],
		["local-model-profile-unavailable", object.get(_resources, "localModelProfileAvailable", false) != true],
		["insufficient-local-memory", [known, object.get(_resources, "memoryAvailableBytes", 0) < need] == [true, true]],
		["thermal-critical", object.get(_resources, "thermalState", "critical") == "critical"],
		["battery-critical", object.get(_resources, "batteryState", "critical") == "critical"],
	]
	fails
]

# A personalization that is enabled and serving, names a contract the snapshot holds and an artifact,
# with a consent ref presented, fails none of the personalization checks (the common case, decided
# without building their list); the ledger consent and activation checks still run.
_personal_failures := array.concat(consent.failures, consent.activation_codes) if {
	_personalization.enabled == true
	_state in _serving_states
	request.ref(_personalization.governanceContractRef)
	consent.contract
	request.ref(_personalization.artifactRef)
	request.consent_ref != null
} else := array.concat(
	array.concat(
		_failing([
			["personalization-disabled", _personalization_disabled],
			["personalization-revoked", _state == "revoked"],
			["personalization-not-active", _personalization_not_active],
			["consent-contract-missing", _contract_missing],
			["personalization-artifact-missing", _missing(object.get(_personalization, "artifactRef", null))],
			["consent-missing", _personal_consent_missing],
		]),
		consent.failures,
	),
	consent.activation_codes,
)

default _contract_missing := false

_contract_missing if _missing(object.get(_personalization, "governanceContractRef", null))

_contract_missing if consent.contract_missing

default _personalization_disabled := false

_personalization_disabled if object.get(_personalization, "enabled", false) != true

_personalization_disabled if _state == "disabled"

# candidate, and any state outside the vocabulary, is not active.
default _personalization_not_active := false

_personalization_not_active if {
	not _state in _serving_states
	not _state in _reported_states
}

# Consent is required by the route, or by the binding's policy (true unless it says false).
default _personal_consent_missing := false

_personal_consent_missing if {
	request.route.requiresConsent == true
	request.consent_ref == null
}

_personal_consent_missing if {
	object.get(_policy, "personalizationRequiresConsent", true) != false
	request.consent_ref == null
}

# A hosted target sends the prompt off the device. Whatever `promptEgressDefault` says (`deny`: denied
# unless approved; `allow-with-policy`: allowed with a policy approval), the approval is the
# `egressApprovalRef`; hosted is never admissible without it. A hosted model is reached over the
# network, so network availability is checked for every hosted target.
_hosted_failures := array.concat(
	array.concat(
		[code | object.get(_resources, "networkAvailable", false) != true; code := "network-unavailable"],
		consent.egress_codes,
	),
	[code | _hosted_consent_missing; code := "consent-missing"],
)

_hosted_tail := array.concat(_hosted_consent_checks, [code |
	some [code, fails] in [
		["contract-forbids-egress", _contract_forbids_egress],
		["data-class-forbids-egress", request.data_class == "restricted"],
	]
	fails
])

default _hosted_consent_checks := []

# The ledger consent checks, when the hosted route requires consent.
_hosted_consent_checks := consent.failures if request.route.requiresConsent == true

default _contract_forbids_egress := false

_contract_forbids_egress if consent.contract_forbids_egress

default _hosted_consent_missing := false

_hosted_consent_missing if {
	request.route.requiresConsent == true
	request.consent_ref == null
}

default _missing(_) := true

_missing(value) := false if request.ref(value)
