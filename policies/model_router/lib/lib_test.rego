package model_router.lib_test

import data.model_router.lib

test_non_negative if {
	lib.non_negative(0)
	lib.non_negative(0.5)
	not lib.non_negative(-1)
	not lib.non_negative("1")
}

test_non_negative_integer if {
	lib.non_negative_integer(0)
	lib.non_negative_integer(42)
	not lib.non_negative_integer(1.5)
	not lib.non_negative_integer(-3)
	not lib.non_negative_integer(null)
}

test_sha256_hex if {
	lib.sha256_hex(concat("", [x | some _ in numbers.range(1, 64); x := "a"]))
	not lib.sha256_hex(concat("", [x | some _ in numbers.range(1, 63); x := "a"]))
	not lib.sha256_hex(concat("", [x | some _ in numbers.range(1, 64); x := "A"]))
	not lib.sha256_hex(64)
}
