"""summary.json's timings add up: start-up + stages + other = total ≈ the wall time of the process."""

from __future__ import annotations

import json
import time
from pathlib import Path

from helpers import run_cli
from copytrace.clock import counting_from_process_start, process_start, timings_that_add_up

SEEDS = Path(__file__).resolve().parents[2] / "examples" / "seeds"


def test_find_timings_add_up_to_wall_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    t0 = time.perf_counter()
    proc = run_cli("find", str(SEEDS), "--out", str(out), "-q")
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr.decode()
    t = json.loads((out / "summary.json").read_text())["timings_s"]
    assert {"startup", "read", "fingerprint", "verify", "write", "other", "total"} <= set(t)
    assert all(v >= 0 for v in t.values()), t
    parts = sum(v for k, v in t.items() if k != "total")
    assert abs(parts - t["total"]) < 0.002, t  # the numbers as written add up
    # total runs from the process start to summary.json: only printing the closing line and
    # the interpreter's exit are outside it (generous: the test machine may be loaded)
    assert t["total"] <= wall + 0.05, (t, wall)
    assert wall - t["total"] < 0.4 * wall + 1.5, (t, wall)
    # start-up is the interpreter and the imports, not the run
    assert 0 < t["startup"] < t["total"]


def test_timings_without_a_marked_process_start_count_from_the_call() -> None:
    # the Python API: no process start is marked (a caller's script may have run for hours)
    import copytrace.clock as clock

    saved = clock._START
    clock._START = None
    try:
        t = timings_that_add_up({"read": 0.5, "write": 0.25, "total": 0.6}, t_engine_start=10.1, t_end=11.0,
                                t_call=10.0)
    finally:
        clock._START = saved
    assert "startup" not in t
    assert t["total"] == 1.0
    assert t["other"] == 0.25  # the engine's start and the time between stages
    assert t["read"] + t["write"] + t["other"] == t["total"]


def test_the_process_start_is_known_only_during_a_cli_run() -> None:
    assert process_start() is None  # the Python API: no start-up of copytrace's to report
    with counting_from_process_start():
        t0 = process_start()
        assert t0 is not None and t0 <= time.perf_counter()
        # this test process (pytest) may be minutes old: then the run counts from its own start
        assert time.perf_counter() - t0 < 130
    assert process_start() is None


def test_api_find_reports_no_startup(tmp_path: Path) -> None:
    import copytrace

    res = copytrace.find(SEEDS, tmp_path / "out", progress=False)
    t = res.summary["timings_s"]
    assert "startup" not in t
    assert abs(sum(v for k, v in t.items() if k != "total") - t["total"]) < 0.002, t
