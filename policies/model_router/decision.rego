# METADATA
# title: model-router decision entrypoint
# description: |
#   The one decision entrypoint. A bundle whose request carries a `personal` object is decided as a
#   local-personal route; any other as an agent-execution lane decision. Always defined.
# entrypoint: true
package model_router

# METADATA
# title: decision
# description: The route decision document for the input bundle (timestamps and digests are added by the caller).
decision := data.model_router.personal.decision.result if is_object(input.request.personal)

decision := data.model_router.agent.decision.result if not is_object(input.request.personal)
