"""The OPA client: queries to one OPA server, their results and their fault codes.

The client knows HTTP endpoints and OPA's REST API, nothing of processes: it asks an OPA that is
already running (started by router.opa_supervisor, by a deployment, by a test) over one
router.opa_http channel (unix socket or TCP/TLS). Every query is a POST to
/v1/data/<package>/<rule> with `strict-builtin-errors` and `provenance`, so each answer names the
policy revision it was computed under. Faults never raise: each comes back as an `EngineResult`
carrying one fail-closed reason code:

    engine-unavailable        OPA could not be reached (connection refused, process gone, failed to start)
    engine-timeout            no complete answer within the decision timeout
    engine-error              OPA answered with an HTTP error (a built-in error under strict mode, 401/403,
                              5xx, a redirect), with a body over the size cap, or with a body that is not
                              a JSON object
    engine-revision-mismatch  the answer was computed under another policy revision than the expected one
    policy-undefined          the answer has no `result` key (the rule is undefined for this input)

(`invalid-policy-result`, a result that does not match the decision schema or the request, and
`evidence-unavailable` are found by the caller.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

# the HTTP channel (router.opa_http: http.client, ssl) is imported when a client is made, so that the
# managed OPA's start path, which needs this module's names only, does not load it (router.opa_endpoint)
from router.opa_endpoint import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ChannelError,
    ChannelTimeout,
    ChannelUnavailable,
)

if TYPE_CHECKING:
    from router.opa_http import Channel

ENGINE_UNAVAILABLE = "engine-unavailable"
ENGINE_TIMEOUT = "engine-timeout"
ENGINE_ERROR = "engine-error"
ENGINE_REVISION_MISMATCH = "engine-revision-mismatch"
POLICY_UNDEFINED = "policy-undefined"
INVALID_POLICY_RESULT = "invalid-policy-result"
EVIDENCE_UNAVAILABLE = "evidence-unavailable"
FAULT_CODES = (
    ENGINE_UNAVAILABLE, ENGINE_TIMEOUT, ENGINE_ERROR, ENGINE_REVISION_MISMATCH, POLICY_UNDEFINED,
    INVALID_POLICY_RESULT, EVIDENCE_UNAVAILABLE,
)

QUERY_PARAMS = {"strict-builtin-errors": "true", "provenance": "true"}
_QUERY_STRING = "?" + "&".join(f"{k}={v}" for k, v in QUERY_PARAMS.items())
DECISION_PACKAGE, DECISION_RULE = "model_router", "decision"
BATCH_PACKAGE, BATCH_RULE = "model_router.batch", "decisions"
HEALTH_PATH = "/health?bundles"
BUNDLES_PATH = "/v1/data/system/bundles"
# The revision of the authorization bundle a router-served OPA carries beside the policy bundle
# (router.opa_process, `model-router serve-bundle`): never a policy revision.
AUTHZ_BUNDLE_REVISION = "model-router-managed-authz"


@dataclass(frozen=True)
class EngineResult:
    """One answer from OPA: the result, or a fault code with a human-readable detail."""

    result: Any = None
    revision: str | None = None
    fault: str | None = None
    detail: str = ""
    refused: bool = field(default=False, repr=False, compare=False)  # engine-unavailable: nothing listens
    decision_id: str | None = field(default=None, repr=False, compare=False)  # OPA's id when it logs decisions
    # True only when the decoder saw every number of OPA's answer and none was NaN or infinite
    # (Channel.decode_screened): the result check then need not look for one again
    finite: bool = field(default=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.fault is None


def revision_from_provenance(provenance: Any, ignore: Iterable[str] = (AUTHZ_BUNDLE_REVISION,)) -> str | None:
    """The policy revision in an OPA provenance block: the revision of the (one) policy bundle."""
    if not isinstance(provenance, dict):
        return None
    bundles = provenance.get("bundles")
    if not isinstance(bundles, dict):
        return None
    ignored = set(ignore)
    revisions = sorted(
        str(b["revision"])
        for b in bundles.values()
        if isinstance(b, dict) and b.get("revision") and b.get("revision") not in ignored
    )
    if not revisions:
        return None
    return revisions[0] if len(revisions) == 1 else ",".join(revisions)


def rule_path(package: str, rule: str) -> str:
    """The REST path (with the query parameters) of data.<package>.<rule>."""
    return "/v1/data/" + "/".join([*package.split("."), rule]) + _QUERY_STRING


def bundle_manifests(result: Any) -> dict[str, str]:
    """{bundle name: manifest revision} from OPA's `data.system.bundles` (bundles without one left out)."""
    if not isinstance(result, dict):
        return {}
    revisions: dict[str, str] = {}
    for name, entry in result.items():
        manifest = entry.get("manifest") if isinstance(entry, dict) else None
        revision = manifest.get("revision") if isinstance(manifest, dict) else None
        if isinstance(revision, str) and revision:
            revisions[str(name)] = revision
    return revisions


