# METADATA
# description: |
#   Every policy module starts with a package `# METADATA` block, and every public rule or function
#   (a name without a leading `_`) has a `# METADATA` block on at least one of its definitions.
#   Test modules (`*_test.rego`) are exempt: a test's name is its documentation.
# related_resources:
#   - description: OPA annotations
#     ref: https://www.openpolicyagent.org/docs/policy-language/#annotations
# schemas:
#   - input: schema.regal.ast
package custom.regal.rules.conventions["public-rule-metadata"]

import data.regal.ast
import data.regal.result

_test_module if endswith(input.regal.file.name, "_test.rego")

_annotated(node) if count(node.annotations) > 0

_definitions[name] contains rule if {
	some rule in ast.public_rules_and_functions
	name := ast.ref_static_to_string(rule.head.ref)
}

# METADATA
# description: a public rule none of whose definitions is annotated
report contains violation if {
	not _test_module

	some name, rules in _definitions
	every rule in rules {
		not _annotated(rule)
	}

	first := [rule | some rule in ast.public_rules_and_functions; ast.ref_static_to_string(rule.head.ref) == name][0]

	violation := result.fail(rego.metadata.chain(), object.union(result.location(first.head.ref), {"description": sprintf(
		"public rule `%s` has no `# METADATA` block; add one (a description at least) or make it private (`_%s`)",
		[name, name],
	)}))
}

# METADATA
# description: a module without package annotations
report contains violation if {
	not _test_module
	not _annotated(input["package"])

	violation := result.fail(rego.metadata.chain(), object.union(result.location(input["package"]), {
		"description": "module has no package `# METADATA` block (with a title) before `package`",
	}))
}
