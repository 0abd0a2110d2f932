"""The benchmark sections, the table and the JSON record. Run with `python -m bench` (`make bench`).

Every target of issue 15 is printed with ok, MISS or SKIP (with why) against a floor or a baseline
measured in the same run. Sections (each bounded in time; the whole run takes about six minutes on a
2-core machine, `--quick` about three):

  opa-bench     `opa bench` allocs/op of data.model_router.decision for EVERY example bundle (parallel
                processes: allocations do not depend on load), µs/op of the representative ones, floors
  opa-eval      the server's own evaluation timer (timer_rego_query_eval_ns) for every example bundle
  decide        per representative bundle, round-robin on ONE managed OPA: the REST floor (http.client,
                keep-alive, the router's own entrypoint and parameters, no gzip), OPA's eval timer for
                the same call, the engine channel, Router.decide() receipts off / on (fsync) / on (no fsync)
  receipts      several threads deciding at once on one OPA: receipts off, on (fsync, group commit),
                on without group commit, on without the input store, on without fsync; the CPU per
                decision (OPA's, this process's) and the receipts per log commit of each
  decide-many   Router.decide_many() against the same sub-batches POSTed raw, and against the BASELINE
                commit's router and policies (a git worktree under build/), round-robin
  cold-cli      `model-router decide` as a whole process
  scale         decide p50, allocs/op, OPA and Python RSS as bindings (1 ... 10,000) and task classes grow
  catalog       the same at 17, 100, 1,000 and 10,000 catalog models (bench/catalog.py), plus the largest
                decision document and the faults at default settings
  memory        managed OPA resident memory; Python RSS before and after many decisions
  gc            the managed OPA with Go's default GOGC=100 and with the router's, side by side: time per decision, RSS
  replay        `model-router replay` of 10,000 recorded decisions (bench/replay.py; opt-in: --with replay)
  fleet         decisions/s against 1, 2 and 3 OPA replicas (opt-in: --with fleet)

Options: `--quick` (fewer iterations; the catalog's largest size and the every-bundle allocations are
reduced, and say so), `--only SECTION[,SECTION]`, `--with replay,fleet`, `--baseline COMMIT`
(default bench.baseline.DEFAULT_BASELINE; `--baseline ''` skips it), `--out FILE`.
"""

# ruff: noqa: B023 - every closure defined in a loop here (timed calls, worker threads) is called and
# finished within the iteration that defines it
from __future__ import annotations

import argparse
import contextlib
import copy
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = ROOT / "examples" / "bundles"
RESULTS = ROOT / "bench" / "results"
ENTRYPOINT = "data.model_router.decision"
DECISION_PATH = "/v1/data/model_router/decision?strict-builtin-errors=true&provenance=true"

# Every outcome of both decision families.
REPRESENTATIVE = (
    "agent-routine-code-execution",  # selected standard
    "agent-log-triage-local",  # selected local-cheap
    "agent-architecture-escalated",  # selected high-end (escalation)
    "agent-tool-use-deterministic",  # selected no-model
    "agent-formatting-requests-high-end",  # downgraded
    "agent-routine-code-provider-unhealthy",  # deferred
    "agent-routine-code-budget-exhausted",  # denied (budget)
    "agent-unknown-task-class",  # denied (unknown task class)
    "personal-router-healthy-laptop",  # selected base-local
    "personal-hosted-approved",  # selected hosted
    "personal-quality-low-memory",  # fallback
    "personal-revoked-deny",  # denied
)

# Issue 15's targets (allocations are machine-independent; times are ratios within this run).
TARGETS = {
    "allocs_agent": 6_000,  # agent-routine-code-execution
    "allocs_personal": 3_000,  # personal-router-healthy-laptop
    "allocs_any": 8_000,  # every example bundle
    "decide_vs_rest": 1.15,  # Router.decide() p50 / REST floor p50
    "rest_vs_eval": 1.2,  # REST floor p50 / OPA's own eval timer p50
    "receipts_vs_off": 1.15,  # receipts with fsync / receipts off, several threads, same OPA
    "many_vs_raw": 1.1,  # decide_many per-decision / the same sub-batches sent raw
    "many_vs_baseline": 3.0,  # decide_many decisions/s / the baseline commit's
    "cold_cli_s": 0.5,
    "flat": 0.25,  # decide p50 and allocs/op within ±25 % across catalog and binding sizes
    "doc_bytes": 16 * 1024,  # no decision document above 16 KB
}
ALLOC_TARGETS = {"agent-routine-code-execution": "allocs_agent", "personal-router-healthy-laptop": "allocs_personal"}


# -- small helpers ------------------------------------------------------------------------------


def now_ns() -> int:
    return time.perf_counter_ns()


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    s = sorted(samples)
    k = min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


def doc_bytes(decision: Any) -> int:
    """The size of DECISION's document as compact JSON (the measure of the 16 KB target)."""
    return len(json.dumps(dict(decision.document), separators=(",", ":")))


def summary(samples_ns: list[int], wall_s: float | None = None) -> dict:
    """p50/p99/mean in milliseconds and throughput (operations per second of wall time)."""
    ms = [x / 1e6 for x in samples_ns]
    total = wall_s if wall_s is not None else sum(ms) / 1000.0
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 4),
        "p99_ms": round(pct(ms, 99), 4),
        "mean_ms": round(statistics.fmean(ms), 4) if ms else None,
        "per_s": round(len(ms) / total, 1) if total > 0 else None,
    }


def timed_loop(fn: Callable[[int], Any], iterations: int, budget_s: float, warmup: int = 5) -> list[int]:
    """Call fn(i) up to ITERATIONS times (at least 20) or until BUDGET_S is spent; per-call ns."""
    for i in range(warmup):
        fn(i)
    samples: list[int] = []
    deadline = time.monotonic() + budget_s
    for i in range(iterations):
        t0 = now_ns()
        fn(i)
        samples.append(now_ns() - t0)
        if i >= 20 and time.monotonic() > deadline:
            break
    return samples


def load_bundle(name: str) -> dict:
    return json.loads((BUNDLES / f"{name}.json").read_text(encoding="utf-8"))


def all_bundle_names() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in BUNDLES.glob("*.json") if not p.name.endswith(".expected.json"))