def http_error_detail(exc: ChannelError) -> str:
    """A one-line account of an HTTP error answer: status, OPA's error code and message."""
    if exc.status is None or not exc.body:
        return str(exc)
    try:
        body = json.loads(exc.body)
        message = body.get("message") or json.dumps(body)[:300]
        code = body.get("code")
        errors = body.get("errors")
        if errors and isinstance(errors, list) and isinstance(errors[0], dict):
            message = f"{message}: {errors[0].get('message', '')}"
        return f"{exc}{' ' + code if isinstance(code, str) else ''}: {str(message)[:300]}"
    except (ValueError, AttributeError, RecursionError):
        return f"{exc}: {exc.body[:300].decode('utf-8', errors='replace')!r}"


RevisionReader = Callable[[Any], str | None]


class OpaClient:
    """Queries to one running OPA server over its own channel; maps every failure to a fault code.

    REVISION_OF reads the policy revision out of an answer's provenance block (by default the one
    bundle that is not the router's authorization bundle)."""

    def __init__(self, url: str, *, token: str | None = None, proxy: str | None = None,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 revision_of: RevisionReader = revision_from_provenance) -> None:
        from router.opa_http import Channel  # on first use: see the imports

        self._channel = Channel(url if url.startswith("unix:") else url.rstrip("/"), token=token, proxy=proxy,
                                max_response_bytes=max_response_bytes)
        self._token = token
        self._revision_of = revision_of

    @property
    def url(self) -> str:
        return self._channel.url

    @property
    def token(self) -> str | None:
        """The bearer token this client sends (None: none)."""
        return self._token

    @property
    def channel(self) -> Channel:
        """The HTTP channel the client's queries go over (for raw calls: benchmarks, probes)."""
        return self._channel

    def ask(self, input_data: Any, package: str, rule: str, timeout_s: float, *,
            expected_revision: str | None = None) -> EngineResult:
        """Evaluate data.<package>.<rule> for INPUT_DATA within TIMEOUT_S; an answer under another revision
        than EXPECTED_REVISION (when given) is engine-revision-mismatch. Never raises."""
        try:
            body, finite = self._channel.post_json_screened(rule_path(package, rule), {"input": input_data}, timeout_s)
        except ChannelTimeout:
            return EngineResult(fault=ENGINE_TIMEOUT,
                                detail=f"no answer within {timeout_s * 1000:.0f} ms (connect, send and the complete answer)")
        except ChannelUnavailable as exc:
            return EngineResult(fault=ENGINE_UNAVAILABLE, detail=str(exc), refused=exc.refused)
        except ChannelError as exc:
            return EngineResult(fault=ENGINE_ERROR, detail=http_error_detail(exc))
        except ValueError as exc:  # an input that JSON cannot carry (NaN, a lone surrogate)
            return EngineResult(fault=ENGINE_ERROR, detail=f"the input cannot be sent as JSON: {type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001  (fail closed: no fault may escape as an exception)
            return EngineResult(fault=ENGINE_ERROR, detail=f"{type(exc).__name__}: {exc}")
        if not isinstance(body, dict):
            return EngineResult(fault=ENGINE_ERROR, detail="OPA answered with a body that is not a JSON object")
        revision = self._revision_of(body.get("provenance"))
        if expected_revision is not None and revision != expected_revision:
            return EngineResult(
                revision=expected_revision, fault=ENGINE_REVISION_MISMATCH,
                detail=f"the answer was computed under policy revision {revision or '(none)'}, expected {expected_revision}",
            )
        if "result" not in body:
            return EngineResult(revision=revision, fault=POLICY_UNDEFINED, detail=f"data.{package}.{rule} is undefined for this input")
        decision_id = body.get("decision_id")
        return EngineResult(result=body["result"], revision=revision,
                            decision_id=decision_id if isinstance(decision_id, str) else None, finite=finite)

    def check(self, timeout_s: float) -> dict[str, str]:
        """OPA's health with its bundles activated (`/health?bundles`), then {bundle name: revision} of
        what it serves (`data.system.bundles`); each call within TIMEOUT_S. Raises ChannelError."""
        self._channel.request("GET", HEALTH_PATH, None, timeout_s)
        body = self._channel.get_json(BUNDLES_PATH, timeout_s)
        return bundle_manifests(body.get("result") if isinstance(body, dict) else None)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
