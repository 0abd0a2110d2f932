# METADATA
# title: Human justification is visible text
# description: |
#   A human justification is present when it has at least 20 characters after removing whitespace
#   (Unicode separators), control characters (Cc, including tab and newline) and format characters
#   (Cf, e.g. zero-width space, zero-width joiner, byte-order mark). Anything else, or a value that is
#   not a string, is no justification.
package model_router.approvals.justification

# METADATA
# description: The fewest visible characters a justification needs (governance contract).
min_visible_chars := 20

_invisible := `[\p{Z}\p{Cc}\p{Cf}]`

# METADATA
# description: The number of visible characters of a string.
visible_chars(text) := count(regex.replace(text, _invisible, ""))

# METADATA
# description: Whether TEXT is a justification (a string of at least 20 visible characters).
present(text) if {
	is_string(text)
	visible_chars(text) >= min_visible_chars
}
