"""CPU seconds per stage of `find --no-align --no-report`, one process, one thread.

    PYTHONPATH=TREE/src python benchmarks/stage_cpu.py CORPUS.jsonl [--out DIR] [--align]

Runs ``copytrace.find`` (the Python API: no start-up line) with the stage
clock (``time.perf_counter``) replaced by the process's CPU clock
(``time.process_time``) and numba on one thread (``NUMBA_NUM_THREADS=1``,
``--workers 1``), so that ``summary.json``'s ``timings_s`` are CPU seconds of
the process, stage by stage: the measure that holds on a loaded shared
machine, where wall seconds time the other jobs.  Prints them as one JSON
line.  Run it with ``PYTHONPATH`` set to each tree to compare, alternating.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus")
    ap.add_argument("--out", default=None, help="output directory (default: a temporary one)")
    ap.add_argument("--align", action="store_true", help="align too (default --no-align)")
    args = ap.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = "1"  # before numba is imported
    time.perf_counter = time.process_time  # every stage timing in CPU seconds of the process
    import copytrace

    out = args.out or tempfile.mkdtemp(prefix="copytrace-stage-cpu-")
    r = copytrace.find(args.corpus, out, align=args.align, report=False, progress=False, workers=1)
    print(json.dumps({k: round(v, 3) for k, v in r.summary["timings_s"].items()}))


if __name__ == "__main__":
    main()
