package model_router.denied_test

import data.model_router.denied

test_agent_denial_grants_nothing if {
	d := denied.document("AgentExecutionRouteDecision", {}, ["engine-unavailable", "x"])
	d.selected == {
		"lane": null, "status": "denied", "reason": "engine-unavailable", "reasons": ["engine-unavailable", "x"],
		"costClass": null, "estimatedCost": null, "suggestedLane": null, "requiresHumanApproval": false,
	}
	d.candidateSet == []
	d.escalation.valid == false
	d.deEscalation.required == false
}

test_personal_denial_grants_nothing if {
	d := denied.document("LocalPersonalRouteDecision", {"bindingRef": "b"}, ["r"])
	d.selected == {"target": null, "profileRef": null, "status": "denied", "reason": "r", "reasons": ["r"]}
	d.bindingRef == "b"
	d.egress.allowed == false
	d.targets == []
}

test_header_cannot_grant if {
	d := denied.document("AgentExecutionRouteDecision", {"selected": {"lane": "pro", "status": "selected"}}, ["r"])
	d.selected.lane == null
	d.selected.status == "denied"
}

test_no_reasons_no_document if {
	not denied.document("AgentExecutionRouteDecision", {}, [])
	not denied.document("UnknownKind", {}, ["r"])
}

test_fault_template_per_kind if {
	object.keys(denied.fault) == {"AgentExecutionRouteDecision", "LocalPersonalRouteDecision"}
	denied.fault.LocalPersonalRouteDecision.personal == ["bindingRef", "routeId"]
	agent_echo := object.get(denied.fault, ["AgentExecutionRouteDecision", "echo"], {})
	agent_echo.requestId == []
	agent_echo.escalation == ["reason", "receiptRef", "humanJustification"]
	personal_echo := object.get(denied.fault, ["LocalPersonalRouteDecision", "echo"], {})
	personal_echo.personal == ["bindingRef", "routeId", "consentRef", "ledgerApprovalRef"]
	denied.fault.AgentExecutionRouteDecision.template == denied.templates.AgentExecutionRouteDecision
	fault := denied.fault.AgentExecutionRouteDecision
	filled := object.union(fault.selected, {"reason": "r", "reasons": ["r"]})
	object.union(fault.template, {"selected": filled}) == denied.document("AgentExecutionRouteDecision", {}, ["r"])
}
