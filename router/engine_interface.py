"""The one small interface every policy engine implements: managed, remote and fleet.

An engine answers queries (`query`, and the two the router asks most: `decide`, `decide_many`) with
router.opa_client.EngineResult values and never raises for an engine fault; it names itself
(`describe`), remembers the policy revision of its latest answer (`last_revision`) and is closed once
(`close`, or as a context manager). How the OPA behind it is reached or kept running is the engine's
own business (router.opa_client, router.opa_supervisor).

`QueryEngine` is the shared base: `decide`, `decide_many` and the context manager in terms of
`query`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Protocol, Self, runtime_checkable

from router.opa_client import (
    BATCH_PACKAGE,
    BATCH_RULE,
    DECISION_PACKAGE,
    DECISION_RULE,
    EngineResult,
)

DEFAULT_TIMEOUT_S = 0.5


def decision_timeout(timeout_s: object) -> float:
    """TIMEOUT_S as seconds, checked: a positive finite number (ValueError otherwise)."""
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ValueError("the decision timeout must be a positive number of seconds")
    return float(timeout_s)


@runtime_checkable
class Engine(Protocol):
    """What the router needs of a policy engine."""

    timeout_s: float
    last_revision: str | None

    @property
    def describe(self) -> str: ...

    def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
              decisions: int = 1) -> EngineResult: ...

    def decide(self, input_data: Any) -> EngineResult: ...

    def decide_many(self, inputs: list[Any]) -> EngineResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class QueryEngine(ABC):
    """`decide`, `decide_many` and the context manager of an engine, in terms of its `query`."""

    timeout_s: float
    last_revision: str | None = None

    @property
    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
              decisions: int = 1) -> EngineResult:
        """Evaluate data.<package>.<rule> for INPUT_DATA (DECISIONS bundles' worth of work: the deadline is
        the decision timeout once per decision). Never raises for an engine fault."""

    @abstractmethod
    def close(self) -> None: ...

    def decide(self, input_data: Any) -> EngineResult:
        return self.query(input_data, DECISION_PACKAGE, DECISION_RULE)

    def decide_many(self, inputs: list[Any]) -> EngineResult:
        """One round trip: data.model_router.batch.decisions for {"bundles": inputs}; the timeout is the
        single-decision timeout once per bundle."""
        return self.query({"bundles": inputs}, BATCH_PACKAGE, BATCH_RULE, decisions=max(1, len(inputs)))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
