"""The engine interface: what ``api.find`` needs from an engine, and the state
an engine keeps for one run.

Contract
--------
An engine is constructed without the find options (``LocalEngine()``,
``SparkEngine(master=..., partitions=..., session=...)``) and runs them:

* ``run(inputs, options, reporter)`` reads ``inputs`` (paths, URIs, or for
  the local engine Arrow tables in memory), runs every stage and returns an
  :class:`~copytrace.engines.common.EngineOutput` whose arrays follow the
  contract of ``engines.common`` (documents numbered 0..n-1 in doc-id order,
  pairs sorted by (a, b));
* ``abort()`` after a failed ``run``: removes what the engine created for the
  run (never a user's ``--work-dir``, which keeps its checkpoints for
  ``--resume``);
* ``cleanup()`` after the outputs are written: closes the text store and
  removes the engine's own work directory.  The engine remembers both in its
  :class:`RunState`, so the caller passes nothing back.

Why a protocol: a new engine (or a test double of one) needs no base class,
and ``api.find`` depends on this module only, not on pyspark.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    from copytrace.engines.common import EngineOutput, TextStore
    from copytrace.options import FindOptions
    from copytrace.progress import Reporter

__all__ = ["Engine", "RunState", "summary_dict"]


@runtime_checkable
class Engine(Protocol):
    """What ``api.find`` calls; see the module docstring for the contract."""

    name: str

    def run(self, inputs: Sequence[str | os.PathLike], options: FindOptions, reporter: Reporter) -> EngineOutput: ...

    def abort(self) -> None: ...

    def cleanup(self) -> None: ...


@dataclass
class RunState:
    """What an engine owns during one run, so that ``abort``/``cleanup`` can
    release it: the options run, the work directory (and whether copytrace
    created it, i.e. may delete it), and the text store once opened."""

    options: FindOptions
    work_dir: Path | None = None
    owns_work_dir: bool = False
    store: TextStore | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # engine-specific handles (persisted frames …)

    def release(self) -> None:
        """Close the store and remove the work directory if copytrace created it."""
        if self.store is not None:
            self.store.close()
        if self.owns_work_dir and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def summary_dict(
    engine: str, inputs: Sequence[Any], options: FindOptions, lsh: Any, read: dict[str, Any],
    counts: dict[str, Any], reporter: Reporter, t_start: float, *, engine_info: dict[str, Any] | None = None,
    lsh_out_of_core: bool | None = None, resumed: Sequence[str] = (), warnings: Sequence[str] = (),
    pair_filters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """summary.json's dictionary, in one place for every engine (``api.find``
    adds the outputs and the final timings).  ``engine_info``: the engine's
    own section (Spark: master, version, partitions); ``lsh_out_of_core``
    None when the engine has no such mode.  Keys keep this order, so that
    the file is byte-identical for the same run."""
    from copytrace._version import __version__
    from copytrace.errors import printable

    summary: dict[str, Any] = {
        "copytrace_version": __version__,
        "engine": engine,
        **({engine: engine_info} if engine_info is not None else {}),
        "inputs": [printable(str(x)) if isinstance(x, (str, os.PathLike)) else f"<{type(x).__name__}>"
                   for x in inputs],
        **({"against": list(options.against)} if options.against else {}),
        "parameters": {**options.parameters(), "lsh_bands": lsh.bands, "lsh_rows": lsh.rows},
        **({"lsh_out_of_core": lsh_out_of_core} if lsh_out_of_core is not None else {}),
        "read": read,
        "counts": counts,
        "timings_s": {},
        "resumed_stages": list(resumed),
        "warnings": list(warnings),
    }
    reporter.timings["total"] = time.perf_counter() - t_start
    summary["timings_s"] = {k: round(v, 4) for k, v in reporter.timings.items()}
    if pair_filters is not None:
        summary["pair_filters"] = pair_filters
    return summary
