"""Policy data with a model catalog of any size, for the benchmark's catalog-size section.

`scaled_catalog(n)` clones the example catalog's models (examples/model-catalog.demo.json) with new
modelRefs until the catalog holds N models, gives every clone its own governance route with an
authorization record copied from its original's (examples/model-route-authorization.demo.json), and
assembles the policy data with `router.policy_data.assemble` from a temporary root: the repository's
policies/data, schemas and examples, plus the two generated documents named in a sources.json whose
`active` modelCatalog and routeAuthorization are the generated ones. So the generated documents pass
the same schema and semantic checks (`model-router validate`) as the real ones — including "every
model's governance route has a record in the route authorization mirror" — and Rego sees exactly the
views it sees for the demo catalog. Clones keep their original's lane, tiers, supported tasks and
profile references, so at every size the same requests find the same kinds of models.

    python -m bench.catalog 1000 --out DIR     # write DIR/model_router_data/data.json (for opa eval/bench)
"""

# ruff: noqa: B023 - every closure defined in a loop here (timed calls, worker threads) is called and
# finished within the iteration that defines it
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "examples" / "model-catalog.demo.json"
AUTHORIZATION = ROOT / "examples" / "model-route-authorization.demo.json"
SIZES = (17, 100, 1_000, 10_000)


