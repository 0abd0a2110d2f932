package custom.regal.rules.conventions["policy-data-known_test"]

import data.custom.regal.rules.conventions["policy-data-known"] as rule

_report(policy, file) := r if {
	r := rule.report with input as regal.parse_module(file, policy)
		with data.custom.model_router.catalogue as {"data_keys": {"active", "reasons", "localProfiles"}}
}

test_known_members_pass if {
	policy := `package p

a := data.model_router_data.active.policy

b := data.model_router_data.localProfiles[x] if x := input.ref

c := object.get(data.model_router_data, "reasons", {})
`
	_report(policy, "p.rego") == set()
}

test_an_unknown_member_is_reported_with_its_line_and_the_file_to_add if {
	r := _report("package p\n\nblocked if input.tenant in data.model_router_data.blockedTenants.tenants\n", "policies/p/p.rego")
	count(r) == 1
	some v in r
	v.location.row == 3
	contains(v.description, "data.model_router_data.blockedTenants is not assembled")
	contains(v.description, "policies/data/blocked-tenants.json")
}

test_test_modules_may_mock_anything if {
	_report("package p_test\n\nx := data.model_router_data.nothing\n", "p_test.rego") == set()
}
