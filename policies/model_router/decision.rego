# METADATA
# title: model-router decision entrypoint
# description: |
#   The one decision entrypoint. A bundle whose request carries a `personal` object is decided as a
#   local-personal route; any other as an agent-execution lane decision. Always defined.
# entrypoint: true
package model_router

import data.model_router.models.wiring

# METADATA
# scope: document
# title: decision
# description: The route decision document for the input bundle (timestamps and digests are added by the caller).
decision := wiring.with_model(data.model_router.personal.decision.result) if _personal

decision := wiring.with_model(data.model_router.agent.decision.result) if not _personal

_personal if is_object(input.request.personal)
