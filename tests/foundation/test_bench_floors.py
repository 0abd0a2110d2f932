"""The bench's floors behind the targets (bench/report.py `floor_lines`, bench/harness.py
`_opa_server_start`): what the same run's own measurements leave to the router, computed from the
figures the sections record. `make bench` runs the sections; these tests check the arithmetic and the
OPA start measurement itself."""

from __future__ import annotations

from pathlib import Path

from bench.harness import TARGETS, _opa_server_start
from bench.report import floor_lines, render
from router import bundle as bundle_mod


def _summary(p50: float) -> dict:
    return {"n": 10, "p50_ms": p50, "p99_ms": p50 * 2, "mean_ms": p50, "per_s": 1000 / p50 if p50 else None}


def test_the_rest_floor_bound_splits_the_round_trip_from_the_evaluation() -> None:
    sections = {"decide": {"all": {
        "eval": _summary(5.0), "trivial": _summary(1.1), "trivial_handler": _summary(0.1),
        "rest": _summary(7.5), "rest_noauth": _summary(7.1),
    }}}
    (line,) = floor_lines(sections)
    # fixed round trip 1.1 - 0.1 = 1.0 ms over 5.0 ms of evaluation: at best 1.20x
    assert line.startswith(f"REST floor / eval timer: at best 1.20× (target ≤ {TARGETS['rest_vs_eval']}×)")
    assert "OPA's fixed round trip, 1.00 ms here" in line
    assert "a decision's 5.00 ms of evaluation" in line
    # the authorization check: 7.5 - 7.1 = 0.4 ms; without it (5.0 + 0.6) / 5.0
    assert "the channel's authorization check is 0.40 ms of it (at best 1.12× without it)" in line
    # the rest of the REST floor: 7.5 - 5.0 - 1.0
    assert "the REST floor's other 1.50 ms are OPA reading the input and writing the decision" in line


def test_without_the_floor_without_authorization_the_rest_floor_line_says_nothing_about_it() -> None:
    (line,) = floor_lines({"decide": {"all": {"eval": _summary(4.0), "trivial": _summary(2.0), "trivial_handler": _summary(0.0),
                                              "rest": _summary(7.0)}}})
    assert "at best 1.50×" in line
    assert "authorization" not in line
    assert "other 1.00 ms" in line


def test_decide_many_compares_the_raw_sub_batches_with_the_baseline() -> None:
    sections = {"decide-many": {"raw": {"per_s": 300.0}, "router": {"per_s": 270.0}, "baseline": {"per_s": 120.0}, "ratio_raw": 1.11}}
    (line,) = floor_lines(sections)
    assert line.startswith("decide_many / baseline: the same sub-batches sent raw to OPA reach 2.50× the baseline (target ≥ 3×)")
    assert "the ratio to raw, 1.11×" in line


def test_decide_many_without_a_baseline_has_no_floor_line() -> None:
    assert floor_lines({"decide-many": {"raw": {"per_s": 300.0}, "router": {"per_s": 270.0}, "ratio_raw": 1.11}}) == []


def test_receipts_show_the_part_without_fsync() -> None:
    (line,) = floor_lines({"receipts": {"on": {"ratio": 1.6}, "nofsync": {"ratio": 1.3}, "off": {}}})
    assert line == f"receipts / off: 1.30× without fsync (the CPU of a receipt beside OPA on the same cores), 1.60× with it (target ≤ {TARGETS['receipts_vs_off']}×)"


def test_the_cold_start_floor_is_the_interpreter_and_the_managed_opa() -> None:
    sections = {"cold-cli": {"cli": _summary(600.0), "python_start": _summary(45.0), "opa_server_start": _summary(320.0),
                             "cli_long_running_opa": _summary(290.0)}}
    (line,) = floor_lines(sections)
    assert line == ("cold decide: floor 365 ms (the interpreter's start 45 ms + the managed OPA's start to healthy 320 ms, "
                    "target ≤ 500 ms); the command took 600 ms, 235 ms above the floor; against an OPA already running 290 ms")


def test_a_failed_opa_start_measurement_is_reported() -> None:
    (line,) = floor_lines({"cold-cli": {"cli": _summary(600.0), "python_start": _summary(45.0), "opa_server_start": {"error": "opa run exited with status 1"}}})
    assert line == "cold decide: the managed OPA's start was not measured: opa run exited with status 1"


def test_no_section_no_floor_lines() -> None:
    assert floor_lines({}) == []
    results = {"machine": {"cpus": 2, "cpu": "x", "python": "3", "opa": "opa", "loadavg_at_start": 0.0}, "sections": {}}
    assert "floors leave to the router" not in render(results)


def test_render_prints_the_floors_after_the_targets() -> None:
    results = {"machine": {"cpus": 2, "cpu": "x", "python": "3", "opa": "opa", "loadavg_at_start": 0.0},
               "sections": {"receipts": {"threads": 4, "rounds": 1, "slice_s": 1.0, "log_only": None, **{
                   k: {"per_s": 100.0, "ms_per_decision": 10.0, "p50_ms": 10.0, "faults": 0, **({"ratio": r} if r else {})}
                   for k, r in (("off", None), ("on", 1.6), ("on_no_group", 1.7), ("on_no_inputs", 1.5), ("nofsync", 1.3))}}}}
    text = render(results)
    targets, floors = text.index("Targets (issue 15"), text.index("What this run's floors leave to the router")
    assert targets < floors
    assert "   receipts / off: 1.30× without fsync" in text[floors:]


def test_the_managed_opa_start_is_measured_until_it_answers() -> None:
    built = bundle_mod.ensure_bundle()
    samples = _opa_server_start(built.path, 2)
    assert isinstance(samples, list) and len(samples) == 2
    # an OPA start loads and compiles the whole policy: more than 20 ms on any machine, less than a minute
    assert all(20e6 < ns < 60e9 for ns in samples)


def test_an_opa_that_cannot_start_is_an_error_not_a_sample(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a bundle")
    answer = _opa_server_start(broken, 1)
    assert isinstance(answer, dict)
    assert answer["error"].startswith("opa run exited with status")

