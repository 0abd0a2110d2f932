"""The policy engine as a fleet: several OPA replicas that serve the same signed bundle (deploy/).

`FleetEngine` is what the router uses when the remote engine setting names more than one OPA URL
(`opa_url: [http://127.0.0.1:8181, http://127.0.0.1:8182]`, or a comma-separated MODEL_ROUTER_OPA_URL).
Each replica is reached by its own router.opa_client.OpaClient (one deadline per call, size cap, no
redirects, no implicit proxy), exactly as a single remote OPA is; the fleet implements the same engine
interface (router.engine_interface.Engine) as the managed and remote engines.

* **Spread**: decisions go round-robin over the replicas that qualify: healthy at the last check and
  serving the expected revision.
* **Health checks**: a background thread asks every replica, every `health_interval_s`, for
  `/health?bundles` and for the revision of its `model_router` bundle (`data.system.bundles`), each
  bounded by the decision timeout (at most 1 s).
* **Fail-over within the decision deadline**: one decision has one deadline (the decision timeout).
  When a replica refuses the connection, times out, answers with an error or with another revision,
  the next replica is asked with the time that is left (the first three also mark it unhealthy until
  the next health check); while more than one
  replica is left, one attempt gets at most half of it, so a slow replica cannot use up the whole
  deadline. Replicas that do not qualify are asked last, and only with the time left. When no answer
  comes, the decision fails closed with the last fault; when no replica serves the expected revision,
  with `engine-revision-mismatch`.
* **Expected revision** (`opa_revision`): a pinned `sha256:...` (an answer computed under any other
  revision is refused), or `newest` (the default for a fleet): the revision the replicas serve when
  the engine starts (the one most of them serve; a tie goes to the smallest digest), then each
  revision that a replica starts serving afterwards. When the engine started during a rollout, it also
  follows a revision once every healthy replica serves it and none serves the expected one. Replicas
  load only bundles signed with the fleet's key, so every revision that can become expected is a
  signed one; a revision once replaced never becomes expected again (no downgrade by a replica that
  lags behind or is restarted from an old bundle). Pin the revision where even that is too loose.

The answer's revision is the one of the bundle named `model_router` in OPA's provenance (a replica
also serves the decision-log mask as a second bundle, deploy/opa/opa-config.yaml).
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from typing import Any

from router.engine_interface import DEFAULT_TIMEOUT_S, QueryEngine, decision_timeout
from router.opa_client import (
    DECISION_PACKAGE,
    DECISION_RULE,
    ENGINE_ERROR,
    ENGINE_REVISION_MISMATCH,
    ENGINE_TIMEOUT,
    ENGINE_UNAVAILABLE,
    POLICY_UNDEFINED,
    EngineResult,
    OpaClient,
    revision_from_provenance,
)
from router.opa_http import DEFAULT_MAX_RESPONSE_BYTES, ChannelError

NEWEST = "newest"
BUNDLE_NAME = "model_router"  # the bundle name in the replicas' OPA config (deploy/opa/opa-config.yaml)
DEFAULT_HEALTH_INTERVAL_S = 0.5


def policy_revision(bundles: Any) -> str | None:
    """The revision of the `model_router` bundle in OPA's `data.system.bundles` (or in a provenance
    `bundles` block); None when there is none."""
    if not isinstance(bundles, dict):
        return None
    entry = bundles.get(BUNDLE_NAME)
    if not isinstance(entry, dict):
        return None
    revision = entry.get("revision")
    manifest = entry.get("manifest")
    if revision is None and isinstance(manifest, dict):
        revision = manifest.get("revision")
    return revision if isinstance(revision, str) and revision else None


def answer_revision(provenance: Any) -> str | None:
    """The policy revision of a replica's answer: its `model_router` bundle's, else the one policy bundle's."""
    bundles = provenance.get("bundles") if isinstance(provenance, dict) else None
    return policy_revision(bundles) or revision_from_provenance(provenance)


