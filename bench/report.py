"""The printed table of a benchmark run: every section's figures, then every issue-15 target with
ok, MISS or SKIP (and why) — `render(results)` also stores the verdicts in results["checks"]."""

from __future__ import annotations

import statistics

from bench.harness import ALLOC_TARGETS, REPRESENTATIVE, TARGETS


def verdict(ok: bool | None) -> str:
    return "SKIP" if ok is None else ("ok" if ok else "MISS")


def _mib(x: int | None) -> str:
    return f"{x / 1024:.0f}" if x else "?"


def _cell(x: dict) -> str:
    return f"{x['p50_ms']:.2f}/{x['p99_ms']:.2f}"


def floor_lines(s: dict) -> list[str]:
    """For the targets that OPA or this machine bounds, what the run's own floors allow: the REST
    floor's lowest possible ratio to the eval timer, what the same sub-batches sent raw reach against
    the baseline, the CPU part of a receipt (without fsync), and the cold start's floor. S: the
    results' sections. Lines without a leading indent; none for a section not run."""
    out: list[str] = []
    a = (s.get("decide") or {}).get("all") or {}
    trivial, handler, evaluation = (a.get("trivial") or {}), (a.get("trivial_handler") or {}), (a.get("eval") or {})
    if trivial.get("n") and evaluation.get("p50_ms"):
        ev = evaluation["p50_ms"]
        fixed = trivial["p50_ms"] - (handler.get("p50_ms") or 0.0)  # the round trip outside OPA's handler timer
        line = (f"REST floor / eval timer: at best {(ev + fixed) / ev:.2f}× (target ≤ {TARGETS['rest_vs_eval']}×): every query pays "
                f"OPA's fixed round trip, {fixed:.2f} ms here (a one-value lookup outside OPA's handler timer), on top of a "
                f"decision's {ev:.2f} ms of evaluation")
        if (a.get("rest_noauth") or {}).get("n") and (a.get("rest") or {}).get("p50_ms"):
            auth = a["rest"]["p50_ms"] - a["rest_noauth"]["p50_ms"]
            line += f"; the channel's authorization check is {auth:.2f} ms of it (at best {(ev + fixed - auth) / ev:.2f}× without it)"
        if (a.get("rest") or {}).get("p50_ms"):
            line += f"; the REST floor's other {a['rest']['p50_ms'] - ev - fixed:.2f} ms are OPA reading the input and writing the decision"
        out.append(line)
    dm = s.get("decide-many") or {}
    if (dm.get("raw") or {}).get("per_s") and (dm.get("baseline") or {}).get("per_s"):
        raw = dm["raw"]["per_s"] / dm["baseline"]["per_s"]
        out.append(f"decide_many / baseline: the same sub-batches sent raw to OPA reach {raw:.2f}× the baseline "
                   f"(target ≥ {TARGETS['many_vs_baseline']:.0f}×); what the router adds is the ratio to raw, "
                   f"{dm.get('ratio_raw', float('nan')):.2f}×, and the rest is OPA evaluating the policy")
    rc = s.get("receipts") or {}
    if "ratio" in (rc.get("nofsync") or {}) and "ratio" in (rc.get("on") or {}):
        line = (f"receipts / off: {rc['nofsync']['ratio']:.2f}× without fsync (the CPU of a receipt beside OPA on the same cores), "
                f"{rc['on']['ratio']:.2f}× with it (target ≤ {TARGETS['receipts_vs_off']}×)")
        off = rc.get("off") or {}
        off_cpu, nofsync_cpu = off.get("cpu_ms_per_decision"), rc["nofsync"].get("cpu_ms_per_decision")
        if off_cpu and nofsync_cpu:
            line += (f"; receipts off, a decision took {off_cpu['opa']:.2f} ms of OPA's CPU and {off_cpu['python']:.2f} ms of this "
                     f"process's; a receipt without fsync adds {nofsync_cpu['python'] - off_cpu['python']:.2f} ms of this process's CPU")
            if "receipts_per_commit" in rc["nofsync"]:
                line += f" ({rc['nofsync']['receipts_per_commit']:.2f} receipts per log commit: each commit reads, signs and renames the head)"
            cpus, wall = rc.get("cpus"), off.get("ms_per_decision")
            if cpus and wall:
                available = cpus * wall  # CPU time the machine had per decision, receipts off
                line += (f"; with receipts off the {cpus} cores were {(off_cpu['opa'] + off_cpu['python']) / available:.0%} busy, so "
                         f"≤ {TARGETS['receipts_vs_off']}× leaves a receipt, fsync included, about "
                         f"{(TARGETS['receipts_vs_off'] - 1) * available:.2f} ms of CPU per decision")
        out.append(line)
    c = s.get("cold-cli") or {}
    start, python = (c.get("opa_server_start") or {}), (c.get("python_start") or {})
    if start.get("p50_ms") and python.get("p50_ms") and (c.get("cli") or {}).get("p50_ms"):
        floor = python["p50_ms"] + start["p50_ms"]
        remote = (c.get("cli_long_running_opa") or {}).get("p50_ms")
        out.append(f"cold decide: floor {floor:.0f} ms (the interpreter's start {python['p50_ms']:.0f} ms + the managed OPA's start to "
                   f"healthy {start['p50_ms']:.0f} ms, target ≤ {TARGETS['cold_cli_s'] * 1000:.0f} ms); the command took "
                   f"{c['cli']['p50_ms']:.0f} ms, {c['cli']['p50_ms'] - floor:.0f} ms above the floor"
                   + (f"; against an OPA already running {remote:.0f} ms" if remote else ""))
    elif "error" in start:
        out.append(f"cold decide: the managed OPA's start was not measured: {start['error']}")
    return out


