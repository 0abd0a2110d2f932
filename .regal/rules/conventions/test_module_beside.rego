# METADATA
# description: |
#   Every policy module `<name>.rego` has its tests in `<name>_test.rego` in the same folder.
#   Checked over every file linted together (lint the whole policy folder).
# schemas:
#   - input: schema.regal.ast
package custom.regal.rules.conventions["test-module-beside"]

import data.regal.result

# METADATA
# description: collects the name of every linted file
aggregate contains result.aggregate(rego.metadata.chain(), {"file": input.regal.file.name})

# METADATA
# description: a module whose test module was not among the linted files
# schemas:
#   - input: schema.regal.aggregate
aggregate_report contains violation if {
	files := {item.aggregate_source.file | some item in input.aggregate}

	some file in files
	not endswith(file, "_test.rego")

	expected := concat("", [trim_suffix(file, ".rego"), "_test.rego"])
	not expected in files

	violation := result.fail(rego.metadata.chain(), {
		"description": sprintf("module has no test module beside it; expected %s", [expected]),
		"location": {"file": file, "row": 1, "col": 1, "text": ""},
	})
}
