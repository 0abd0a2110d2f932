# METADATA
# title: Route decision with its projections
# description: |
#   The route decision and what the router projects from it, in one query: the guardrail verdict
#   (model_router.projection.guardrail) and the receipt's lane-decision summary
#   (model_router.projection.lane). The decision is exactly data.model_router.decision; the
#   projections are returned beside it, never inside it. model_router.batch.results answers many
#   bundles at once.
# entrypoint: true
package model_router.projection

import data.model_router.projection.guardrail
import data.model_router.projection.lane

_decision := data.model_router.decision

# METADATA
# scope: document
# title: current
# description: >-
#   The projections of the decision, {"guardrail": <verdict>, "lane": <summary or null>}; null when
#   the decision is not one the projections can read (the router then fails closed).
default current := null

current := of(_decision)

# METADATA
# description: The projections of DECISION (a route decision document).
of(decision) := {"guardrail": guardrail.verdict(decision), "lane": lane.summary(decision)}

# METADATA
# title: decision with its projections
# description: >-
#   {"decision": <decision>, "projection": <projection>} for the input bundle.
result := {"decision": _decision, "projection": current}
