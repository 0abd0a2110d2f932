package model_router.compile_hint_test

import data.model_router.compile_hint

test_anchor_is_false_unless_replaced if {
	not compile_hint.anchor
	compile_hint.replaced
}