def render(results: dict) -> str:
    lines: list[str] = []
    m = results["machine"]
    lines.append(f"model-router benchmark — {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, {m['opa']}, "
                 f"commit {results.get('commit')}, load at start {m['loadavg_at_start']}" + (" (--quick)" if results.get("quick") else ""))
    s = results["sections"]
    checks: list[tuple[str, str, bool | None]] = []

    def skip(label: str, why: str) -> None:
        checks.append((label, why, None))

    # 1. allocations
    label_agent = f"opa bench allocs/op, agent-routine-code-execution ≤ {TARGETS['allocs_agent']:,}"
    label_personal = f"opa bench allocs/op, personal-router-healthy-laptop ≤ {TARGETS['allocs_personal']:,}"
    label_any = f"opa bench allocs/op ≤ {TARGETS['allocs_any']:,}"
    if "opa-bench" in s:
        ob = s["opa-bench"]
        rows = ob["bundles"]
        lines += ["", "1. opa bench of data.model_router.decision (input as the router sends it: prompt dropped, evaluation time stamped)"]
        lines.append(f"   {'bundle':<44} {'allocs/op':>10} {'µs/op':>9}  (µs/op of parallel runs: noisy; the serial rows compare)")
        for name in REPRESENTATIVE:
            r = rows.get(name)
            if r is None:
                continue
            lines.append(f"   {name:<44} " + (f"error: {r['error']}" if "error" in r else f"{r['allocs_per_op']:>10} {r['ns_per_op'] / 1000:>9.0f}"))
        good = {k: v for k, v in rows.items() if "error" not in v}
        bad = {k: v["error"] for k, v in rows.items() if "error" in v}
        worst = max(good, key=lambda k: good[k]["allocs_per_op"]) if good else None
        if worst:
            over = sorted((k for k, v in good.items() if v["allocs_per_op"] > TARGETS["allocs_any"]), key=lambda k: -good[k]["allocs_per_op"])
            allocs = sorted(v["allocs_per_op"] for v in good.values())
            lines.append(f"   {'every' if ob['all'] else 'representative'} bundle ({len(good)}): median {statistics.median(allocs):.0f}, "
                         f"worst {good[worst]['allocs_per_op']} ({worst}); {len(over)} above {TARGETS['allocs_any']:,}"
                         + (f": {', '.join(over[:5])}{' ...' if len(over) > 5 else ''}" if over else ""))
        if bad:
            lines.append(f"   errors: {bad}")
        lines.append("   serial (µs/op comparable within this run):")
        for name, r in ob["serial"].items():
            if "error" in r:
                lines.append(f"     {name:<42} error: {r['error']}")
            else:
                lines.append(f"     {name:<42} {r['allocs_per_op']:>10} {r['ns_per_op'] / 1000:>9.1f}")
        for name, key in ALLOC_TARGETS.items():
            r = ob["serial"].get(name) or rows.get(name) or {}
            label = label_agent if key == "allocs_agent" else label_personal
            if "allocs_per_op" in r:
                checks.append((label, f"{r['allocs_per_op']:,}", r["allocs_per_op"] <= TARGETS[key]))
            else:
                skip(label, f"not measured: {r.get('error', 'no result')}")
        if worst:
            scope = "every example bundle" if ob["all"] else f"the {len(good)} representative bundles only (--quick)"
            checks.append((f"{label_any}: {scope}", f"worst {good[worst]['allocs_per_op']:,} ({worst})",
                           good[worst]["allocs_per_op"] <= TARGETS["allocs_any"] and not bad))
    else:
        for label in (label_agent, label_personal, f"{label_any} for every example bundle"):
            skip(label, "section opa-bench not run")
    if s.get("opa-eval"):
        rows = s["opa-eval"]
        worst_name = max(rows, key=lambda k: rows[k]["eval_p50_us"])
        med = statistics.median(r["eval_p50_us"] for r in rows.values())
        lines += ["", f"   every example bundle ({len(rows)}), server eval timer of the router's query: median {med:.1f} µs, "
                  f"worst {rows[worst_name]['eval_p50_us']:.1f} µs ({worst_name})"]

    # 2-3. floors and decide
    label_decide = f"decide p50 ≤ {TARGETS['decide_vs_rest']}× REST floor (same OPA, receipts off)"
    label_rest = f"REST floor p50 ≤ {TARGETS['rest_vs_eval']}× OPA's own eval timer (no gzip)"
    if "decide" in s:
        d = s["decide"]
        lines += ["", "2-3. One managed OPA, round-robin, one thread — p50/p99 ms: OPA's eval timer, the REST floor (http.client, keep-alive,",
                  "     the router's query, no gzip), the engine channel, Router.decide() receipts off / on (fsync) / on (no fsync)"]
        lines.append(f"   {'bundle':<38} {'status':<10} {'doc B':>6} {'OPA eval':>13} {'REST floor':>13} {'client':>13} {'decide':>13} {'+receipt':>13}"
                     f" {'+r nofsync':>13} {'floor/eval':>10} {'x floor':>7} {'x +r':>5}")
        for name, r in [*d["bundles"].items(), ("ALL (pooled)", d["all"])]:
            lines.append(
                f"   {name:<38} {str(r.get('status', '')):<10} {str(r.get('docBytes', '')):>6} {_cell(r['eval']):>13} {_cell(r['rest']):>13} "
                f"{_cell(r['client']):>13} {_cell(r['decide_off']):>13} {_cell(r['decide_on']):>13} {_cell(r['decide_nofsync']):>13} "
                f"{r['ratio_rest_eval'] or 0:>10.2f} {r['ratio_off']:>7.2f} {r['ratio_on']:>5.2f}"
            )
        a = d["all"]
        lines.append(f"   decisions/s: REST floor {a['rest']['per_s']}, decide {a['decide_off']['per_s']}, "
                     f"decide+receipt {a['decide_on']['per_s']}, without fsync {a['decide_nofsync']['per_s']}; client / floor {a['ratio_client']:.2f}×")
        checks.append((label_decide, f"{a['ratio_off']:.2f}× ({a['decide_off']['p50_ms']:.2f} / {a['rest']['p50_ms']:.2f} ms)",
                       a["ratio_off"] <= TARGETS["decide_vs_rest"]))
        if a.get("trivial", {}).get("n"):
            lines.append(f"   a trivial query (one data lookup) on the same connection: p50 {a['trivial']['p50_ms']:.3f} ms round trip, "
                         f"OPA's handler timer {a['trivial_handler']['p50_ms'] * 1000:.0f} µs; REST floor − eval timer "
                         f"{a['rest']['p50_ms'] - a['eval']['p50_ms']:.3f} ms")
        if a.get("rest_noauth", {}).get("n"):
            lines.append(f"   the REST floor on the same OPA without its read-only authorization policy (another OPA, same bundle and settings): "
                         f"p50 {a['rest_noauth']['p50_ms']:.2f} ms, {a['rest_noauth']['p50_ms'] / a['eval']['p50_ms']:.2f}× the eval timer; "
                         f"OPA's authorization check costs {a['rest']['p50_ms'] - a['rest_noauth']['p50_ms']:.3f} ms per call")
        if a["ratio_rest_eval"]:
            fixed = f"; a trivial query's round trip {a['trivial']['p50_ms']:.2f} ms" if a.get("trivial", {}).get("n") else ""
            checks.append((label_rest, f"{a['ratio_rest_eval']:.2f}× ({a['rest']['p50_ms']:.2f} / {a['eval']['p50_ms']:.2f} ms{fixed})",
                           a["ratio_rest_eval"] <= TARGETS["rest_vs_eval"]))
        else:
            skip(label_rest, "no eval timer in OPA's answers")
    else:
        skip(label_decide, "section decide not run")
        skip(label_rest, "section decide not run")

    # receipts under threads
    label_rcpt = f"receipts with fsync ≤ {TARGETS['receipts_vs_off']}× receipts off (same OPA, several threads; median of per-round ratios)"
    if "receipts" in s:
        rc = s["receipts"]
        lines += ["", f"4. Receipts: {rc['threads']} threads deciding at once on one OPA, {rc['rounds']} × {rc['slice_s']} s per variant, round-robin"]
        names = {"off": "receipts off", "on": "on, fsync (default: group commit, input store)", "on_no_group": "on, fsync, group commit disabled",
                 "on_no_inputs": "on, fsync, group commit, no input store", "nofsync": "on, no fsync"}
        for k, label in names.items():
            r = rc[k]
            lines.append(f"   {label:<50} {r['per_s']:>8.1f}/s  {r['ms_per_decision'] or 0:>7.2f} ms/decision  p50 {r['p50_ms']:>7.2f} ms"
                         + (f"  ×off {r['ratio']:.2f}" if "ratio" in r else "") + (f"  faults {r['faults']}" if r["faults"] else ""))
            if "cpu_ms_per_decision" in r:
                c = r["cpu_ms_per_decision"]
                lines.append(f"   {'':<50} CPU per decision: OPA {c['opa']:.2f} ms, this process {c['python']:.2f} ms"
                             + (f"; {r['receipts_per_commit']:.2f} receipts per log commit" if "receipts_per_commit" in r else ""))
        lo = rc.get("log_only")
        if lo:
            g, ng = lo["group"], lo["no_group"]
            lines.append(f"   the receipt log alone ({rc['threads']} threads appending, fsync on): group commit {g['per_s']:.0f} appends/s, "
                         f"{g['fsyncs_per_append']} fsyncs per append; group commit disabled {ng['per_s']:.0f} appends/s, {ng['fsyncs_per_append']}")
        on = rc["on"]
        if "ratio" in on:
            checks.append((label_rcpt, f"{on['ratio']:.2f}× per decision (group commit off {rc['on_no_group'].get('ratio')}×, "
                                       f"no input store {rc['on_no_inputs'].get('ratio')}×)", on["ratio"] <= TARGETS["receipts_vs_off"]))
        else:
            skip(label_rcpt, "no decisions measured")
    else:
        skip(label_rcpt, "section receipts not run")

    # decide_many
    label_raw = f"decide_many per-decision ≤ {TARGETS['many_vs_raw']}× the same sub-batches sent raw"
    label_base = f"decide_many decisions/s ≥ {TARGETS['many_vs_baseline']:.0f}× the baseline commit's"
    if "decide-many" in s:
        dm = s["decide-many"]
        lines += ["", f"5. Router.decide_many() of {dm['n']} bundles, {dm['rounds']} rounds round-robin (median wall)"]
        for k, label in (("raw", "sub-batches sent raw (same OPA)"), ("router", "Router.decide_many()"), ("baseline", "the baseline commit's router")):
            if k in dm:
                r = dm[k]
                lines.append(f"   {label:<34} {r['median_s']:>7.3f} s  {r['per_s']:>8.1f} decisions/s  {r['per_decision_ms']:.3f} ms/decision"
                             + (f"  faults {r['faults']}" if r.get("faults") else ""))
        b = dm.get("baselineInfo") or {}
        if "skipped" in b:
            lines.append(f"   baseline: SKIP — {b['skipped']}")
        elif b:
            lines.append(f"   baseline: commit {b.get('commit')} (requested {b.get('requested')}), its own router and policies "
                         f"(revision {str(b.get('revision'))[:19]}…), prepared in {b.get('prepareSeconds')} s")
        if "ratio_raw" in dm:
            checks.append((label_raw, f"{dm['ratio_raw']:.2f}×", dm["ratio_raw"] <= TARGETS["many_vs_raw"]))
        else:
            skip(label_raw, "not measured")
        if "ratio_baseline" in dm:
            checks.append((label_base, f"{dm['ratio_baseline']:.2f}× ({dm['router']['per_s']:.0f}/s vs {dm['baseline']['per_s']:.0f}/s at "
                                       f"{b.get('commit')})", dm["ratio_baseline"] >= TARGETS["many_vs_baseline"]))
        else:
            skip(label_base, b.get("skipped", "no baseline measured"))
    else:
        skip(label_raw, "section decide-many not run")
        skip(label_base, "section decide-many not run")

    label_cold = f"cold `model-router decide` p50 ≤ {TARGETS['cold_cli_s']} s"
    if "cold-cli" in s:
        c = s["cold-cli"]
        lines += ["", "6. Cold CLI (whole process: Python start, OPA start, decision)"]
        if "error" in c:
            lines.append(f"   error: {c['error']}")
            skip(label_cold, f"the command failed: {c['error'][:80]}")
        else:
            lines.append(
                f"   model-router decide {c['bundle']}: p50 {c['cli']['p50_ms']:.0f} ms, max {c['cli']['p99_ms']:.0f} ms over {c['cli']['n']} runs "
                f"(floors: bare python {c['python_start']['p50_ms']:.0f} ms, one-shot opa eval of the bundle {c['opa_eval_process']['p50_ms']:.0f} ms"
                + (f", the managed OPA's start to healthy {c['opa_server_start']['p50_ms']:.0f} ms" if "p50_ms" in (c.get("opa_server_start") or {}) else "")
                + ")"
            )
            remote = c.get("cli_long_running_opa") or {}
            if "p50_ms" in remote:
                lines.append(
                    f"   the same command against an OPA already running (model-router serve-bundle, MODEL_ROUTER_OPA_URL; alternating): "
                    f"p50 {remote['p50_ms']:.0f} ms ({remote['p50_ms'] / c['cli']['p50_ms']:.2f}×): what each call pays when the engine runs as a service"
                )
            elif remote:
                lines.append(f"   against an OPA already running: not measured: {remote.get('error')}")
            if c.get("bytecode"):
                lines.append(f"   the package's bytecode: {c['bytecode']}")
            hint = c.get("compile_hint") or {}
            if "error" in hint:
                lines.append(f"   OPA's module compile with and without model_router.compile_hint: {hint['error']}")
            elif hint:
                lines.append(
                    f"   OPA's module compile (opa eval --metrics, median of {hint['n']}, alternating): {hint['with_ms']:.0f} ms as built, "
                    f"{hint['without_ms']:.0f} ms without model_router.compile_hint ({hint['with_ms'] / hint['without_ms']:.2f}×; "
                    "at 1.00× OPA no longer needs the package)"
                )
            checks.append((label_cold, f"{c['cli']['p50_ms'] / 1000:.2f} s", c["cli"]["p50_ms"] <= TARGETS["cold_cli_s"] * 1000))
    else:
        skip(label_cold, "section cold-cli not run")

    flat = TARGETS["flat"]
    label_bind = f"flat (±{flat * 100:.0f} %) from 1 to 10,000 bindings"
    if "scale" in s:
        sc = s["scale"]
        lines += ["", "7. Scale: Router.decide() p50 ms, opa bench allocs/op and resident memory as policy data and bundles grow"]
        for key, label in (("bindings", "personal bindings"), ("taskClasses", "task classes"), ("bundleBytes", "bundle bytes (prompt text)")):
            rows = sc.get(key) or {}
            cells = ", ".join(f"{k}: {v['p50_ms']:.2f}" for k, v in rows.items() if isinstance(v, dict) and "p50_ms" in v)
            spread = rows.get("spread")
            lines.append(f"   {label:<28} {cells}" + (f"  (spread {spread * 100:.0f} %)" if spread is not None else ""))
            if rows.get("opa"):
                cells = ", ".join(f"{k}: {v.get('allocs_per_op')}" for k, v in rows["opa"].items())
                lines.append(f"   {'  allocs/op, same data':<28} {cells}  (spread {rows['allocs_spread'] * 100:.1f} %)")
            rss = [(k, v) for k, v in rows.items() if isinstance(v, dict) and "opa_rss_kib" in v]
            if rss:
                lines.append(f"   {'  OPA / Python RSS MiB':<28} " + ", ".join(f"{k}: {_mib(v['opa_rss_kib'])} / {_mib(v['python_rss_kib'])}" for k, v in rss))
        rows = sc.get("bindings") or {}
        spread, allocs = rows.get("spread"), rows.get("allocs_spread")
        checks.append((f"{label_bind}: decide p50", f"{spread * 100:.0f} %" if spread is not None else "not measured", None if spread is None else spread <= flat))
        checks.append((f"{label_bind}: allocs/op", f"{allocs * 100:.1f} %" if allocs is not None else "not measured", None if allocs is None else allocs <= flat))
    else:
        skip(f"{label_bind}: decide p50 and allocs/op", "section scale not run")

    label_cat = f"flat (±{flat * 100:.0f} %) from 17 to 10,000 catalog models"
    label_doc = f"no decision document over {TARGETS['doc_bytes'] // 1024} KB (example bundles, every catalog size)"
    label_fault = "no fault at 10,000 catalog models with default settings"
    docs_max: list[tuple[int, str]] = []
    if "decide" in s:
        big = max(s["decide"]["bundles"].items(), key=lambda kv: kv[1]["docBytes"])
        docs_max.append((big[1]["docBytes"], f"{big[0]} (demo catalog)"))
    if "catalog" in s:
        cat = s["catalog"]
        lines += ["", "8. Catalog size (bench/catalog.py: demo models cloned with new ids and authorization records, assembled by router.policy_data)"]
        if cat.get("reduced"):
            lines.append(f"   REDUCED: {cat['reduced']}")
        lines.append(f"   {'models':>7} {'agent p50':>10} {'personal p50':>12} {'agent allocs':>13} {'personal allocs':>15} {'max doc B':>10} "
                     f"{'faults/default':>15} {'OPA RSS':>8} {'Py RSS':>7} {'n':>4} {'s':>5}")
        for n, r in cat["sizes"].items():
            if "error" in r:
                lines.append(f"   {n:>7} error: {r['error']}")
                continue
            dd = r["decide"]
            lines.append(f"   {n:>7} {dd['agent']['p50_ms']:>10.2f} {dd['personal']['p50_ms']:>12.2f} {str(r['allocs'].get('agent')):>13} "
                         f"{str(r['allocs'].get('personal')):>15} {r['docBytesMax']:>10} {str(r['faultsDefault']) + ' of ' + str(r['faultsChecked']):>15} "
                         f"{_mib(r['opa_rss_kib']):>8} {_mib(r['python_rss_kib']):>7} {dd['agent']['n']:>4} {r['seconds']:>5.0f}")
            docs_max.append((r["docBytesMax"], f"{r['docBytesMaxOf']} ({n} models)"))
            if r.get("faultExamples"):
                lines.append(f"   {'':>7} e.g. {'; '.join(r['faultExamples'])}")
        lines.append("   (p50 ms over n rounds, round-robin over the sizes: one managed OPA per size, all running; OPA RSS MiB after the timed decisions,")
        lines.append("   Python RSS once the size was prepared; s: seconds to prepare the size; doc size and faults over the representative bundles up to")
        lines.append("   1,000 models, over the two timed bundles above; faults at the default decision timeout)")
        spread, allocs = cat.get("spread") or {}, cat.get("allocs_spread") or {}
        for k in ("agent", "personal"):
            sp, al = spread.get(k), allocs.get(k)
            checks.append((f"{label_cat}: decide p50, {k}", f"{sp * 100:.0f} %" if sp is not None else "not measured", None if sp is None else sp <= flat))
            checks.append((f"{label_cat}: allocs/op, {k}", f"{al * 100:.0f} %" if al is not None else "not measured", None if al is None else al <= flat))
        largest = cat["sizes"].get("10000")
        if largest and "faultsDefault" in largest:
            checks.append((label_fault, f"{largest['faultsDefault']} of {largest['faultsChecked']} decisions", largest["faultsDefault"] == 0))
        else:
            skip(label_fault, "10,000 models not measured" + (f" ({cat['reduced']})" if cat.get("reduced") else ""))
    else:
        skip(label_cat, "section catalog not run")
        skip(label_fault, "section catalog not run")
    if docs_max:
        worst_doc = max(docs_max)
        partial = "catalog" not in s
        ok = worst_doc[0] <= TARGETS["doc_bytes"]
        checks.append((label_doc, f"largest {worst_doc[0]:,} B: {worst_doc[1]}" + (" (catalog section not run)" if partial else ""),
                       None if partial and ok else ok))
    else:
        skip(label_doc, "sections decide and catalog not run")

    if "memory" in s:
        mm = s["memory"]
        lines += ["", "9. Memory"]
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
    if "gc" in s:
        g = s["gc"]
        lines += ["", f"10. The managed OPA's GC target: two managed OPAs, the representative bundles round-robin ({g['rounds']} rounds of {g['decisions_per_round']})"]
        for k, label in (("go_default", "Go's default"), ("router", "the router's")):
            lines.append(f"   {label:14s} GOGC={g[k]['gogc']:<5d} {g[k]['ms_per_decision']:7.3f} ms/decision   OPA RSS {_mib(g[k]['rss_kib'])} MiB")
        lines.append(f"   the router's / Go's default: {g['ratio']:.2f}× time per decision (median of per-round ratios)")
    if "replay" in s:
        from bench.replay import render_lines

        more, replay_checks = render_lines(s["replay"])
        lines += more
        checks += replay_checks
    if "fleet" in s:
        fl = s["fleet"]
        lines += ["", "Fleet: decisions/s through the router against 1, 2 and 3 OPA replicas (nginx bundle server)"]
        if "error" in fl:
            lines.append(f"   error: {fl['error']}")
        else:
            for n in ("1", "2", "3"):
                r = fl[n]
                lines.append(f"   {n} replica(s): {r['per_s']:>8.1f} decisions/s  (ratio to one {r['ratio']:.2f}, "
                             f"{r['faults']} faults, answers per replica {r['per_replica']})")
            lines.append(f"   ({fl['threads']} client threads, {fl['seconds']:.0f} s each; the router and every replica share this machine's cores)")
            checks.append(("fleet: zero faults at 1, 2 and 3 replicas", str(sum(fl[n]["faults"] for n in ("1", "2", "3"))),
                           all(fl[n]["faults"] == 0 for n in ("1", "2", "3"))))
    lines += ["", "Targets (issue 15; ratios from this run; SKIP says why it was not measured)"]
    for label, value, ok in checks:
        lines.append(f"   [{verdict(ok):>4}] {label:<78} {value}")
    floors = floor_lines(s)
    if floors:
        lines += ["", "What this run's floors leave to the router (the same OPA and machine, measured above)"]
        lines += [f"   {line}" for line in floors]
    results["checks"] = [{"target": label, "value": value, "ok": ok} for label, value, ok in checks]
    return "\n".join(lines)
