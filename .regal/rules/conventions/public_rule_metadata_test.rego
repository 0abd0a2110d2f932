package custom.regal.rules.conventions["public-rule-metadata_test"]

import data.custom.regal.rules.conventions["public-rule-metadata"] as rule

_report(policy, file) := r if {
	r := rule.report with input as regal.parse_module(file, policy)
}

_annotated_package := "# METADATA\n# title: p\npackage p\n\n"

test_annotated_public_and_private_rules_pass if {
	_report(concat("", [_annotated_package, "# METADATA\n# description: x\nx := 1\n\n_y := 2\n"]), "p.rego") == set()
}

test_one_annotated_definition_covers_the_others if {
	policy := concat("", [
		_annotated_package,
		"# METADATA\n# description: f\nf(1) := \"a\"\n\nf(2) := \"b\"\n",
	])
	_report(policy, "p.rego") == set()
}

test_an_unannotated_public_rule_is_reported_at_its_line if {
	r := _report(concat("", [_annotated_package, "x := 1\n"]), "policies/p/p.rego")
	count(r) == 1
	some v in r
	v.location.row == 5
	contains(v.description, "public rule `x` has no `# METADATA` block")
}

test_a_package_without_metadata_is_reported if {
	r := _report("package p\n\n_x := 1\n", "p.rego")
	count(r) == 1
	some v in r
	v.location.row == 1
	contains(v.description, "no package `# METADATA`")
}

test_test_modules_are_exempt if {
	_report("package p_test\n\ntest_x if true\n", "p_test.rego") == set()
}
