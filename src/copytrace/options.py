"""Options of `copytrace find`, shared by the CLI, the Python API and every engine.

Each field is defined once, with its default, help and constraint (see
:mod:`copytrace.config`, which also says how to add an option): the ``find``
flags are generated from these fields, ``copytrace.find`` takes them as
keywords, and the fingerprint parameters come from ``FingerprintConfig``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from copytrace.config import FingerprintConfig, IntRange, OneOf, inherit, param, validate
from copytrace.errors import OptionError
from copytrace.stages.read import ReadOptions

__all__ = ["FindOptions"]


@dataclass(frozen=True)
class FindOptions:
    """What `find` does.

    Every field but ``read`` and ``progress`` is a ``find`` flag of the same
    name (``--num-perm`` for ``num_perm``) and a keyword of
    ``copytrace.find``; its default, help text and constraint are in its
    definition below (the fingerprint parameters': in
    :class:`~copytrace.config.FingerprintConfig`).  ``read``: how inputs are
    read (:class:`~copytrace.stages.read.ReadOptions`); ``progress``:
    progress bars.  With ``work_dir`` and ``resume`` a run continues there
    from its last finished stage; ``memory_limit``: when the signatures and
    band keys would not fit in an eighth of it, band keys go to a spool in the
    work directory and DuckDB forms the buckets out of core (same pairs).
    """

    threshold: float = inherit(FingerprintConfig, "threshold")
    ngram: int = inherit(FingerprintConfig, "ngram")
    num_perm: int = inherit(FingerprintConfig, "num_perm")
    seed: int = inherit(FingerprintConfig, "seed")
    bands: int | None = param(None, "LSH bands (default: chosen from --threshold).", IntRange(1, 4096, none_ok=True))
    rows: int | None = param(None, "LSH rows per band (with --bands).", IntRange(1, 4096, none_ok=True))
    containment: bool = param(True, "Also find short copies inside long documents.")
    sample_rate: int = inherit(FingerprintConfig, "sample_rate")
    max_df: int = inherit(FingerprintConfig, "max_df")
    max_bucket: int = param(64, "LSH buckets larger than this link their members to one member only.", IntRange(2))
    reuse_min_shingles: int = param(25, "Also align documents sharing a reused passage: 3 % of the shorter one's distinct "
                                        "shingles, at least 8 and at most this many, "
                                        "however small a share of either: the evidence of reuse clusters "
                                        "(reuse.parquet); 0 = off.", IntRange(0))
    align: bool = param(True, "Align every candidate pair, so that reworded copies are judged on the aligned text; "
                              "--no-align: the fast path, pairs decided on exact shingle containment alone.")
    dedup_passages: bool = param(False, "Also write deduplicated-passages.jsonl: every document with each reused "
                                        "passage cut from all but its original occurrence (for training corpora).",
                                 negatable=False)
    boilerplate: bool = param(True, "Detect passages the corpus repeats (appeals, newsletter boxes, bylines) and "
                                    "leave them out of similarity and alignment.")
    boilerplate_min_docs: int = param(5, "Documents a segment must recur in to count as boilerplate.", IntRange(2))
    report: bool = param(True, "Write report.html.")
    workers: int = param(0, "Threads/processes; 0 = all cores.", IntRange(0, 4096))
    memory_limit: str | None = param(None, "Memory for the LSH stage, e.g. 4GB (default: half of RAM); beyond an "
                                           "eighth of it, band buckets are formed out of core by DuckDB in --work-dir.")
    read: ReadOptions = field(default_factory=ReadOptions)  # flags: cli_common.reader_options
    work_dir: str | None = param(None, "Where to keep intermediate files (default: a temporary directory).",
                                 path="dir")
    resume: bool = param(False, "Continue an interrupted run in --work-dir from its last finished stage.",
                         negatable=False)
    progress: bool = param(True, "Progress bars.", cli=False)  # the CLI's -q/--quiet
    # pair filters and --against (checked by copytrace.stages.pairfilter.check_options)
    pairs_within: float | None = param(None, "Keep only pairs whose dates are at most this many days apart "
                                             "(needs --date-field; undated documents pair with none).")
    pairs: str = param("all", "Keep only pairs of different sources (across-sources), of the same source "
                              "(within-sources) or all (needs --source-field).",
                       OneOf(("all", "across-sources", "within-sources")))
    against: tuple[str, ...] = param((), "Reference inputs (files, directories or an index .db): report only "
                                         "pairs with one side in INPUTS and one here; deduplicated.jsonl holds "
                                         "the INPUTS documents that copy none of them.", cli=False)  # cli.py: multiple

    def __post_init__(self) -> None:
        validate(self)
        if (self.bands is None) != (self.rows is None):
            raise OptionError("bands and rows go together", param="bands", cli="--bands and --rows go together")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise OptionError(
                f"bands × rows must be at most num_perm ({self.num_perm}), got {self.bands}×{self.rows}",
                param="bands",
                cli=f"--bands × --rows must be at most --num-perm ({self.num_perm}), got {self.bands}×{self.rows}",
            )
        if self.memory_limit is not None:
            from copytrace.stages.buckets import parse_memory_limit

            parse_memory_limit(self.memory_limit)  # raises a clear OptionError
        from copytrace.stages.pairfilter import check_options

        check_options(self)
        if self.resume and not self.work_dir:
            raise OptionError("resume needs work_dir (the directory of the interrupted run)", param="resume",
                              cli="--resume needs --work-dir (the directory of the interrupted run)")

    @property
    def fingerprint(self) -> FingerprintConfig:
        """The fingerprint parameters (what an index would store)."""
        return FingerprintConfig.of(self)

    @property
    def memory_limit_bytes(self) -> int:
        from copytrace.stages.buckets import default_memory_limit, parse_memory_limit

        return parse_memory_limit(self.memory_limit) if self.memory_limit else default_memory_limit()

    @property
    def n_workers(self) -> int:
        return self.workers or (os.cpu_count() or 1)

    def parameters(self) -> dict[str, Any]:
        """The parameters that determine the output (for summary.json)."""
        d = asdict(self)
        d.pop("progress")
        d.pop("work_dir")
        d.pop("resume")
        d.pop("workers")
        d.pop("memory_limit")
        d.pop("report")
        d["read"] = {k: v for k, v in d["read"].items() if k != "extract_workers"}
        return d