def generated_documents(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ModelCatalog, route authorization mirror) with N models: the demo models first, then clones."""
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    mirror = json.loads(AUTHORIZATION.read_text(encoding="utf-8"))
    models = catalog["models"]
    if n < len(models):
        raise ValueError(f"a generated catalog holds at least the {len(models)} demo models")
    records = {r["route_id"]: r for r in mirror["records"]}
    mirror_id = f"urn:socioprophet:model-route-authorization:bench-{n}"
    out_models = list(models)
    out_records = list(mirror["records"])
    for i in range(n - len(models)):
        original = models[i % len(models)]
        clone = copy.deepcopy(original)
        name = original["modelRef"][len("model://"):]
        clone["modelRef"] = f"model://bench-clone-{i}/{name}"
        clone["governanceRoute"] = f"bench.clone-{i}.{original['governanceRoute']}"
        clone["description"] = f"benchmark clone {i} of {original['modelRef']}"
        record = copy.deepcopy(records[original["governanceRoute"]])
        record["route_id"] = clone["governanceRoute"]
        record["ledger_entry"] = clone["modelRef"]
        out_models.append(clone)
        out_records.append(record)
    catalog = {**catalog, "catalogId": f"urn:socioprophet:model-catalog:bench-{n}", "authorizationRef": mirror_id,
               "description": f"benchmark catalog: the {len(models)} demo models and {n - len(models)} clones", "models": out_models}
    mirror = {**mirror, "mirror_id": mirror_id, "records": out_records}
    return catalog, mirror


def scaled_catalog(n: int, *, base_sources: Path | None = None) -> dict[str, Any]:
    """data.model_router_data with a catalog of N models (see the module docstring)."""
    from router import paths, policy_data
    from router.contracts import model_rules

    sources_file = base_sources or paths.POLICY_DATA / policy_data.SOURCES_FILE
    sources = json.loads(sources_file.read_text(encoding="utf-8"))
    catalog, mirror = generated_documents(n)
    tmp = Path(tempfile.mkdtemp(prefix="model-router-bench-catalog-"))
    try:
        for name in ("schemas", "examples"):
            os.symlink(ROOT / name, tmp / name)
        shutil.copytree(sources_file.parent, tmp / "policies" / "data", symlinks=False)
        (tmp / "generated").mkdir()
        (tmp / "generated" / "model-catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
        (tmp / "generated" / "model-route-authorization.json").write_text(json.dumps(mirror), encoding="utf-8")
        replaced = {str(CATALOG.relative_to(ROOT)): "generated/model-catalog.json",
                    str(AUTHORIZATION.relative_to(ROOT)): "generated/model-route-authorization.json"}
        sources["documents"] = [replaced.get(rel, rel) for rel in sources["documents"]]
        sources["active"] = {**sources["active"], "modelCatalog": catalog["catalogId"], "routeAuthorization": mirror["mirror_id"]}
        new_sources = tmp / "policies" / "data" / policy_data.SOURCES_FILE
        new_sources.write_text(json.dumps(sources, indent=1), encoding="utf-8")
        with model_rules.mirror_known(mirror):
            return policy_data.assemble(new_sources, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_data_dir(n: int, out: Path) -> Path:
    """Assemble the data for N models and write it under OUT (OUT/model_router_data/data.json)."""
    from router import policy_data

    return policy_data.write(out, scaled_catalog(n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.catalog", description="policy data with a generated model catalog")
    ap.add_argument("models", type=int, help=f"catalog size (at least 17; the bench uses {', '.join(map(str, SIZES))})")
    ap.add_argument("--out", type=Path, required=True, help="the data folder to write")
    args = ap.parse_args(argv)
    print(write_data_dir(args.models, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# -- the benchmark section ---------------------------------------------------------------------------


def section_catalog(ctx: dict[str, Any]) -> dict[str, Any]:
    """Per catalog size: opa bench allocs/op (agent and personal), the largest decision document of the
    representative bundles (sizes up to 1,000; above, the two timed bundles), the faults at default
    settings, Router.decide() p50 of the two timed bundles, and the OPA and Python resident memory.
    One managed OPA per size, started with the router's settings, all running at once: the decisions are
    timed round-robin over the sizes (one decision of each bundle at each size per round), so a change of
    the machine's speed during the section hits every size alike and the spread compares like with like."""
    from contextlib import ExitStack

    from bench import harness as h
    from router import Router
    from router import bundle as bundle_mod
    from router.config import load_settings

    default_timeout_s = load_settings().timeout_s
    sizes = ctx["catalog_sizes"]
    timed = {"agent": "agent-routine-code-execution", "personal": "personal-router-healthy-laptop"}
    tmp = Path(tempfile.mkdtemp(prefix="model-router-bench-catalog-"))
    rows: dict[str, Any] = {}
    try:
        inputs = h.write_inputs(list(timed.values()), tmp)
        bundles = {k: h.load_bundle(v) for k, v in timed.items()}
        reps = {name: h.load_bundle(name) for name in ctx["bundles"]}
        with ExitStack() as stack:
            routers: dict[int, Any] = {}
            for n in sizes:
                t0 = time.monotonic()
                data = scaled_catalog(n)
                archive = tmp / f"catalog-{n}.tar.gz"
                bundle_mod.build_from_files(bundle_mod.staged_files(data=data), archive)
                del data
                row: dict[str, Any] = {"models": n, "buildSeconds": round(time.monotonic() - t0, 1)}
                rows[str(n)] = row
                allocs = h.parallel({k: (lambda f=f: h.opa_bench(archive, f)) for k, f in
                                     ((k, inputs[v]) for k, v in timed.items())}, 2)
                row["allocs"] = {k: v.get("allocs_per_op") for k, v in allocs.items()}
                row["opaBench"] = allocs
                router = stack.enter_context(Router(bundle=archive, receipts=False, timeout_ms=30000))
                if router.engine.start_error:
                    row["error"] = f"the managed OPA did not start: {router.engine.start_error}"
                    continue
                # faults at default settings: the default decision timeout
                router.engine.timeout_s = default_timeout_s
                docs = reps if n <= 1000 else {timed[k]: b for k, b in bundles.items()}
                faults: list[str] = []
                sizes_seen: dict[str, int] = {}
                for name, b in docs.items():
                    d = router.decide(b)
                    if d.fault:
                        faults.append(f"{name}: {d.fault}")
                    sizes_seen[name] = h.doc_bytes(d)
                router.engine.timeout_s = 30.0
                if faults:  # a fault's document is the fail-closed one: measure the documents without the deadline
                    for name, b in docs.items():
                        sizes_seen[name] = h.doc_bytes(router.decide(b))
                row["faultsDefault"] = len(faults)
                row["faultExamples"] = faults[:3]
                row["faultsChecked"] = len(docs)
                row["defaultTimeoutMs"] = round(default_timeout_s * 1000)
                largest = max(sizes_seen, key=lambda k: sizes_seen[k])
                row["docBytesMax"], row["docBytesMaxOf"], row["docsChecked"] = sizes_seen[largest], largest, len(sizes_seen)
                row["seconds"] = round(time.monotonic() - t0, 1)
                row["python_rss_kib"] = h.rss_kib()  # once this size's data was assembled and its first decisions made
                routers[n] = router
            # round-robin: every round decides each timed bundle once at every size
            samples: dict[int, dict[str, list[int]]] = {n: {k: [] for k in timed} for n in routers}
            deadline = time.monotonic() + ctx["catalog_budget_s"] * max(1, len(routers))
            for i in range(ctx["iterations"]):
                for n, router in routers.items():
                    for k, b in bundles.items():
                        v = copy.copy(b)
                        v["request"] = {**b["request"], "prompt": {"text": f"cat{n}-{k}-{i}"}}
                        s0 = time.perf_counter_ns()
                        router.decide(v)
                        samples[n][k].append(time.perf_counter_ns() - s0)
                if i >= 2 and time.monotonic() > deadline:
                    break
            for n, router in routers.items():
                row = rows[str(n)]
                row["decide"] = {k: h.summary(v) for k, v in samples[n].items()}
                row["opa_rss_kib"] = h.rss_kib(router.engine.pid)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out: dict[str, Any] = {"sizes": rows, "reduced": ctx.get("catalog_reduced")}
    first = rows.get(str(sizes[0]))
    if first and "decide" in first:
        for k in timed:
            p50s = [r["decide"][k]["p50_ms"] for r in rows.values() if "decide" in r]
            al = [r["allocs"].get(k) for r in rows.values() if r.get("allocs", {}).get(k)]
            out.setdefault("spread", {})[k] = round(max(p50s) / min(p50s) - 1, 3) if p50s and min(p50s) > 0 else None
            out.setdefault("allocs_spread", {})[k] = round(max(al) / min(al) - 1, 3) if al and min(al) > 0 else None
    return out
