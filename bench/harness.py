"""The benchmark sections, the table and the JSON record. Run with `python -m bench` (`make bench`).

Sections (each bounded in time so the whole run stays under five minutes on a 2-core machine, plus
about 80-160 s for `replay`, which must replay all 10,000 decisions):

  opa-bench     `opa bench` of data.model_router.decision per representative bundle (ns/op, allocs/op)
  opa-eval      the server's own evaluation timer (timer_rego_query_eval_ns) for EVERY example bundle
  rest-floor    the bundle POSTed with http.client over one keep-alive connection (the Python floor)
  client        the same query through the router's own engine channel alone (router.opa_http)
  decide        Router.decide() end to end, receipts off and on
  decide-many   Router.decide_many() for 1,000 and 10,000 bundles
  cold-cli      `model-router decide` as a whole process
  scale         decision p50 as policy data grows (bindings, task classes) and as the bundle grows
  memory        managed OPA resident memory; Python RSS before and after many decisions
  replay        `model-router replay` of 10,000 recorded decisions under the unchanged policy (bench/replay.py)

Options: `python -m bench --quick` (fewer iterations), `--only SECTION[,SECTION]`, `--out FILE`.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path
from typing import Any, Callable

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

TARGETS = {
    "decide_p50_vs_rest": 1.5,
    "decide_p50_ms": 1.0,
    "decide_p99_ms": 3.0,
    "opa_eval_us": 150.0,
    "decide_many_per_s": 5000.0,
    "cold_cli_s": 1.0,
    "scale_flat": 0.20,
}


# -- small helpers ------------------------------------------------------------------------------


def now_ns() -> int:
    return time.perf_counter_ns()


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    s = sorted(samples)
    k = min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


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


# -- sections -----------------------------------------------------------------------------------


def section_opa_bench(ctx: dict) -> dict:
    """`opa bench` per representative bundle against the built bundle."""
    from router import bundle as bundle_mod

    from router.api import MANAGED_OPA_ARGS

    built = bundle_mod.ensure_bundle()
    opa = opa_path()
    store = [a for a in MANAGED_OPA_ARGS if a == "--optimize-store-for-read-speed"]  # as the managed OPA runs
    rows = {}
    for name in ctx["bundles"]:
        cmd = [str(opa), "bench", *store, "--format", "json", "--benchmem", "-b", str(built.path), "-i", str(BUNDLES / f"{name}.json"), ENTRYPOINT]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            rows[name] = {"error": (proc.stderr or proc.stdout).strip()[:300]}
            continue
        rows[name] = go_bench(json.loads(proc.stdout))
    # This machine's own floor: the cheapest query there is, and a fixed amount of plain Rego work.
    first = str(BUNDLES / f"{ctx['bundles'][0]}.json")
    for label, query in (("(floor) one data lookup", "data.model_router_data.active"),
                         ("(floor) 1,000-step comprehension", "[y | some i in numbers.range(1, 1000); y := i * 2]")):
        proc = subprocess.run([str(opa), "bench", *store, "--format", "json", "-b", str(built.path), "-i", first, query],
                              capture_output=True, text=True, timeout=120)
        rows[label] = go_bench(json.loads(proc.stdout)) if proc.returncode == 0 else {"error": proc.stderr.strip()[:300]}
    return rows


def section_opa_eval_all(ctx: dict) -> dict:
    """The server's own evaluation timer for every example bundle (median of a few warm queries)."""
    router = ctx["router_off"]
    raw = RawClient(router.engine.url, getattr(router.engine, "_token", None))
    rows = {}
    try:
        for name in all_bundle_names():
            body = input_body(load_bundle(name))
            evals = []
            for _ in range(ctx["eval_repeats"]):
                answer = raw.post(body, DECISION_PATH + "&metrics=true")
                evals.append(answer["metrics"]["timer_rego_query_eval_ns"])
            rows[name] = {"eval_p50_us": round(statistics.median(evals) / 1000, 1), "eval_min_us": round(min(evals) / 1000, 1)}
    finally:
        raw.close()
    return rows