def rss_kib(pid: int | str = "self") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | str = "self") -> float | None:
    """The CPU time (user + system, every thread) process PID has used, from /proc; None without it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def opa_path() -> Path:
    from router import opa_binary

    return Path(opa_binary.find_opa())


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        opa_version = subprocess.run([str(opa_path()), "version"], capture_output=True, text=True, timeout=20).stdout.splitlines()[0]
    except Exception as exc:  # reported, not fatal
        opa_version = f"unknown ({exc})"
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "opa": opa_version,
        "loadavg_at_start": load,
    }


class RawClient:
    """The REST floor: one keep-alive http.client connection, pre-serialised bodies, no retries."""

    def __init__(self, url: str, token: str | None) -> None:
        if url.startswith("unix://"):  # the managed OPA's socket: same keep-alive connection over AF_UNIX
            import socket
            from urllib.parse import unquote

            self.conn = http.client.HTTPConnection("localhost", timeout=30)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(30)
            sock.connect(unquote(url[len("unix://"):]))
            self.conn.sock = sock
        else:
            host, port = url.split("//", 1)[1].rsplit(":", 1)
            self.conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=30)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def post(self, body: bytes, path: str = DECISION_PATH) -> dict:
        self.conn.request("POST", path, body=body, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"OPA answered HTTP {resp.status}: {data[:200]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def go_bench(res: dict) -> dict:
    """ns/op, allocs/op, bytes/op and the evaluation-timer percentiles from `opa bench --format json`
    (a Go testing.BenchmarkResult: N runs, T total ns, MemAllocs, MemBytes, Extra metrics)."""
    n = res.get("N") or 1
    extra = res.get("Extra") or {}
    return {
        "n": n,
        "ns_per_op": round(res.get("T", 0) / n),
        "allocs_per_op": round(res.get("MemAllocs", 0) / n),
        "bytes_per_op": round(res.get("MemBytes", 0) / n),
        "eval_p50_ns": extra.get("histogram_timer_rego_query_eval_ns_median"),
        "eval_p99_ns": extra.get("histogram_timer_rego_query_eval_ns_99%"),
    }


def input_body(bundle: dict) -> bytes:
    return json.dumps({"input": bundle}, separators=(",", ":")).encode("utf-8")


def evaluation_stamp() -> dict:
    """The evaluation time the router stamps on every query (fixed for the bench: see main)."""
    from router import approvals

    return approvals.fixed_evaluation() or approvals.now_evaluation()


def router_input(bundle: dict) -> dict:
    """What Router.decide() sends OPA for BUNDLE: the prepared bundle (prompt text dropped) with its
    evaluation time."""
    from router.api import Router
    from router.bundle_input import InvalidBundle

    try:
        prepared = Router.prepare(bundle).bundle
    except InvalidBundle:  # the router refuses it before asking OPA; OPA is still asked, as a caller of OPA could
        prepared = bundle
    return {**prepared, "evaluation": evaluation_stamp()}


def router_path(package: str, rule: str) -> str:
    """The path and query parameters the router's engine asks (router.engine.rule_path)."""
    from router import engine as engine_mod

    return engine_mod.rule_path(package, rule)


def decision_path() -> str:
    from router import projection as projection_mod

    return router_path(projection_mod.PACKAGE, projection_mod.RULE)


def batch_path() -> str:
    from router import projection as projection_mod

    return router_path(projection_mod.BATCH_PACKAGE, projection_mod.BATCH_RULE)


def opa_bench(bundle_path: Path, input_file: Path, query: str = ENTRYPOINT, timeout: float = 600) -> dict:
    """`opa bench` of QUERY on a bundle with the store option the managed OPA uses: allocations per
    evaluation do not depend on the machine's load (times do)."""
    from router.opa_supervisor import MANAGED_OPA_ARGS

    store = [a for a in MANAGED_OPA_ARGS if a == "--optimize-store-for-read-speed"]
    cmd = [str(opa_path()), "bench", *store, "--format", "json", "--benchmem", "-b", str(bundle_path), "-i", str(input_file), query]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip()[:300]}
    return go_bench(json.loads(proc.stdout))


def write_inputs(names: list[str], folder: Path) -> dict[str, Path]:
    """Each example bundle as the router sends it (router_input), one file per bundle under FOLDER."""
    out = {}
    for name in names:
        out[name] = folder / f"{name}.json"
        out[name].write_text(json.dumps(router_input(load_bundle(name))), encoding="utf-8")
    return out


def parallel(jobs: dict[str, Callable[[], Any]], workers: int) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {k: pool.submit(fn) for k, fn in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


# -- sections -----------------------------------------------------------------------------------


def section_opa_bench(ctx: dict) -> dict:
    """allocs/op of the entrypoint for every example bundle (--quick: the representative ones), as the
    router sends it (prompt text dropped, the evaluation time stamped), in parallel `opa bench`
    processes (allocations do not depend on load; each Go benchmark runs for about a second of wall
    time whatever the load, so parallel processes only shorten the section). Then, one at a time, the
    two bundles with their own targets and two machine floors, for µs/op."""
    from router import bundle as bundle_mod

    built = bundle_mod.ensure_bundle()
    names = all_bundle_names() if ctx["all_allocs"] else list(ctx["bundles"])
    tmp = Path(tempfile.mkdtemp(prefix="model-router-bench-inputs-"))
    try:
        files = write_inputs(names, tmp)
        rows = parallel({n: (lambda f=f: opa_bench(built.path, f)) for n, f in files.items()}, ctx["bench_workers"])
        serial = {}
        for name in ALLOC_TARGETS:
            serial[name] = opa_bench(built.path, files.get(name) or write_inputs([name], tmp)[name])
        first = files[names[0]]
        for label, query in (("(floor) one data lookup", "data.model_router_data.active"),
                             ("(floor) 1,000-step comprehension", "[y | some i in numbers.range(1, 1000); y := i * 2]")):
            serial[label] = opa_bench(built.path, first, query)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"all": ctx["all_allocs"], "bundles": rows, "serial": serial, "revision": built.revision}


def section_opa_eval_all(ctx: dict) -> dict:
    """The server's own evaluation timer for every example bundle (median of a few warm queries)."""
    router = ctx["router_off"]
    raw = RawClient(router.engine.url, getattr(router.engine, "token", None))
    rows = {}
    try:
        for name in all_bundle_names():
            body = input_body(router_input(load_bundle(name)))
            evals = []
            for _ in range(ctx["eval_repeats"]):
                answer = raw.post(body, decision_path() + "&metrics=true")
                evals.append(answer["metrics"]["timer_rego_query_eval_ns"])
            rows[name] = {"eval_p50_us": round(statistics.median(evals) / 1000, 1), "eval_min_us": round(min(evals) / 1000, 1)}
    finally:
        raw.close()
    return rows


TRIVIAL_PATH = "/v1/data/model_router_data/active/policy"
TRIVIAL_BODY = b'{"input":{}}'


