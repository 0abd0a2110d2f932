package custom.regal.rules.conventions["test-module-beside_test"]

import data.custom.regal.rules.conventions["test-module-beside"] as rule

_aggregate(files) := {entry |
	some file in files
	entry := rule.aggregate with input as regal.parse_module(file, "package p\n")
}

_entries(files) := {e | some agg in _aggregate(files); some e in agg}

_report(files) := r if {
	r := rule.aggregate_report with input.aggregate as _entries(files)
}

test_a_module_with_its_test_module_passes if {
	_report({"policies/a/a.rego", "policies/a/a_test.rego", "policies/b/helpers_test.rego"}) == set()
}

test_a_module_without_its_test_module_is_reported if {
	r := _report({"policies/a/a.rego", "policies/a/a_test.rego", "policies/b/b.rego", "policies/a/b_test.rego"})
	count(r) == 1
	some v in r
	v.location.file == "policies/b/b.rego"
	v.description == "module has no test module beside it; expected policies/b/b_test.rego"
}