class Replica:
    """One OPA of the fleet: its client and what the last health check found."""

    def __init__(self, url: str, token: str | None, proxy: str | None, max_response_bytes: int) -> None:
        self.client = OpaClient(url, token=token, proxy=proxy, max_response_bytes=max_response_bytes,
                                revision_of=answer_revision)
        self.url = self.client.url
        self.healthy = False
        self.revision: str | None = None
        self.error = "not checked yet"
        self.answers = 0
        self.failures = 0

    def check(self, timeout_s: float) -> None:
        """Refresh health and served revision (never raises)."""
        try:
            revision = self.client.check(timeout_s).get(BUNDLE_NAME)
            if revision is None:
                raise ChannelError(f"no {BUNDLE_NAME} bundle is active")
            self.revision, self.healthy, self.error = revision, True, ""
        except ChannelError as exc:
            self.healthy, self.error = False, str(exc) or type(exc).__name__
        except Exception as exc:  # noqa: BLE001  (a health check never takes the engine down)
            self.healthy, self.error = False, f"{type(exc).__name__}: {exc}"

    def status(self) -> dict[str, Any]:
        return {"url": self.url, "healthy": self.healthy, "revision": self.revision, "error": self.error,
                "answers": self.answers, "failures": self.failures}

    def close(self) -> None:
        self.client.close()


