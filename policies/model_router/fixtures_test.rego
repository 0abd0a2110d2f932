# METADATA
# title: Example bundles decided by the policy
# description: |
#   Every case of data.model_router_fixtures (examples/bundles/<case>.json with its
#   <case>.expected.json, assembled by router.fixture_data) is decided through the one entrypoint,
#   data.model_router.decision, and compared with its expected outcome. Agent cases: status, lane,
#   suggested lane and reasons included; personal cases: status, target, profile and reasons included.
#   Reasons are looked up in the selected reasons, every candidate's or target's reasons and the
#   requested lane's evaluation.
package model_router.fixtures_test

_cases := data.model_router_fixtures.cases

_decide(bundle) := d if {
	d := data.model_router.decision with input as bundle
}

_reason_lists(d) := array.concat(
	array.concat([d.selected.reasons], [c.reasons | some c in object.get(d, "candidateSet", [])]),
	array.concat(
		[r.reasons | r := d.requestedEvaluation; is_object(r)],
		[t.reasons | some t in object.get(d, "targets", [])],
	),
)

_reasons(d) := {r | some list in _reason_lists(d); some r in list}

_field_problems("agent") := [["status", ["selected", "status"]], ["lane", ["selected", "lane"]], ["suggestedLane", ["selected", "suggestedLane"]]]

_field_problems("personal") := [["status", ["selected", "status"]], ["target", ["selected", "target"]], ["profileRef", ["selected", "profileRef"]]]

_problems(case) := {"the decision is undefined"} if not _decide(case.input)

_problems(case) := problems if {
	d := _decide(case.input)
	expected := case.expected
	mismatches := {sprintf("%s: got %v, expected %v", [key, got, want]) |
		some [key, path] in _field_problems(expected.family)
		want := expected[key]
		got := object.get(d, path, "<absent>")
		got != want
	}
	missing := {sprintf("reason %s not in the decision", [r]) |
		some r in expected.reasonsInclude
		not r in _reasons(d)
	}
	problems := mismatches | missing
}

test_there_are_enough_fixture_cases if {
	count([name | some name, case in _cases; case.expected.family == "agent"]) >= 40
}

test_every_fixture_case_decides_as_expected if {
	failures := {name: problems |
		some name, case in _cases
		problems := _problems(case)
		count(problems) > 0
	}
	print("fixture failures:", failures)
	failures == {}
}

test_every_reason_of_every_fixture_decision_is_catalogued if {
	uncatalogued := {code |
		some _, case in _cases
		some reason in _reasons(_decide(case.input))
		code := split(reason, ":")[0]
		not data.model_router_data.reasons[code]
	}
	print("uncatalogued reason codes:", uncatalogued)
	uncatalogued == set()
}
