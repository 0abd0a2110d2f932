# METADATA
# title: Type-check cache hint (compile time only)
# description: |
#   No decision reads this package. It holds the bundle's one `with` modifier on a data document,
#   so that OPA's type checker computes the set of rules a `with` could replace once per compile.
#   OPA v1.22's checker asks for that set for every rule whose type holds an empty collection
#   (`default x := []`, `set()`, `{}`; about 70 rules here) and caches it in a map it takes as
#   "not computed yet" while it is empty (v1/ast/check.go, isReplaced): without a `with` on data
#   in the bundle, each ask walks every module again: a quarter to a third of the compile time,
#   paid at every start of the managed OPA. The `bench` cold-cli section measures the compile
#   with and without this package side by side; remove the package when that ratio is 1.
package model_router.compile_hint

# METADATA
# description: The document the modifier below replaces (nothing else reads it).
anchor := false

# METADATA
# description: True, by replacing anchor. Never read by a decision; present for the compiler only.
replaced if anchor with anchor as true