def section_floors_and_decide(ctx: dict) -> dict:
    """Per bundle: REST floor, the engine channel alone, Router.decide() receipts off and on."""
    from router import engine as engine_mod

    off, on, nofsync = ctx["router_off"], ctx["router_on"], ctx["router_nofsync"]
    raw = RawClient(off.engine.url, getattr(off.engine, "_token", None))
    n, budget = ctx["iterations"], ctx["cell_budget_s"]
    rows: dict[str, dict] = {}
    pooled: dict[str, list[int]] = {"rest": [], "client": [], "decide_off": [], "decide_on": [], "decide_nofsync": []}
    try:
        for name in ctx["bundles"]:
            bundle = load_bundle(name)
            body = input_body(bundle)
            prepared = off.prepare(bundle, source=name)
            channel = off.engine._channel
            decision_path = engine_mod.rule_path(engine_mod.DECISION_PACKAGE, engine_mod.DECISION_RULE)

            def variant(i: int) -> dict:
                b = copy.deepcopy(bundle)
                b["request"]["requestId"] = f"bench-{name}-{i}"
                return b

            variants = [variant(i) for i in range(min(n, 512))]
            calls = {
                "rest": lambda i: raw.post(body),
                "client": lambda i: channel.post_json(decision_path, {"input": prepared.bundle}, 30.0),
                "decide_off": lambda i: off.decide(variants[i % len(variants)]),
                "decide_on": lambda i: on.decide(variants[i % len(variants)]),
                "decide_nofsync": lambda i: nofsync.decide(variants[i % len(variants)]),
            }
            # round-robin: one call of every kind per round, so load drift hits every column alike
            per = {k: [] for k in calls}
            for k, fn in calls.items():
                for i in range(3):
                    fn(i)
            deadline = time.monotonic() + budget * len(calls)
            for i in range(n):
                for k, fn in calls.items():
                    t0 = now_ns()
                    fn(i)
                    per[k].append(now_ns() - t0)
                if i >= 20 and time.monotonic() > deadline:
                    break
            rest, cli, d_off, d_on, d_nofsync = (per[k] for k in ("rest", "client", "decide_off", "decide_on", "decide_nofsync"))
            check = off.decide(bundle)
            rows[name] = {
                "status": check.status,
                "fault": check.fault,
                "rest": summary(rest),
                "client": summary(cli),
                "decide_off": summary(d_off),
                "decide_on": summary(d_on),
                "decide_nofsync": summary(d_nofsync),
            }
            r = rows[name]
            r["ratio_off"] = round(r["decide_off"]["p50_ms"] / r["rest"]["p50_ms"], 2)
            r["ratio_on"] = round(r["decide_on"]["p50_ms"] / r["rest"]["p50_ms"], 2)
            r["ratio_nofsync"] = round(r["decide_nofsync"]["p50_ms"] / r["rest"]["p50_ms"], 2)
            r["ratio_client"] = round(r["client"]["p50_ms"] / r["rest"]["p50_ms"], 2)
            for key, samples in (("rest", rest), ("client", cli), ("decide_off", d_off), ("decide_on", d_on), ("decide_nofsync", d_nofsync)):
                pooled[key] += samples
    finally:
        raw.close()
    allrow = {k: summary(v) for k, v in pooled.items()}
    allrow["ratio_off"] = round(allrow["decide_off"]["p50_ms"] / allrow["rest"]["p50_ms"], 2)
    allrow["ratio_on"] = round(allrow["decide_on"]["p50_ms"] / allrow["rest"]["p50_ms"], 2)
    allrow["ratio_nofsync"] = round(allrow["decide_nofsync"]["p50_ms"] / allrow["rest"]["p50_ms"], 2)
    allrow["ratio_client"] = round(allrow["client"]["p50_ms"] / allrow["rest"]["p50_ms"], 2)
    return {"bundles": rows, "all": allrow}