def section_floors_and_decide(ctx: dict) -> dict:
    """Per bundle, round-robin on ONE managed OPA: the REST floor (the router's entrypoint and query
    parameters over one keep-alive http.client connection, no gzip), the same call with metrics (OPA's
    own eval timer), the engine channel alone, Router.decide() receipts off, on (fsync), on (no fsync), and a
    trivial query (one data lookup) with OPA's handler timer for it: the round trip's fixed cost."""
    from router import Router

    off, on, nofsync = ctx["router_off"], ctx["router_on"], ctx["router_nofsync"]
    raw = RawClient(off.engine.url, getattr(off.engine, "token", None))
    # the same managed OPA (bundle, arguments, GC target) without the read-only authorization policy and its
    # token: what OPA's per-request authorization check costs the floor (the router never runs without it)
    open_opa = Router(receipts=False, auth=False, timeout_ms=30000)
    raw_open = RawClient(open_opa.engine.url, None) if not open_opa.engine.start_error else None
    n, budget = ctx["iterations"], ctx["cell_budget_s"]
    path = decision_path()
    keys = ("rest", "eval", "client", "decide_off", "decide_on", "decide_nofsync", "trivial", "trivial_handler", "rest_noauth")
    rows: dict[str, dict] = {}
    pooled: dict[str, list[int]] = {k: [] for k in keys}
    try:
        for name in ctx["bundles"]:
            bundle = load_bundle(name)
            stamped = router_input(bundle)
            body = input_body(stamped)
            channel = off.engine.channel
            evals: list[int] = []
            handlers: list[int] = []

            def with_metrics(i: int) -> None:
                evals.append(int(raw.post(body, path + "&metrics=true")["metrics"]["timer_rego_query_eval_ns"]))

            def trivial_handler(i: int) -> None:
                handlers.append(int(raw.post(TRIVIAL_BODY, TRIVIAL_PATH + "?metrics=true")["metrics"]["timer_server_handler_ns"]))

            def variant(i: int) -> dict:
                b = copy.deepcopy(bundle)
                b["request"]["prompt"] = {"text": f"bench-{name}-{i}"}
                return b

            variants = [variant(i) for i in range(min(n, 512))]
            calls = {
                "rest": lambda i: raw.post(body, path),
                "eval": with_metrics,
                "client": lambda i: channel.post_json(path, {"input": stamped}, 30.0),
                "decide_off": lambda i: off.decide(variants[i % len(variants)]),
                "decide_on": lambda i: on.decide(variants[i % len(variants)]),
                "decide_nofsync": lambda i: nofsync.decide(variants[i % len(variants)]),
                # the fixed cost of a round trip: one data lookup with a ~40-byte answer, same connection
                "trivial": lambda i: raw.post(TRIVIAL_BODY, TRIVIAL_PATH),
                "trivial_handler": trivial_handler,
            }
            if raw_open is not None:
                calls["rest_noauth"] = lambda i: raw_open.post(body, path)
            # round-robin: one call of every kind per round, so load drift hits every column alike
            per: dict[str, list[int]] = {k: [] for k in calls}
            for fn in calls.values():
                for i in range(3):
                    fn(i)
            evals.clear()
            handlers.clear()
            deadline = time.monotonic() + budget * len(calls)
            for i in range(n):
                for k, fn in calls.items():
                    t0 = now_ns()
                    fn(i)
                    per[k].append(now_ns() - t0)
                if i >= 20 and time.monotonic() > deadline:
                    break
            per["eval"] = evals  # the column is OPA's own timer, not the round trip with metrics
            per["trivial_handler"] = handlers  # OPA's handler timer of the trivial query
            check = off.decide(bundle)
            rows[name] = {"status": check.status, "fault": check.fault, "docBytes": doc_bytes(check)}
            rows[name].update({k: summary(per[k]) for k in keys if per.get(k)})
            for k in keys:
                pooled[k] += per.get(k, [])
            _ratios(rows[name])
    finally:
        raw.close()
        if raw_open is not None:
            raw_open.close()
        open_opa.close()
    allrow = {k: summary(v) for k, v in pooled.items() if v}
    _ratios(allrow)
    return {"bundles": rows, "all": allrow}


def _ratios(r: dict) -> None:
    rest = r["rest"]["p50_ms"]
    r["ratio_off"] = round(r["decide_off"]["p50_ms"] / rest, 2)
    r["ratio_on"] = round(r["decide_on"]["p50_ms"] / rest, 2)
    r["ratio_nofsync"] = round(r["decide_nofsync"]["p50_ms"] / rest, 2)
    r["ratio_client"] = round(r["client"]["p50_ms"] / rest, 2)
    r["ratio_rest_eval"] = round(rest / r["eval"]["p50_ms"], 2) if r["eval"]["p50_ms"] else None


def batch(bundles: list[dict], count: int, tag: str) -> list[dict]:
    out = []
    for i in range(count):
        b = copy.deepcopy(bundles[i % len(bundles)])
        # a distinct input each time (the input store keeps one file per input) with the same outcome: the
        # prompt text is hashed and dropped, whereas a new requestId would change some decisions
        # (approvals are bound to their request)
        prompt = b["request"].get("prompt")
        text = prompt.get("text") if isinstance(prompt, dict) and isinstance(prompt.get("text"), str) else ""
        b["request"]["prompt"] = {"text": f"{text}{tag}-{i}"}
        out.append(b)
    return out


def _raw_batches(router: Any, bundles: list[dict], workers: int) -> Callable[[], float]:
    """The floor for decide_many: the router's own sub-batches (same inputs, same size, same rule,
    one concurrent POST per sub-batch, at most WORKERS at once, one keep-alive connection each),
    bodies serialised beforehand. Returns a function that sends them all and returns the wall time."""
    from concurrent.futures import ThreadPoolExecutor

    from router.api import BATCH_CHUNK

    stamp = evaluation_stamp()
    inputs = [{**router.prepare(b).bundle, "evaluation": stamp} for b in bundles]
    bodies = [input_body({"bundles": inputs[i: i + BATCH_CHUNK]}) for i in range(0, len(inputs), BATCH_CHUNK)]
    path = batch_path()
    clients = [RawClient(router.engine.url, getattr(router.engine, "token", None)) for _ in range(max(1, min(workers, len(bodies))))]

    def run() -> float:
        def send(k: int) -> None:
            client = clients[k % len(clients)]
            for j in range(k, len(bodies), len(clients)):
                answer = client.post(bodies[j], path)
                if not isinstance(answer.get("result"), dict):
                    raise RuntimeError(f"the raw batch query answered no result: {str(answer)[:200]}")

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            list(pool.map(send, range(len(clients))))
        return time.perf_counter() - t0

    run.close = lambda: [c.close() for c in clients]  # type: ignore[attr-defined]
    return run


