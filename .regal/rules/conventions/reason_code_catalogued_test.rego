package custom.regal.rules.conventions["reason-code-catalogued_test"]

import data.custom.regal.rules.conventions["reason-code-catalogued"] as rule

_catalogue := {
	"reason_codes": {"budget-exhausted", "no-feasible-candidate", "receipt-invalid"},
	"reason_details": {"not-yet-valid"},
	"contract_values": {"local-runtime"},
}

_report(policy, file) := r if {
	r := rule.report with input as regal.parse_module(file, policy)
		with data.custom.model_router.catalogue as _catalogue
}

test_catalogued_codes_and_contract_values_pass if {
	r := _report(
		`package p

a := "no-feasible-candidate"

b := sprintf("budget-exhausted:%s", [1])

c if input.costModel == "local-runtime"

d := "camelCase"

e := sprintf("%s:%s", ["receipt-invalid", "not-yet-valid"])
`,
		"p.rego",
	)
	r == set()
}

test_an_uncatalogued_literal_is_reported_with_its_line if {
	r := _report("package p\n\na := 1\n\nb := \"made-up-code\"\n", "policies/p/p.rego")
	count(r) == 1
	some v in r
	v.location.file == "policies/p/p.rego"
	v.location.row == 5
	contains(v.description, `"made-up-code" is not catalogued`)
}

test_a_sprintf_format_is_checked_by_its_prefix if {
	r := _report("package p\n\nx(w) := sprintf(\"window-gone:%s\", [w])\n", "p.rego")
	{v.location.row | some v in r} == {3}
	some v in r
	contains(v.description, `"window-gone"`)
}

test_test_modules_are_exempt if {
	_report("package p_test\n\nx := \"made-up-code\"\n", "p_test.rego") == set()
}

test_without_the_catalogue_every_module_is_reported if {
	r := rule.report with input as regal.parse_module("p.rego", "package p\n\nx := 1\n")
		with data.custom.model_router.catalogue as {}
	count(r) == 1
	some v in r
	contains(v.description, "make lint")
}
