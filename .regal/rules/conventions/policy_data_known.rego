# METADATA
# description: |
#   Every `data.model_router_data.<member>` a policy module reads is assembled by `make data`: a contract
#   document collection, `active`, or a policy data file under policies/data/ (blocked-tenants.json is
#   `blockedTenants`). A rule reading a member no file provides reads undefined data, which can make a
#   deny rule silently never fire. The members are written to build/regal/catalogue.rego by `make lint`.
# schemas:
#   - input: schema.regal.ast
package custom.regal.rules.conventions["policy-data-known"]

import data.custom.model_router.catalogue
import data.regal.result

_test_module if endswith(input.regal.file.name, "_test.rego")

# METADATA
# description: a reference to a member of data.model_router_data that no data file provides
report contains violation if {
	catalogue.data_keys
	not _test_module

	walk(input.rules, [_, term])
	term.type == "ref"
	term.value[0].value == "data"
	term.value[1].value == "model_router_data"
	member := term.value[2]
	member.type == "string"
	not member.value in catalogue.data_keys

	violation := result.fail(rego.metadata.chain(), object.union(result.location(term), {"description": sprintf(
		"data.model_router_data.%s is not assembled by make data: add policies/data/%s.json (or .yaml, with its $schema), or fix the name",
		[member.value, _file_name(member.value)],
	)}))
}

# lowerCamel -> kebab-case file name
_file_name(key) := lower(regex.replace(key, `([a-z0-9])([A-Z])`, "$1-$2"))