def section_decide_many(ctx: dict) -> dict:
    """Router.decide_many() of COUNT bundles, round-robin with the same sub-batches sent raw to the same
    OPA and with the baseline commit's router (bench/baseline.py), ROUNDS times; best and median wall."""
    from bench.baseline import Baseline, BaselineUnavailable

    router = ctx["router_off"]
    count, rounds = ctx["many_count"], ctx["many_rounds"]
    base = [load_bundle(n) for n in ctx["bundles"]]
    out: dict[str, Any] = {"n": count, "rounds": rounds}
    baseline = None
    if ctx.get("baseline"):
        baseline = Baseline(ctx["baseline"], [BUNDLES / f"{n}.json" for n in ctx["bundles"]])
        try:
            out["baselineInfo"] = baseline.start()
        except (BaselineUnavailable, OSError, subprocess.SubprocessError, ValueError) as exc:
            out["baselineInfo"] = {"skipped": f"baseline {ctx['baseline']}: {exc}"}
            baseline.close()
            baseline = None
    else:
        out["baselineInfo"] = {"skipped": "no baseline commit given (--baseline / BASELINE=)"}
    raw = None
    try:
        bundles = batch(base, count, "many")
        raw = _raw_batches(router, bundles, os.cpu_count() or 1)
        # warm-up, each at full size: the first large batch grows an OPA's heap (raw and the router share one)
        router.decide_many(bundles)
        if baseline is not None:
            baseline.decide_many(count, "warm")
        walls: dict[str, list[float]] = {"raw": [], "router": [], "baseline": []}
        faults = {"router": 0, "baseline": 0}
        def run_router(r: int) -> None:
            todo = batch(base, count, f"many{r}")
            t0 = time.perf_counter()
            decisions = router.decide_many(todo)
            walls["router"].append(time.perf_counter() - t0)
            faults["router"] += sum(1 for d in decisions if d.fault)

        for r in range(rounds):
            # the order changes every round (raw, router, baseline; then router, baseline, raw; ...), so a
            # load change hits no column more than another
            if r % 3 == 0:
                walls["raw"].append(raw())
            if r % 3 != 2:
                run_router(r)
            if r % 3 == 2:
                walls["raw"].append(raw())
            if baseline is not None:
                try:
                    answer = baseline.decide_many(count, f"base{r}")
                except (BaselineUnavailable, OSError, ValueError) as exc:
                    out["baselineInfo"] = {**out["baselineInfo"], "skipped": f"the baseline worker failed: {exc}"}
                    walls["baseline"].clear()
                    baseline.close()
                    baseline = None
                    continue
                walls["baseline"].append(answer["wall"])
                faults["baseline"] += answer["faults"]
            if r % 3 == 1:
                walls["raw"].append(raw())
            if r % 3 == 2:
                run_router(r)
        for k, w in walls.items():
            if w:
                med = statistics.median(w)
                out[k] = {"walls_s": [round(x, 3) for x in w], "median_s": round(med, 3), "per_s": round(count / med, 1),
                          "per_decision_ms": round(med / count * 1000, 3), **({"faults": faults[k]} if k in faults else {})}
        out["ratio_raw"] = round(out["router"]["median_s"] / out["raw"]["median_s"], 2)
        if "baseline" in walls and walls["baseline"]:
            out["ratio_baseline"] = round(out["router"]["per_s"] / out["baseline"]["per_s"], 2)
    finally:
        if raw is not None:
            raw.close()  # type: ignore[attr-defined]
        if baseline is not None:
            baseline.close()
    return out


def _receipt_log_alone(threads: int, slice_s: float, rounds: int) -> dict:
    """The receipt log without OPA: THREADS threads appending receipts (fsync on) for SLICE_S seconds,
    with group commit and with it disabled (MAX_GROUP = 1: one fsync per append), round-robin; appends/s
    and fsyncs per append (os.fsync counted while the slice runs)."""
    import threading

    from router.receipts import ReceiptLog
    from router.receipts import log as log_mod

    folder = Path(tempfile.mkdtemp(prefix="model-router-bench-log-"))
    group_size, real_fsync = log_mod.MAX_GROUP, os.fsync
    counts = {"group": [0, 0, 0.0], "no_group": [0, 0, 0.0]}  # appends, fsyncs, seconds
    body = {"kind": "RouteDecisionReceipt", "decisionId": "bench", "promptDigest": None, "note": "x" * 600}
    try:
        log = ReceiptLog(folder / "receipts.jsonl", fsync=True)
        log.append(dict(body))
        for _ in range(rounds):
            for name in counts:
                log_mod.MAX_GROUP = 1 if name == "no_group" else group_size
                fsyncs = [0]

                def counting(fd: int) -> None:
                    fsyncs[0] += 1
                    real_fsync(fd)

                os.fsync = counting  # type: ignore[assignment]
                stop = time.monotonic() + slice_s
                done = [0] * threads

                def work(k: int) -> None:
                    while time.monotonic() < stop:
                        log.append(dict(body))
                        done[k] += 1

                pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
                t0 = time.perf_counter()
                for t in pool:
                    t.start()
                for t in pool:
                    t.join()
                os.fsync = real_fsync
                counts[name][0] += sum(done)
                counts[name][1] += fsyncs[0]
                counts[name][2] += time.perf_counter() - t0
        log.close()
    finally:
        os.fsync = real_fsync
        log_mod.MAX_GROUP = group_size
        shutil.rmtree(folder, ignore_errors=True)
    return {name: {"appends": a, "per_s": round(a / sec, 1), "fsyncs_per_append": round(f / a, 3) if a else None}
            for name, (a, f, sec) in counts.items()}


def receipt_variants(on: Any, folder: Path) -> dict[str, Any]:
    """The receipts section's routers, all ON (a Router with receipts on, fsync on) with other receipt
    settings, so that every variant asks the same managed OPA: receipts off; on without fsync (its own
    log and input store under FOLDER); on without the input store. Keyed as the context holds them."""
    from router.receipts import InputStore, ReceiptLog

    off = copy.copy(on)
    off.receipt_log, off.input_store = None, None
    nofsync = copy.copy(on)
    nofsync.receipt_log = ReceiptLog(folder / "nofsync" / "receipts.jsonl", fsync=False)
    nofsync.input_store = InputStore.beside(folder / "nofsync" / "receipts.jsonl", fsync=False)
    noinputs = copy.copy(on)
    noinputs.input_store = None
    return {"router_off": off, "router_on": on, "router_nofsync": nofsync, "router_on_noinputs": noinputs}


