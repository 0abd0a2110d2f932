# METADATA
# description: |
#   Every reason code a policy module can emit is catalogued in policies/data/reasons/*.json.
#   Statically: every kebab-case string literal in a non-test module (a `sprintf` format counts by
#   its prefix before `:`, as in "budget-exhausted:%s") is either a catalogued reason code, a detail
#   the catalogue gives its own entry (`expired` of "escalation-receipt-invalid:expired"), or a
#   value the contract schemas declare (enum/const of a contract document or the input bundle,
#   such as "local-runtime" or "lower-cost"). The catalogue and the schema values are written to
#   build/regal/catalogue.rego by `make lint` (tools/rego_style.py --regal-catalogue).
# related_resources:
#   - description: docs/policy-authoring.md, "Reading a decision's reasons"
#     ref: https://github.com/open-policy-agent/regal/blob/main/docs/custom-rules/index.md
# schemas:
#   - input: schema.regal.ast
package custom.regal.rules.conventions["reason-code-catalogued"]

import data.custom.model_router.catalogue
import data.regal.result

_pattern := `^([a-z][a-z0-9]*(-[a-z0-9]+)+)(:.*)?$`

_test_module if endswith(input.regal.file.name, "_test.rego")

_catalogue_loaded if catalogue.reason_codes

# METADATA
# description: a literal that is neither a catalogued code nor a contract value
report contains violation if {
	_catalogue_loaded
	not _test_module

	walk(input.rules, [_, term])
	term.type == "string"
	regex.match(_pattern, term.value)

	code := regex.find_all_string_submatch_n(_pattern, term.value, 1)[0][1]
	not code in catalogue.reason_codes
	not code in object.get(catalogue, "reason_details", set())
	not code in catalogue.contract_values

	violation := result.fail(rego.metadata.chain(), object.union(result.location(term), {"description": sprintf(
		"reason code %q is not catalogued: add it to a file under policies/data/reasons/ (summary, remediation, severity)",
		[code],
	)}))
}

# METADATA
# description: without the generated catalogue nothing can be checked, so that is a finding itself
report contains violation if {
	not _catalogue_loaded
	not _test_module

	violation := result.fail(rego.metadata.chain(), object.union(result.location(input["package"]), {"description": concat("", [
		"the reason-code catalogue is not loaded (build/regal/catalogue.rego); ",
		"run `make lint`, which writes it from policies/data/reasons/ and schemas/",
	])}))
}
