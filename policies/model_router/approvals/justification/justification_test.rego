package model_router.approvals.justification_test

import data.model_router.approvals.justification

test_success_twenty_visible_characters if {
	justification.present("abcdefghijklmnopqrst")
	justification.present("\u200babcde\u200b fghij\u00a0klmno pqrst\u200b")
	justification.visible_chars("a\u200bb\tc\u3000d\ufeffe") == 5
}

test_fail_nineteen_visible_characters_or_not_a_string if {
	not justification.present("abcdefghijklmnopqrs")
	not justification.present(null)
	not justification.present(42)
	not justification.present(concat("", ["\u200b\u200d\u2060\ufeff\u00ad \t\n\r\u0000" | some _ in numbers.range(1, 20)]))
}