class FleetEngine(QueryEngine):
    """Decisions from several OPA replicas (see the module docstring). Never raises for an engine fault."""

    def __init__(self, urls: list[str] | tuple[str, ...], timeout_s: float = DEFAULT_TIMEOUT_S, *,
                 token: str | None = None, expected_revision: str | None = None, proxy: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 health_interval_s: float = DEFAULT_HEALTH_INTERVAL_S, recent: int = 0) -> None:
        urls = list(urls)
        if not urls:
            raise ValueError("a fleet needs at least one OPA URL")
        if len(set(urls)) != len(urls):
            raise ValueError("the fleet names the same OPA URL twice")
        self.timeout_s = decision_timeout(timeout_s)
        self.mode = NEWEST if expected_revision in (None, NEWEST) else "pinned"
        self.expected_revision: str | None = None if self.mode == NEWEST else expected_revision
        self._seen: set[str] = set()
        self._replaced: set[str] = set()  # revisions that were expected and were replaced: never expected again
        self.replicas = [Replica(url, token, proxy, max_response_bytes) for url in urls]
        self.health_interval_s = float(health_interval_s)
        self.last_revision: str | None = None
        # (decision_id, replica url, revision) of the latest answers, when asked for (tests, `fleet status`)
        self.recent: collections.deque[tuple[str | None, str, str | None]] = collections.deque(maxlen=recent or 1)
        self._keep_recent = recent > 0
        self._next = itertools.count()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.check_now()
        self._thread = threading.Thread(target=self._health_loop, name="model-router-fleet-health", daemon=True)
        self._thread.start()

    def keep_recent(self, count: int) -> None:
        """Record (decision_id, replica url, revision) of the last COUNT answers in `recent`."""
        self.recent = collections.deque(maxlen=max(1, count))
        self._keep_recent = count > 0

    # -- health ------------------------------------------------------------------------
    def _check_timeout(self) -> float:
        return min(self.timeout_s, 1.0)

    def check_now(self) -> None:
        """Check every replica (concurrently) and update the expected revision in `newest` mode."""
        threads = [threading.Thread(target=r.check, args=(self._check_timeout(),), daemon=True) for r in self.replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self._follow()

    def _follow(self) -> None:
        if self.mode != NEWEST:
            return
        with self._lock:
            served = [r.revision for r in self.replicas if r.healthy and r.revision]
            if self.expected_revision is None:
                if served:
                    counts = collections.Counter(served)
                    # the revision most replicas serve (ties: the smallest digest, so the choice is repeatable)
                    self.expected_revision = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
                    self._seen.update(served)
                return
            for revision in served:
                if revision not in self._seen:
                    self._seen.add(revision)
                    self._replace(revision)  # a revision first served now is the newest
            # started during a rollout: once every healthy replica serves one other revision that was never
            # replaced, follow it (otherwise a completed rollout would leave no replica to answer)
            if served and self.expected_revision not in served and len(set(served)) == 1 and served[0] not in self._replaced:
                self._replace(served[0])

    @property
    def replaced_revisions(self) -> frozenset[str]:
        """Revisions that were expected and were replaced: never expected again (`newest` mode)."""
        with self._lock:
            return frozenset(self._replaced)

    def _replace(self, revision: str) -> None:
        if self.expected_revision is not None and self.expected_revision != revision:
            self._replaced.add(self.expected_revision)
        self.expected_revision = revision

    def _health_loop(self) -> None:
        while not self._closed.wait(self.health_interval_s):
            self.check_now()

    # -- queries -----------------------------------------------------------------------
    def _order(self) -> list[Replica]:
        expected = self.expected_revision
        good = [r for r in self.replicas if r.healthy and expected is not None and r.revision == expected]
        rest = [r for r in self.replicas if r not in good]
        if good:
            k = next(self._next) % len(good)
            good = good[k:] + good[:k]
        return good + rest

    def query(self, input_data: Any, package: str = DECISION_PACKAGE, rule: str = DECISION_RULE,
              decisions: int = 1) -> EngineResult:
        try:
            return self._query(input_data, package, rule, decisions)
        except Exception as exc:  # noqa: BLE001  (fail closed: no fault may escape as an exception)
            return EngineResult(fault=ENGINE_ERROR, detail=f"{type(exc).__name__}: {exc}")

    def _query(self, input_data: Any, package: str, rule: str, decisions: int) -> EngineResult:
        deadline = time.monotonic() + self.timeout_s * max(1, decisions)
        if self._closed.is_set():
            return EngineResult(fault=ENGINE_UNAVAILABLE, detail="the OPA fleet engine is closed")
        if self.expected_revision is None:
            if not any(r.healthy for r in self.replicas):
                return EngineResult(fault=ENGINE_UNAVAILABLE, detail="no replica of the fleet answers: " + self._summary())
            return EngineResult(fault=ENGINE_REVISION_MISMATCH,
                                detail="no replica serves a known policy revision yet: " + self._summary())
        order = self._order()
        last: EngineResult | None = None
        mismatched = False
        for i, replica in enumerate(order):
            left = deadline - time.monotonic()
            if left <= 0.001:
                break
            budget = left if i == len(order) - 1 else left / 2
            answer = replica.client.ask(input_data, package, rule, budget, expected_revision=self.expected_revision)
            if answer.ok or answer.fault == POLICY_UNDEFINED:
                replica.answers += 1
                if answer.revision:
                    self.last_revision = answer.revision
                if self._keep_recent:
                    self.recent.append((answer.decision_id, replica.url, answer.revision))
                return answer
            replica.failures += 1
            mismatched = mismatched or answer.fault == ENGINE_REVISION_MISMATCH
            if answer.fault in (ENGINE_UNAVAILABLE, ENGINE_TIMEOUT, ENGINE_REVISION_MISMATCH):
                replica.healthy = False  # until the next health check finds it well again
            last = answer
        # none qualifies: no healthy replica serves the expected revision, and some replica answers under another
        expected = self.expected_revision
        qualified = any(r.healthy and r.revision == expected for r in self.replicas)
        other = mismatched or any(r.healthy and r.revision != expected for r in self.replicas)
        if not qualified and other:
            return EngineResult(
                revision=self.expected_revision, fault=ENGINE_REVISION_MISMATCH,
                detail=f"no replica answered under the expected policy revision {self.expected_revision}: {self._summary()}",
            )
        if last is None:
            return EngineResult(fault=ENGINE_UNAVAILABLE, detail="no time was left to ask a replica: " + self._summary())
        return EngineResult(fault=last.fault, detail=f"no replica answered ({len(order)} tried; last: {last.detail}): {self._summary()}")

    def _summary(self) -> str:
        return "; ".join(
            f"{r.url}: {'healthy' if r.healthy else 'unhealthy'}, revision {r.revision or '(unknown)'}"
            + (f" ({r.error})" if r.error else "")
            for r in self.replicas
        )

    def status(self) -> dict[str, Any]:
        return {"mode": self.mode, "expected_revision": self.expected_revision,
                "replicas": [r.status() for r in self.replicas]}

    def close(self) -> None:
        self._closed.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2 * self._check_timeout() + 1)
        for replica in self.replicas:
            replica.close()

    @property
    def describe(self) -> str:
        return f"OPA fleet of {len(self.replicas)} replicas ({self.mode} revision {self.expected_revision or '(none yet)'})"
