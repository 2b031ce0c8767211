"""When this process started, so that ``summary.json``'s timings add up to the wall time.

Data contract
-------------
``counting_from_process_start()`` is a context manager the command line
wraps around a run: inside it, ``process_start()`` is the process's start
on the ``time.perf_counter()`` clock, from ``/proc/self/stat`` (field 22,
the start time in clock ticks since boot, compared with ``/proc/uptime``)
where Linux provides it, so interpreter start-up counts too; elsewhere the
moment this module was imported (the top of the CLI).  A process that ran
for more than :data:`MAX_STARTUP_S` before the run (a command invoked
inside a long-lived process, as tests do) counts from the run's start.
Outside it ``process_start()`` is ``None``: the Python API's ``find`` has no
start-up of copytrace's to report (a caller's script may have run for hours).

``timings_that_add_up(stages, t_engine_start, t_end, t_call)`` turns the
per-stage seconds into ``summary.json``'s ``timings_s``: the stages, then
``startup`` (process start → the engine's start: interpreter, imports,
option checks; only when a process start was marked), ``other`` (time in
no stage: building tables, the summary, staging the outputs) and ``total``
(process start, or the ``find`` call, → just before summary.json is
written), so that ``startup + stages + other == total``.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["counting_from_process_start", "process_start", "timings_that_add_up", "MAX_STARTUP_S"]

_IMPORTED = time.perf_counter()  # the CLI imports this module first: the fallback start
_START: float | None = None
MAX_STARTUP_S = 120.0  # longer before a run: not a fresh process (a command run inside another)


def _proc_start_perf() -> float | None:
    """The process start on the perf_counter clock, from /proc (Linux), else None."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        now = time.perf_counter()
        # the command name (field 2) is in parentheses and may hold spaces: split after it
        fields = stat[stat.rindex(b")") + 2 :].split()
        start_ticks = int(fields[19])  # field 22 overall
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    if not 0.0 <= age < 3600.0:  # clock oddities (containers, suspend): don't trust it
        return None
    return now - age


@contextmanager
def counting_from_process_start() -> Iterator[None]:
    """Within: ``process_start()`` is this process's start (see the module's contract)."""
    global _START
    now = time.perf_counter()
    start = _proc_start_perf()
    if start is None or start > now:
        start = _IMPORTED
    if now - start > MAX_STARTUP_S:
        start = now
    _START = start
    try:
        yield
    finally:
        _START = None


def process_start() -> float | None:
    """The process start (``time.perf_counter()`` clock) during a CLI run, else None."""
    return _START


def timings_that_add_up(stages: dict[str, float], t_engine_start: float, t_end: float,
                        t_call: float) -> dict[str, float]:
    """``timings_s`` for summary.json (see the module's contract); values rounded to 0.1 ms.
    ``stages``: seconds per stage (a ``total`` key in it is ignored);
    ``t_engine_start``/``t_end``/``t_call``: perf_counter times of the engine's
    start, the end of the run, and the ``find`` call."""
    out = {k: round(v, 4) for k, v in stages.items() if k not in ("total", "startup", "other")}
    t0 = _START if _START is not None and _START <= t_call else None
    if t0 is not None:
        out["startup"] = round(t_engine_start - t0, 4)
    origin = t0 if t0 is not None else t_call
    total = round(t_end - origin, 4)
    # rounded parts, so that the numbers as written add up exactly
    out["other"] = round(total - sum(out.values()), 4)
    out["total"] = total
    return out