def section_receipts(ctx: dict) -> dict:
    """Several threads deciding at once on ONE managed OPA (every variant is the same Router object with
    other receipt settings), in time slices round-robin: receipts off; on with fsync (the default:
    group commit, the input store); on with group commit disabled (one fsync per append, as before);
    on without the input store; on without fsync. Per variant: decisions/s, the mean time per decision
    (wall / decisions) and the p50 latency; ratios to receipts off; the CPU each decision took, OPA's
    and this process's (from /proc, while the variant's slices ran), and the receipts per log commit."""
    import threading

    from router.receipts import log as log_mod

    variants = {"off": ctx["router_off"], "on": ctx["router_on"], "on_no_group": ctx["router_on"],
                "on_no_inputs": ctx["router_on_noinputs"], "nofsync": ctx["router_nofsync"]}
    threads, slice_s, rounds = ctx["receipt_threads"], ctx["receipt_slice_s"], ctx["receipt_rounds"]
    base = [load_bundle(n) for n in ctx["bundles"]]
    pools = [batch(base, 240, f"rcpt{k}") for k in range(threads)]
    counts = {k: 0 for k in variants}
    walls = {k: 0.0 for k in variants}
    per_round: dict[str, list[float]] = {k: [] for k in variants}  # ms per decision in each round
    latencies: dict[str, list[int]] = {k: [] for k in variants}
    faults = {k: 0 for k in variants}
    seq = [0] * threads
    group_size = log_mod.MAX_GROUP
    opa_pid = getattr(ctx["router_off"].engine, "pid", None)
    cpu = {k: [0.0, 0.0] for k in variants}  # OPA's, this process's CPU seconds
    commits = {k: [0, 0] for k in variants}  # log commits, receipts committed
    real_write = log_mod.ReceiptLog._write
    tally = [0, 0]

    def counting_write(log: Any, fd: int, key: Any, group: list) -> None:  # runs under the log's lock
        tally[0] += 1
        tally[1] += sum(len(p.bodies) for p in group)
        real_write(log, fd, key, group)

    log_mod.ReceiptLog._write = counting_write  # type: ignore[method-assign]
    try:
        for _ in range(rounds):
            for name, router in variants.items():
                log_mod.MAX_GROUP = 1 if name == "on_no_group" else group_size
                tally[:] = [0, 0]
                stop = time.monotonic() + slice_s
                done = [0] * threads
                lat: list[list[int]] = [[] for _ in range(threads)]
                bad = [0] * threads

                def work(k: int) -> None:
                    pool = pools[k]
                    while time.monotonic() < stop:
                        b = copy.copy(pool[seq[k] % len(pool)])
                        b["request"] = {**b["request"], "prompt": {"text": f"rcpt-{name}-{k}-{seq[k]}"}}  # a new input each time
                        seq[k] += 1
                        t0 = now_ns()
                        d = router.decide(b)
                        lat[k].append(now_ns() - t0)
                        done[k] += 1
                        bad[k] += bool(d.fault)

                pool_threads = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
                opa0, own0 = (cpu_seconds(opa_pid) if opa_pid else None), cpu_seconds()
                t0 = time.perf_counter()
                for t in pool_threads:
                    t.start()
                for t in pool_threads:
                    t.join()
                wall = time.perf_counter() - t0
                opa1, own1 = (cpu_seconds(opa_pid) if opa_pid else None), cpu_seconds()
                if None not in (opa0, opa1, own0, own1):
                    cpu[name][0] += opa1 - opa0  # type: ignore[operator]
                    cpu[name][1] += own1 - own0  # type: ignore[operator]
                commits[name][0] += tally[0]
                commits[name][1] += tally[1]
                walls[name] += wall
                counts[name] += sum(done)
                per_round[name].append(wall * 1000 / max(1, sum(done)))
                faults[name] += sum(bad)
                for x in lat:
                    latencies[name] += x
    finally:
        log_mod.MAX_GROUP = group_size
        log_mod.ReceiptLog._write = real_write  # type: ignore[method-assign]
    out: dict[str, Any] = {"threads": threads, "slice_s": slice_s, "rounds": rounds, "cpus": os.cpu_count()}
    for name in variants:
        per_s = counts[name] / walls[name] if walls[name] else 0.0
        out[name] = {"decisions": counts[name], "per_s": round(per_s, 1), "ms_per_decision": round(1000 / per_s, 3) if per_s else None,
                     "p50_ms": round(pct([x / 1e6 for x in latencies[name]], 50), 3), "faults": faults[name]}
        if counts[name] and cpu[name][1]:
            out[name]["cpu_ms_per_decision"] = {"opa": round(cpu[name][0] * 1000 / counts[name], 3),
                                                "python": round(cpu[name][1] * 1000 / counts[name], 3)}
        if commits[name][0]:
            out[name]["receipts_per_commit"] = round(commits[name][1] / commits[name][0], 2)
    out["log_only"] = _receipt_log_alone(threads, 1.0, 2)
    # the ratio to receipts off is taken within each round (neighbouring slices see the same load), then
    # the median over the rounds
    for name in variants:
        if name != "off" and per_round[name]:
            out[name]["ratio"] = round(statistics.median(v / o for v, o in zip(per_round[name], per_round["off"], strict=True)), 2)
            out[name]["ratio_per_round"] = [round(v / o, 2) for v, o in zip(per_round[name], per_round["off"], strict=True)]
    return out


def section_cold_cli(ctx: dict) -> dict:
    """A new `model-router decide` process per run, as a shell runs it: Python start, imports, the managed
    OPA's start, one decision. The package's bytecode is compiled first, as `pip install` compiles an
    installed package's (the development checkout is an editable install, and PYTHONDONTWRITEBYTECODE,
    when set, would otherwise make every run compile the sources again: about 80 ms here)."""
    import compileall

    exe = Path(sys.executable).with_name("model-router")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "router.cli"]
    bundle = BUNDLES / f"{ctx['bundles'][0]}.json"
    bytecode = bool(compileall.compile_dir(ROOT / "router", quiet=1))
    from router import bundle as bundle_mod

    built = bundle_mod.ensure_bundle()
    samples, python_only, remote_samples = [], [], []
    opa_start: list[int] | dict = []
    env = dict(os.environ, MODEL_ROUTER_RECEIPTS="0")
    env.pop("MODEL_ROUTER_OPA_URL", None)
    with _long_running_opa(cmd) as served:  # the same command against an OPA that is already running
        remote_env = dict(env, **served["env"]) if "env" in served else None
        # each round: the command, the same against the running OPA, then the floors (the interpreter
        # alone, the managed OPA's start alone), so that the floors see the load the command saw
        for _ in range(ctx["cold_runs"]):
            t0 = now_ns()
            proc = subprocess.run([*cmd, "decide", str(bundle), "--format", "table"], capture_output=True, text=True, env=env, timeout=60)
            samples.append(now_ns() - t0)
            if proc.returncode not in (0, 3):
                return {"error": (proc.stderr or proc.stdout).strip()[:300]}
            if remote_env is not None:
                t0 = now_ns()
                remote = subprocess.run([*cmd, "decide", str(bundle), "--format", "table"], capture_output=True, text=True, env=remote_env, timeout=60)
                remote_samples.append(now_ns() - t0)
                if (remote.returncode, remote.stdout) != (proc.returncode, proc.stdout):
                    served["error"] = f"another answer than the managed OPA's: exit {remote.returncode}: {(remote.stderr or remote.stdout).strip()[:200]}"
                    remote_env, remote_samples = None, []
            t0 = now_ns()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            python_only.append(now_ns() - t0)
            if isinstance(opa_start, list):
                one = _opa_server_start(built.path, 1)
                opa_start = opa_start + one if isinstance(one, list) else one
    opa_only = []
    for _ in range(ctx["cold_runs"]):  # a one-shot `opa eval` of the bundle: load, compile, one evaluation
        t0 = now_ns()
        subprocess.run([str(opa_path()), "eval", "-b", str(built.path), "-i", str(bundle), "--format", "raw", ENTRYPOINT + ".selected.status"],
                       check=True, capture_output=True)
        opa_only.append(now_ns() - t0)
    return {
        "cli": summary(samples),
        "cli_long_running_opa": summary(remote_samples) if remote_samples else {"error": served.get("error", "not measured")},
        "python_start": summary(python_only),
        "opa_eval_process": summary(opa_only),
        "opa_server_start": summary(opa_start) if isinstance(opa_start, list) else opa_start,
        "compile_hint": _compile_hint_effect(built.path, bundle, ctx["cold_runs"]),
        "bundle": bundle.name,
        "bytecode": "compiled beforehand" if bytecode else "could not be compiled (each run compiles the sources)",
    }


