# METADATA
# title: Shared checks
# description: |
#   Value checks several packages need (the same meaning everywhere): non-negative amounts and
#   integers, and the hex form of a SHA-256 digest.
package model_router.lib

# METADATA
# description: A number that is zero or more.
non_negative(value) if {
	is_number(value)
	value >= 0
}

# METADATA
# description: A whole number that is zero or more.
non_negative_integer(value) if {
	non_negative(value)
	value == round(value)
}

# METADATA
# description: 64 lowercase hex digits (a SHA-256 digest without a prefix).
sha256_hex(value) if {
	is_string(value)
	regex.match(`^[0-9a-f]{64}$`, value)
}