def section_client_env(ctx: dict) -> dict:
    """What requests' per-request proxy lookup in the environment (trust_env) costs the client: raw
    http.client, the client as configured, and the client with trust_env off, round-robin on the
    smallest decision. The engine's client is restored before returning."""
    from router import engine as engine_mod

    router = ctx["router_off"]
    client = getattr(router.engine, "_client", None)
    session = getattr(client, "_session", None)
    if session is None:
        return {"skipped": "the engine channel reads no proxy settings from the environment (no requests session)"}
    bundle = load_bundle("personal-revoked-deny")
    raw = RawClient(router.engine.url, getattr(router.engine, "_token", None))
    body = input_body(bundle)
    per: dict[str, list[int]] = {"raw": [], "client": [], "client_no_env": []}
    original = session.trust_env
    try:
        for i in range(ctx["iterations"]):
            for key in per:
                session.trust_env = original if key != "client_no_env" else False
                t0 = now_ns()
                if key == "raw":
                    raw.post(body)
                else:
                    client.query_rule(bundle, engine_mod.DECISION_PACKAGE, engine_mod.DECISION_RULE, query_params=engine_mod.QUERY_PARAMS)
                per[key].append(now_ns() - t0)
    finally:
        session.trust_env = original
        raw.close()
    return {k: summary(v) for k, v in per.items()}


def batch(bundles: list[dict], count: int, tag: str) -> list[dict]:
    out = []
    for i in range(count):
        b = copy.deepcopy(bundles[i % len(bundles)])
        b["request"]["requestId"] = f"{tag}-{i}"
        out.append(b)
    return out


def section_decide_many(ctx: dict) -> dict:
    router = ctx["router_off"]
    base = [load_bundle(n) for n in ctx["bundles"]]
    rows = {}
    for count in ctx["batch_sizes"]:
        bundles = batch(base, count, f"many{count}")
        t0 = time.perf_counter()
        decisions = router.decide_many(bundles)
        wall = time.perf_counter() - t0
        faults = sum(1 for d in decisions if d.fault)
        rows[str(count)] = {"n": count, "wall_s": round(wall, 3), "per_s": round(count / wall, 1), "faults": faults}
        if wall * 10 > ctx["many_budget_s"] and count != ctx["batch_sizes"][-1]:
            rows["skipped"] = f"larger batches skipped: {count} bundles took {wall:.1f} s"
            break
    return rows


def section_cold_cli(ctx: dict) -> dict:
    exe = Path(sys.executable).with_name("model-router")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "router.cli"]
    bundle = BUNDLES / f"{ctx['bundles'][0]}.json"
    samples, python_only = [], []
    env = dict(os.environ, MODEL_ROUTER_RECEIPTS="0")
    for _ in range(ctx["cold_runs"]):
        t0 = now_ns()
        proc = subprocess.run([*cmd, "decide", str(bundle), "--format", "table"], capture_output=True, text=True, env=env, timeout=60)
        samples.append(now_ns() - t0)
        if proc.returncode not in (0, 3):
            return {"error": (proc.stderr or proc.stdout).strip()[:300]}
    for _ in range(ctx["cold_runs"]):  # the floor: the interpreter alone, and OPA alone
        t0 = now_ns()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        python_only.append(now_ns() - t0)
    opa_only = []
    from router import bundle as bundle_mod

    built = bundle_mod.ensure_bundle()
    for _ in range(ctx["cold_runs"]):
        t0 = now_ns()
        subprocess.run([str(opa_path()), "eval", "-b", str(built.path), "-i", str(bundle), "--format", "raw", ENTRYPOINT + ".selected.status"],
                       check=True, capture_output=True)
        opa_only.append(now_ns() - t0)
    return {
        "cli": summary(samples),
        "python_start": summary(python_only),
        "opa_eval_process": summary(opa_only),
        "bundle": bundle.name,
    }


def _scaled_router(data: dict, tmp: Path, tag: str):
    from router import Router
    from router import bundle as bundle_mod

    out = tmp / f"{tag}.tar.gz"
    bundle_mod.build_from_files(bundle_mod.staged_files(data=data), out)
    return Router(bundle=out, receipts=False, timeout_ms=30000), out