def _opa_server_start(bundle_path: Path, runs: int) -> list[int] | dict:
    """The managed OPA's own start, RUNS times: `opa run --server` of BUNDLE_PATH with the managed
    OPA's command line (router.opa_process.server_command) and GOGC, on a unix socket in a private
    folder, from the spawn until `/health?bundles` answers 200 (polled every 2 ms), then stopped. No
    Python in the child and no authorization policy: the part of a managed cold start that is OPA's
    alone. Nanoseconds per run, or {"error": why}."""
    import socket

    from router.opa_process import kill_process_group, server_command
    from router.opa_supervisor import MANAGED_OPA_ARGS, managed_opa_env

    env = {**os.environ, **managed_opa_env()}
    out: list[int] = []
    for _ in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="mr-bench-start-", dir="/tmp"))  # a short path: sun_path holds 108 bytes
        sock = folder / "opa.sock"
        cmd = [*server_command(opa_path(), f"unix://{sock}", MANAGED_OPA_ARGS), "--bundle", str(bundle_path)]
        t0 = now_ns()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    return {"error": f"opa run exited with status {proc.returncode}"}
                if time.monotonic() > deadline:
                    return {"error": "opa run did not answer /health?bundles within 60 s"}
                if sock.exists():
                    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as conn:
                        conn.connect(str(sock))
                        conn.sendall(b"GET /health?bundles HTTP/1.1\r\nHost: opa\r\nConnection: close\r\n\r\n")
                        if conn.recv(64).startswith(b"HTTP/1.1 200"):
                            break
                time.sleep(0.002)
            out.append(now_ns() - t0)
        finally:
            kill_process_group(proc)
            shutil.rmtree(folder, ignore_errors=True)
    return out


@contextlib.contextmanager
def _long_running_opa(cmd: list[str]):
    """`model-router serve-bundle` on a unix socket in a private folder, for as long as the block runs:
    {"env": the MODEL_ROUTER_OPA_* settings that point a router at it} once it answers, else {"error": why}."""
    folder = Path(tempfile.mkdtemp(prefix="mr-bench-serve-", dir="/tmp"))  # a short path: sun_path holds 108 bytes
    sock = folder / "opa.sock"
    served: dict = {}
    log = folder / "serve.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([*cmd, "serve-bundle", "--state-dir", str(folder / "state"), "--addr", f"unix://{sock}"],
                                stdout=fh, stderr=fh, start_new_session=True)
    from router.opa_process import kill_process_group

    try:
        from router.opa_http import Channel

        deadline = time.monotonic() + 60
        while "env" not in served and "error" not in served:
            if proc.poll() is not None:
                served["error"] = f"serve-bundle exited with {proc.returncode}: {log.read_text(errors='replace')[-200:]}"
            elif time.monotonic() > deadline:
                served["error"] = "serve-bundle did not answer within 60 s"
            elif sock.exists() and (folder / "state" / "token").exists():
                token = (folder / "state" / "token").read_text(encoding="utf-8").strip()
                with contextlib.suppress(Exception), contextlib.closing(Channel(f"unix://{sock}", token=token)) as channel:
                    if channel.request("GET", "/health?bundles", None, 2.0)[0] == 200:
                        served["env"] = {"MODEL_ROUTER_OPA_URL": f"unix://{sock}", "MODEL_ROUTER_OPA_TOKEN": token}
            if "env" not in served and "error" not in served:
                time.sleep(0.05)
        yield served
    finally:
        kill_process_group(proc, grace_s=10)
        shutil.rmtree(folder, ignore_errors=True)


HINT_PREFIX = "model_router/compile_hint/"


