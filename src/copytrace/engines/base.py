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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    from copytrace.engines.common import EngineOutput, TextStore
    from copytrace.options import FindOptions
    from copytrace.progress import Reporter

__all__ = ["Engine", "RunState"]


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