def opa_bench_allocs(bundle_path: Path, bundle_file: Path) -> dict:
    """`opa bench` of the entrypoint on a bundle, with the store option the managed OPA uses: allocations
    per evaluation do not depend on the machine's load, so they show whether the work grows."""
    from router.api import MANAGED_OPA_ARGS

    store = [a for a in MANAGED_OPA_ARGS if a == "--optimize-store-for-read-speed"]
    cmd = [str(opa_path()), "bench", *store, "--format", "json", "-b", str(bundle_path), "-i", str(bundle_file), ENTRYPOINT]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        return {"error": (proc.stderr or proc.stdout).strip()[:300]}
    return go_bench(json.loads(proc.stdout))


def _interleaved(cases: dict[str, tuple[Any, dict]], n: int, budget: float) -> dict:
    """Router.decide() per case, measured in rounds (one decision of every case per round) so that the
    machine's load drifts over all cases alike; per case p50/p99 and the decision's status."""
    variants = {k: batch([b], 64, f"scale-{k}") for k, (_, b) in cases.items()}
    samples: dict[str, list[int]] = {k: [] for k in cases}
    for k, (router, _) in cases.items():  # warm-up
        for v in variants[k][:5]:
            router.decide(v)
    deadline = time.monotonic() + budget * len(cases)
    for i in range(n):
        for k, (router, _) in cases.items():
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
    try:
        bind_id = personal["request"]["personal"]["bindingRef"]
        cases = {}
        for count in (1, 100, 10_000):
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
            opa_rows.setdefault("bindings", {})[str(count)] = opa_bench_allocs(path, BUNDLES / "personal-router-healthy-laptop.json")
        out["bindings"] = _interleaved(cases, n, budget)
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
            opa_rows.setdefault("taskClasses", {})[str(len(pol["taskClasses"]))] = opa_bench_allocs(path, BUNDLES / "agent-routine-code-execution.json")
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


SECTIONS = {
    "opa-bench": section_opa_bench,
    "opa-eval": section_opa_eval_all,
    "decide": section_floors_and_decide,
    "client-env": section_client_env,
    "decide-many": section_decide_many,
    "cold-cli": section_cold_cli,
    "scale": section_scale,
    "memory": section_memory,
    "replay": lambda ctx: __import__("bench.replay", fromlist=["section_replay"]).section_replay(ctx),
    "fleet": section_fleet,
}


# -- report ------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("ok" if ok else "MISS")