def _module_compile_ms(archive: Path, bundle: Path) -> float:
    """OPA's module compile timer (ms) for one `opa eval` of ARCHIVE's entrypoint on BUNDLE."""
    out = subprocess.run([str(opa_path()), "eval", "-b", str(archive), "-i", str(bundle), "--metrics", "--format", "json",
                          ENTRYPOINT + ".selected.status"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["metrics"]["timer_rego_module_compile_ns"] / 1e6


def _compile_hint_effect(archive: Path, bundle: Path, runs: int) -> dict:
    """OPA's module compile time of the bundle as built and of the same bundle without the package
    model_router.compile_hint (the one `with` on data, for OPA's type checker), alternating."""
    from router import bundle as bundle_mod

    tmp = Path(tempfile.mkdtemp(prefix="model-router-bench-hint-"))
    try:
        files = bundle_mod.staged_files()
        if not any(rel.startswith(HINT_PREFIX) for rel, _ in files):
            return {"error": f"the bundle has no {HINT_PREFIX} modules"}
        without = tmp / "without-hint.tar.gz"
        bundle_mod.build_from_files([f for f in files if not f[0].startswith(HINT_PREFIX)], without)
        with_ms, without_ms = [], []
        for _ in range(max(runs, 5)):
            with_ms.append(_module_compile_ms(archive, bundle))
            without_ms.append(_module_compile_ms(without, bundle))
        return {"with_ms": statistics.median(with_ms), "without_ms": statistics.median(without_ms), "n": len(with_ms)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _scaled_router(data: dict, tmp: Path, tag: str):
    from router import Router
    from router import bundle as bundle_mod

    out = tmp / f"{tag}.tar.gz"
    bundle_mod.build_from_files(bundle_mod.staged_files(data=data), out)
    return Router(bundle=out, receipts=False, timeout_ms=30000), out


def opa_bench_allocs(bundle_path: Path, bundle_file: Path) -> dict:
    """`opa bench` of the entrypoint on a bundle (allocations show whether the work grows)."""
    return opa_bench(bundle_path, bundle_file)


def _interleaved(cases: dict[str, tuple[Any, dict]], n: int, budget: float) -> dict:
    """Router.decide() per case, measured in rounds (one decision of every case per round) so that the
    machine's load drifts over all cases alike; per case p50/p99 and the decision's status."""
    variants = {k: batch([b], 64, f"scale-{k}") for k, (_, b) in cases.items()}
    samples: dict[str, list[int]] = {k: [] for k in cases}
    for k, (router, _) in cases.items():  # warm-up
        for v in variants[k][:5]:
            router.decide(v)
    deadline = time.monotonic() + budget * len(cases)
    order = list(cases)
    for i in range(n):
        for k in order[i % len(order):] + order[: i % len(order)]:  # a new first case every round
            router = cases[k][0]
            v = variants[k][i % len(variants[k])]
            t0 = now_ns()
            router.decide(v)
            samples[k].append(now_ns() - t0)
        if i >= 20 and time.monotonic() > deadline:
            break
    out = {}
    for k, (router, b) in cases.items():
        d = router.decide(b)
        out[k] = {**summary(samples[k]), "status": d.status, "fault": d.fault}
    return out


def _spread(rows: dict) -> float | None:
    p50s = [v["p50_ms"] for v in rows.values() if isinstance(v, dict)]
    return round(max(p50s) / min(p50s) - 1, 3) if p50s and min(p50s) > 0 else None


def section_scale(ctx: dict) -> dict:
    from router import policy_data

    base = policy_data.assemble()
    tmp = Path(tempfile.mkdtemp(prefix="model-router-bench-"))
    out: dict[str, dict] = {}
    n, budget = ctx["iterations"], ctx["cell_budget_s"]
    personal = load_bundle("personal-router-healthy-laptop")
    agent = load_bundle("agent-routine-code-execution")
    routers = []
    opa_rows: dict[str, dict] = {}
    inputs = write_inputs(["personal-router-healthy-laptop", "agent-routine-code-execution"], tmp)
    personal_input, agent_input = inputs["personal-router-healthy-laptop"], inputs["agent-routine-code-execution"]
    try:
        bind_id = personal["request"]["personal"]["bindingRef"]
        cases = {}
        for count in (1, 100, 1_000, 10_000):
            data = copy.deepcopy(base)
            original = data["bindings"][bind_id]
            data["bindings"] = {bind_id: original}
            for i in range(count - 1):
                other = copy.deepcopy(original)
                bid = f"{bind_id}-bench-{i}"
                other["document"]["bindingId"] = bid
                data["bindings"][bid] = other
            router, path = _scaled_router(data, tmp, f"bind{count}")
            routers.append(router)
            cases[str(count)] = (router, personal)
            opa_rows.setdefault("bindings", {})[str(count)] = opa_bench_allocs(path, personal_input)
            del data
        out["bindings"] = _interleaved(cases, n, budget)
        for k, (router, _) in cases.items():
            out["bindings"][k].update(opa_rss_kib=rss_kib(router.engine.pid), python_rss_kib=rss_kib())
        policy_id = base["active"]["policy"]
        cases = {}
        for count in (8, 200):
            data = copy.deepcopy(base)
            pol = data["policies"][policy_id]
            existing = list(pol["taskClasses"])
            template_name = existing[0]
            docs = pol["document"]["taskClasses"]
            template_doc = next(t for t in docs if t.get("taskClass") == template_name) if isinstance(docs, list) else None
            for i in range(count - len(existing)):
                name = f"bench-task-{i}"
                tc = copy.deepcopy(pol["taskClasses"][template_name])
                tc["taskClass"] = name
                pol["taskClasses"][name] = tc
                if template_doc is not None:
                    d = copy.deepcopy(template_doc)
                    d["taskClass"] = name
                    docs.append(d)
            router, path = _scaled_router(data, tmp, f"tc{count}")
            routers.append(router)
            cases[str(len(pol["taskClasses"]))] = (router, agent)
            opa_rows.setdefault("taskClasses", {})[str(len(pol["taskClasses"]))] = opa_bench_allocs(path, agent_input)
        out["taskClasses"] = _interleaved(cases, n, budget)
        # The input schema closes every object (resources, quota, request), so the only part of a valid
        # bundle that can grow is request.prompt.text: hashed, then dropped before OPA sees the bundle.
        cases = {}
        for size in (1_000, 10_000, 100_000):
            b = copy.deepcopy(agent)
            b["request"]["prompt"] = {"text": "x" * size}
            cases[str(len(json.dumps(b)))] = (ctx["router_off"], b)
        out["bundleBytes"] = _interleaved(cases, n, budget)
    finally:
        for r in routers:
            r.close()
        shutil.rmtree(tmp, ignore_errors=True)
    for key in out:
        out[key]["spread"] = _spread(out[key])
    for key, rows in opa_rows.items():
        allocs = [r["allocs_per_op"] for r in rows.values() if r.get("allocs_per_op")]
        out[key]["opa"] = rows
        out[key]["allocs_spread"] = round(max(allocs) / min(allocs) - 1, 4) if allocs else None
    return out


def section_gc(ctx: dict) -> dict:
    """The managed OPA's garbage-collector target, side by side: two managed OPAs, one with Go's
    default GOGC=100 and one with the router's (router.opa_supervisor.MANAGED_OPA_GOGC, or the
    environment's GOGC), each asked the representative bundles over one keep-alive connection,
    round-robin in rounds; the median time per decision of each and the resident memory after."""
    from router import engine as engine_mod
    from router.opa_supervisor import managed_opa_env

    bodies = [input_body(router_input(load_bundle(n))) for n in ctx["bundles"]]
    path = decision_path()
    rounds = 6 if ctx["iterations"] < 100 else 15
    variants = {"go_default": 100, "router": int(managed_opa_env()["GOGC"])}
    engines = {k: engine_mod.ManagedEngine(timeout_s=30.0, extra_args=engine_mod.MANAGED_OPA_ARGS, gogc=g) for k, g in variants.items()}
    try:
        clients = {k: RawClient(e.url, e.token) for k, e in engines.items()}
        per: dict[str, list[float]] = {k: [] for k in engines}
        for c in clients.values():
            for b in bodies:
                c.post(b, path)
        for _ in range(rounds):
            for k, c in clients.items():
                t0 = time.perf_counter()
                for _ in range(3):
                    for b in bodies:
                        c.post(b, path)
                per[k].append((time.perf_counter() - t0) * 1000 / (3 * len(bodies)))
        out: dict[str, Any] = {"rounds": rounds, "decisions_per_round": 3 * len(bodies)}
        for k, e in engines.items():
            out[k] = {"gogc": variants[k], "ms_per_decision": round(statistics.median(per[k]), 3), "rss_kib": rss_kib(e.pid) if e.pid else None}
        out["ratio"] = round(statistics.median(r / d for r, d in zip(per["router"], per["go_default"], strict=True)), 2)
        for c in clients.values():
            c.close()
    finally:
        for e in engines.values():
            e.close()
    return out


def section_memory(ctx: dict) -> dict:
    """RSS of the managed OPA and of this process while deciding batches until the count or the time
    budget is reached; Python growth is measured from the end of the first (warm-up) batches."""
    router = ctx["router_off"]
    pid = router.engine.pid
    base = [load_bundle(n) for n in ctx["bundles"]]
    opa_before, py_before = rss_kib(pid), rss_kib()
    chunk = ctx["memory_chunk"]
    # the last section: it gets what is left of the five-minute allowance (at least 10 s)
    budget = min(ctx["memory_budget_s"], max(10.0, ctx["total_budget_s"] - (time.monotonic() - ctx["t0"])))
    done, t0 = 0, time.monotonic()
    checkpoints = []
    warm = None
    while done < ctx["memory_decisions"] and time.monotonic() - t0 < budget:
        router.decide_many(batch(base, chunk, f"mem{done}"))
        done += chunk
        if done == 2 * chunk:
            warm = (done, rss_kib())
        checkpoints.append((done, rss_kib(), rss_kib(pid)))
    return {
        "decisions": done,
        "seconds": round(time.monotonic() - t0, 1),
        "opa_rss_kib_before": opa_before,
        "opa_rss_kib_after": rss_kib(pid),
        "python_rss_kib_before": py_before,
        "python_rss_kib_warm": warm[1] if warm else None,
        "warm_after": warm[0] if warm else None,
        "python_rss_kib_after": rss_kib(),
        "checkpoints": checkpoints,
    }


def section_fleet(ctx: dict) -> dict:
    """Decisions/s through the router against a fleet of 1, 2 and 3 OPA replicas (nginx bundle server,
    router.fleet) with 4 client threads, each for a fixed time; reported as ratios to one replica."""
    import threading

    from router import Router
    from router.config import load_settings
    from router.fleet import Fleet, FleetError

    seconds = 3.0 if ctx["iterations"] < 100 else 8.0
    threads = 4
    bundles = [load_bundle(n) for n in ctx["bundles"]]
    folder = Path(tempfile.mkdtemp(prefix="model-router-bench-fleet-"))
    rows: dict[str, Any] = {"threads": threads, "seconds": seconds}
    try:
        fleet = Fleet(folder / "fleet", replicas=3, receipts_dir=folder / "receipts").up()
    except FleetError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return {"error": str(exc)}
    try:
        for n in (1, 2, 3):
            settings = load_settings(opa_url=",".join(fleet.urls[:n]), opa_revision="newest", receipts=False, timeout_ms=5000)
            with Router(settings=settings) as router:
                for b in bundles:
                    router.decide(b)
                counts, faults = [0] * threads, [0] * threads
                stop = time.monotonic() + seconds

                def worker(k: int) -> None:
                    i = k
                    while time.monotonic() < stop:
                        d = router.decide(bundles[i % len(bundles)])
                        counts[k] += 1
                        faults[k] += bool(d.fault)
                        i += 1

                pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
                t0 = time.monotonic()
                for t in pool:
                    t.start()
                for t in pool:
                    t.join()
                wall = time.monotonic() - t0
                rows[str(n)] = {"decisions": sum(counts), "per_s": round(sum(counts) / wall, 1), "faults": sum(faults),
                                "per_replica": [r.answers for r in router.engine.replicas]}
        one = rows["1"]["per_s"] or 1
        for n in ("1", "2", "3"):
            rows[n]["ratio"] = round(rows[n]["per_s"] / one, 2)
    finally:
        fleet.down()
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def section_catalog(ctx: dict) -> dict:
    from bench.catalog import section_catalog as run

    return run(ctx)


SECTIONS = {
    "opa-bench": section_opa_bench,
    "opa-eval": section_opa_eval_all,
    "decide": section_floors_and_decide,
    "receipts": section_receipts,
    "decide-many": section_decide_many,
    "cold-cli": section_cold_cli,
    "scale": section_scale,
    "catalog": section_catalog,
    "memory": section_memory,
    "gc": section_gc,
    "replay": lambda ctx: __import__("bench.replay", fromlist=["section_replay"]).section_replay(ctx),
    "fleet": section_fleet,
}
OPT_IN = ("replay", "fleet")  # not issue-15 targets, and minutes each: run with --with or --only


# -- report ------------------------------------------------------------------------------------


def render(results: dict) -> str:
    from bench.report import render as report

    return report(results)


def main(argv: list[str] | None = None) -> int:
    from bench.baseline import DEFAULT_BASELINE

    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run); reduced sizes are labelled")
    ap.add_argument("--only", default="", help="comma-separated sections: " + ", ".join(SECTIONS))
    ap.add_argument("--with", dest="extra", default="", help="also run these opt-in sections: " + ", ".join(OPT_IN))
    ap.add_argument("--baseline", default=os.environ.get("BASELINE", DEFAULT_BASELINE),
                    help=f"the commit decide_many is compared with (default {DEFAULT_BASELINE}, the commit before the issue-15 work; '' skips)")
    ap.add_argument("--out", default=str(RESULTS / "latest.json"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from router import Router, approvals

    # every decision at the fixtures' evaluation time, so each example bundle has its recorded outcome
    # (the router stamps it on every query, as it stamps its clock otherwise); an empty value is unset
    # for the router (approvals.fixed_evaluation), so it is replaced here too, not kept
    if not os.environ.get(approvals.EVALUATION_TIME_ENV):
        os.environ[approvals.EVALUATION_TIME_ENV] = approvals.FIXTURE_EVALUATION_TIME
    chosen = [x for x in args.only.split(",") if x] or [k for k in SECTIONS if k not in OPT_IN]
    chosen += [x for x in args.extra.split(",") if x and x not in chosen]
    unknown = [x for x in chosen if x not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s): {', '.join(unknown)}")
    ctx: dict[str, Any] = {
        "quick": args.quick,
        "bundles": list(REPRESENTATIVE),
        "all_allocs": not args.quick,
        "bench_workers": 6,
        "iterations": 60 if args.quick else 400,
        "cell_budget_s": 0.25 if args.quick else 0.5,
        "eval_repeats": 3 if args.quick else 5,
        "receipt_threads": 4,
        "receipt_slice_s": 1.0 if args.quick else 1.5,
        "receipt_rounds": 3 if args.quick else 4,
        "many_count": 512,  # two of the router's sub-batches of 256: one per core here
        "many_rounds": 2 if args.quick else 5,  # the median of five: one slow round (a noisy neighbour) does not decide it
        "baseline": args.baseline,
        "catalog_sizes": (17, 100, 1_000, 10_000),
        "catalog_reduced": None,
        "catalog_budget_s": 3.0 if args.quick else 5.0,
        "cold_runs": 3 if args.quick else 7,
        "memory_decisions": 10_000 if args.quick else 100_000,
        "memory_budget_s": 10 if args.quick else 15,
        "memory_chunk": 250,
        "replay_decisions": 2_000 if args.quick else 10_000,
        "total_budget_s": 360,
        "t0": time.monotonic(),
    }
    started = time.time()
    results: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                               "quick": args.quick, "sections": {}}
    try:
        results["commit"] = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                           timeout=20).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        results["commit"] = None
    receipts_dir = Path(tempfile.mkdtemp(prefix="model-router-bench-receipts-"))
    # ONE managed OPA for every receipts variant: the variants are the same Router with other receipt settings
    with Router(receipts=True, receipts_dir=receipts_dir, timeout_ms=30000) as on:
        if on.engine.start_error:
            print(f"cannot start the managed OPA: {on.engine.start_error}", file=sys.stderr)
            return 1
        ctx.update(receipt_variants(on, receipts_dir))
        results["policyRevision"] = on.engine.bundle_revision
        for name in chosen:
            t0 = time.monotonic()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            try:
                results["sections"][name] = SECTIONS[name](ctx)
            except Exception as exc:  # a failed section is reported, the others still run
                results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
                print(f"[bench] {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            results.setdefault("seconds", {})[name] = round(time.monotonic() - t0, 1)
        ctx["router_nofsync"].receipt_log.close()
    shutil.rmtree(receipts_dir, ignore_errors=True)
    results["totalSeconds"] = round(time.time() - started, 1)
    with contextlib.suppress(OSError):
        results["machine"]["loadavg_at_end"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    text = render(results)
    for name, err in (results.get("errors") or {}).items():
        text += f"\n   [FAIL] section {name}: {err}"
    print(text)
    print(f"\n(total {results['totalSeconds']} s; per section {results.get('seconds')})")
    out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")  # with the checks
    print(f"written {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    # a MISS is a measurement; a section that could not run is a failure of the bench itself
    return 1 if results.get("errors") else 0