def render(results: dict) -> str:
    lines: list[str] = []
    m = results["machine"]
    lines.append(f"model-router benchmark — {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, {m['opa']}, load at start {m['loadavg_at_start']}")
    s = results["sections"]
    checks: list[tuple[str, str, bool | None]] = []

    if "opa-bench" in s:
        lines += ["", "1. OPA evaluation floor: opa bench of data.model_router.decision"]
        lines.append(f"   {'bundle':<40} {'µs/op':>9} {'allocs/op':>10} {'eval p50 µs':>12} {'eval p99 µs':>12}")
        worst = 0.0
        for name, r in s["opa-bench"].items():
            if "error" in r:
                lines.append(f"   {name:<40} error: {r['error']}")
                continue
            us = r["ns_per_op"] / 1000
            if not name.startswith("(floor)"):
                worst = max(worst, us)
            p50 = (r["eval_p50_ns"] or 0) / 1000
            p99 = (r["eval_p99_ns"] or 0) / 1000
            lines.append(f"   {name:<40} {us:>9.1f} {r['allocs_per_op']:>10} {p50:>12.1f} {p99:>12.1f}")
        checks.append(("opa bench ≤ 150 µs/op (representative bundles)", f"worst {worst:.1f} µs/op", worst <= TARGETS["opa_eval_us"]))
    if "opa-eval" in s and s["opa-eval"]:
        rows = s["opa-eval"]
        worst_name = max(rows, key=lambda k: rows[k]["eval_p50_us"])
        worst = rows[worst_name]["eval_p50_us"]
        med = statistics.median(r["eval_p50_us"] for r in rows.values())
        lines += ["", f"   every example bundle ({len(rows)}), server eval timer: median {med:.1f} µs, worst {worst:.1f} µs ({worst_name})"]
        checks.append(("OPA eval ≤ 150 µs for every example bundle (server timer p50)", f"worst {worst:.1f} µs", worst <= TARGETS["opa_eval_us"]))
    if "decide" in s:
        d = s["decide"]
        lines += ["", "2-3. REST floor (http.client, keep-alive) vs the engine channel (router.opa_http) vs Router.decide() — p50/p99 ms",
                  "     (decide: receipts off; +receipt: receipts on, fsync after each append as by default; +r nofsync: receipts on, fsync off)"]
        hdr = (f"   {'bundle':<40} {'status':<10} {'REST floor':>16} {'client':>16} {'decide':>16} {'decide+receipt':>16} {'+r nofsync':>16}"
               f" {'x floor':>8} {'x +r':>6} {'x +r nofsync':>12}")
        lines.append(hdr)

        def cell(x: dict) -> str:
            return f"{x['p50_ms']:.3f}/{x['p99_ms']:.3f}"

        for name, r in d["bundles"].items():
            lines.append(
                f"   {name:<40} {str(r['status']):<10} {cell(r['rest']):>16} {cell(r['client']):>16} {cell(r['decide_off']):>16} {cell(r['decide_on']):>16}"
                f" {cell(r['decide_nofsync']):>16} {r['ratio_off']:>8.2f} {r['ratio_on']:>6.2f} {r['ratio_nofsync']:>12.2f}"
            )
        a = d["all"]
        lines.append(
            f"   {'ALL (pooled)':<40} {'':<10} {cell(a['rest']):>16} {cell(a['client']):>16} {cell(a['decide_off']):>16} {cell(a['decide_on']):>16}"
            f" {cell(a['decide_nofsync']):>16} {a['ratio_off']:>8.2f} {a['ratio_on']:>6.2f} {a['ratio_nofsync']:>12.2f}"
        )
        lines.append(
            f"   throughput (one thread, decisions/s): REST floor {a['rest']['per_s']}, client {a['client']['per_s']}, "
            f"decide {a['decide_off']['per_s']}, decide+receipt {a['decide_on']['per_s']}, decide+receipt without fsync {a['decide_nofsync']['per_s']}"
        )
        checks.append(("decide p50 ≤ 1.5 × REST floor (receipts off)", f"{a['ratio_off']:.2f}×", a["ratio_off"] <= TARGETS["decide_p50_vs_rest"]))
        checks.append(("decide p50 ≤ 1.5 × REST floor (receipts on, fsync)", f"{a['ratio_on']:.2f}×", a["ratio_on"] <= TARGETS["decide_p50_vs_rest"]))
        checks.append(("decide p50 ≤ 1.5 × REST floor (receipts on, no fsync)", f"{a['ratio_nofsync']:.2f}×", a["ratio_nofsync"] <= TARGETS["decide_p50_vs_rest"]))
        checks.append(("decide p50 ≤ 1 ms", f"{a['decide_off']['p50_ms']:.3f} ms (receipts on {a['decide_on']['p50_ms']:.3f})", a["decide_off"]["p50_ms"] <= TARGETS["decide_p50_ms"]))
        checks.append(("decide p99 ≤ 3 ms", f"{a['decide_off']['p99_ms']:.3f} ms (receipts on {a['decide_on']['p99_ms']:.3f})", a["decide_off"]["p99_ms"] <= TARGETS["decide_p99_ms"]))
        lines.append(f"   client overhead over the floor: {a['ratio_client']:.2f}× (the engine channel / raw http.client, p50)")
    if "client-env" in s and "error" not in s["client-env"]:
        c = s["client-env"]
        lines.append(
            f"   client proxy-environment lookup (smallest decision, p50): http.client {c['raw']['p50_ms']:.3f} ms, "
            f"client {c['client']['p50_ms']:.3f} ms, client with trust_env off {c['client_no_env']['p50_ms']:.3f} ms"
        )
    if "decide-many" in s:
        lines += ["", "4. Router.decide_many()"]
        best = None
        for k, r in s["decide-many"].items():
            if k == "skipped":
                lines.append(f"   {r}")
                continue
            lines.append(f"   {r['n']:>6} bundles: {r['wall_s']:.3f} s, {r['per_s']:.0f} decisions/s, faults {r['faults']}")
            best = r["per_s"] if best is None else min(best, r["per_s"])
        checks.append(("decide_many ≥ 5,000 decisions/s", f"{best:.0f}/s (slowest batch size)" if best else "n/a", None if best is None else best >= TARGETS["decide_many_per_s"]))
    if "cold-cli" in s:
        c = s["cold-cli"]
        lines += ["", "5. Cold CLI (whole process: Python start, OPA start, decision)"]
        if "error" in c:
            lines.append(f"   error: {c['error']}")
        else:
            lines.append(
                f"   model-router decide {c['bundle']}: p50 {c['cli']['p50_ms']:.0f} ms, max {c['cli']['p99_ms']:.0f} ms "
                f"(floors: bare python {c['python_start']['p50_ms']:.0f} ms, one-shot opa eval of the bundle {c['opa_eval_process']['p50_ms']:.0f} ms)"
            )
            checks.append(("cold CLI ≤ 1 s", f"{c['cli']['p50_ms'] / 1000:.2f} s", c["cli"]["p50_ms"] <= TARGETS["cold_cli_s"] * 1000))
    if "scale" in s:
        sc = s["scale"]
        lines += ["", "6. Scale: Router.decide() p50 ms as policy data and bundles grow"]
        for key, label in (("bindings", "personal bindings"), ("taskClasses", "task classes"), ("bundleBytes", "bundle bytes (prompt text)")):
            rows = sc.get(key) or {}
            cells = ", ".join(f"{k}: {v['p50_ms']:.3f}" for k, v in rows.items() if isinstance(v, dict) and "p50_ms" in v)
            spread = rows.get("spread")
            lines.append(f"   {label:<28} {cells}" + (f"  (spread {spread * 100:.0f} %)" if spread is not None else ""))
            if rows.get("opa"):
                cells = ", ".join(f"{k}: {v.get('allocs_per_op')} allocs, {(v.get('ns_per_op') or 0) / 1000:.0f} µs" for k, v in rows["opa"].items())
                lines.append(f"   {'  opa bench, same data':<28} {cells}  (allocs spread {rows['allocs_spread'] * 100:.1f} %)")
        for key, label in (("bindings", "1 to 10,000 bindings"), ("taskClasses", "8 to 200 task classes")):
            rows = sc.get(key) or {}
            spread, allocs = rows.get("spread"), rows.get("allocs_spread")
            checks.append((f"flat (±20 %) from {label}: decide p50", f"{spread * 100:.0f} %" if spread is not None else "n/a",
                           None if spread is None else spread <= TARGETS["scale_flat"]))
            checks.append((f"flat (±20 %) from {label}: OPA allocs/op", f"{allocs * 100:.1f} %" if allocs is not None else "n/a",
                           None if allocs is None else allocs <= TARGETS["scale_flat"]))
    if "memory" in s:
        mm = s["memory"]
        lines += ["", "7. Memory"]
        lines.append(f"   managed OPA RSS: {mm['opa_rss_kib_before'] / 1024:.1f} MiB before, {mm['opa_rss_kib_after'] / 1024:.1f} MiB after {mm['decisions']} decisions")
        warm = mm.get("python_rss_kib_warm")
        lines.append(
            f"   Python RSS: {mm['python_rss_kib_before'] / 1024:.1f} MiB before, "
            + (f"{warm / 1024:.1f} MiB after {mm['warm_after']} (warm-up), " if warm else "")
            + f"{mm['python_rss_kib_after'] / 1024:.1f} MiB after {mm['decisions']} decisions ({mm['seconds']} s)"
        )
        if warm:
            growth = (mm["python_rss_kib_after"] - warm) / 1024
            checks.append((f"no Python memory growth over {mm['decisions']} decisions (after warm-up)", f"{growth:+.1f} MiB", growth <= 5.0))
    if "replay" in s:
        from bench.replay import render_lines

        more, replay_checks = render_lines(s["replay"])
        lines += more
        checks += replay_checks
    if "fleet" in s:
        fl = s["fleet"]
        lines += ["", "8. Fleet: decisions/s through the router against 1, 2 and 3 OPA replicas (nginx bundle server)"]
        if "error" in fl:
            lines.append(f"   error: {fl['error']}")
        else:
            for n in ("1", "2", "3"):
                r = fl[n]
                lines.append(f"   {n} replica(s): {r['per_s']:>8.1f} decisions/s  (ratio to one {r['ratio']:.2f}, "
                             f"{r['faults']} faults, answers per replica {r['per_replica']})")
            lines.append(f"   ({fl['threads']} client threads, {fl['seconds']:.0f} s each.) On this machine the router process (Python,")
            lines.append("   one GIL: JSON, validation, hashing per decision) and every replica share the same cores, so more")
            lines.append("   replicas cannot add throughput beyond them; the ratios show what spreading costs or gains here,")
            lines.append("   not the scale-out across hosts that a fleet is for (availability and one replica per host). Other load")
            lines.append("   on the machine (see the load average in the header) moves these numbers; each replica also evaluates")
            lines.append("   the decision-log mask and buffers a log entry per decision, and the router health-checks every replica.")
            checks.append(("fleet: zero faults at 1, 2 and 3 replicas", str(sum(fl[n]["faults"] for n in ("1", "2", "3"))),
                           all(fl[n]["faults"] == 0 for n in ("1", "2", "3"))))
    lines += ["", "Targets (ratios from this run)"]
    for label, value, ok in checks:
        lines.append(f"   [{verdict(ok):>4}] {label:<62} {value}")
    results["checks"] = [{"target": label, "value": value, "ok": ok} for label, value, ok in checks]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    ap.add_argument("--only", default="", help="comma-separated sections: " + ", ".join(SECTIONS))
    ap.add_argument("--out", default=str(RESULTS / "latest.json"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from router import Router

    chosen = [x for x in args.only.split(",") if x] or list(SECTIONS)
    unknown = [x for x in chosen if x not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s): {', '.join(unknown)}")
    ctx: dict[str, Any] = {
        "bundles": list(REPRESENTATIVE),
        "iterations": 60 if args.quick else 400,
        "cell_budget_s": 0.5 if args.quick else 1.0,
        "eval_repeats": 3 if args.quick else 7,
        "batch_sizes": (1000,) if args.quick else (1000, 10_000),
        "many_budget_s": 50,
        "cold_runs": 2 if args.quick else 5,
        "memory_decisions": 10_000 if args.quick else 100_000,
        "memory_budget_s": 15 if args.quick else 45,
        "memory_chunk": 250,
        "replay_decisions": 2_000 if args.quick else 10_000,
        "total_budget_s": 240,
        "t0": time.monotonic(),
    }
    started = time.time()
    results: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "sections": {}}
    receipts_dir = Path(tempfile.mkdtemp(prefix="model-router-bench-receipts-"))
    with Router(receipts=False, timeout_ms=30000) as off, \
            Router(receipts=True, receipts_dir=receipts_dir, timeout_ms=30000) as on, \
            Router(receipts=True, receipts_dir=receipts_dir / "nofsync", fsync=False, timeout_ms=30000) as nofsync:
        if off.engine.start_error:
            print(f"cannot start the managed OPA: {off.engine.start_error}", file=sys.stderr)
            return 1
        ctx["router_off"], ctx["router_on"], ctx["router_nofsync"] = off, on, nofsync
        results["policyRevision"] = off.engine.bundle_revision
        for name in chosen:
            t0 = time.monotonic()
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            try:
                results["sections"][name] = SECTIONS[name](ctx)
            except Exception as exc:  # a failed section is reported, the others still run
                results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
                print(f"[bench] {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            results.setdefault("seconds", {})[name] = round(time.monotonic() - t0, 1)
    shutil.rmtree(receipts_dir, ignore_errors=True)
    results["totalSeconds"] = round(time.time() - started, 1)
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
    return 0
