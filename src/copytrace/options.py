"""Options of `copytrace find`, shared by the CLI, the Python API and every engine."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from copytrace.errors import OptionError
from copytrace.stages.read import ReadOptions

__all__ = ["FindOptions"]


@dataclass(frozen=True)
class FindOptions:
    """What `find` does; every field has a CLI flag of the same name.

    threshold    keep pairs whose Jaccard or containment (either way) of word
                 n-gram shingles is at least this (0..1]
    ngram        words per shingle
    num_perm     MinHash permutations
    seed         seed of the MinHash permutations (same seed → same output)
    bands, rows  LSH banding; by default chosen from the threshold
    containment  also look for short copies inside long documents
    sample_rate  1-in-N shingle sample used for containment candidates
    max_df       sampled shingles in more documents than this are not evidence
    max_bucket   LSH buckets larger than this link members to one member only
    reuse_min_shingles  also pair documents sharing at least this many distinct
                 shingles (a passage of about as many words), however small a
                 share of either: the evidence of reuse clusters (a story on
                 a page of many); 0: off
    align        align passages of every verified pair
    dedup_passages  also write deduplicated-passages.jsonl: every document,
                 with each reused passage cut from all but its original
                 occurrence (cuts on sentence boundaries; removed spans listed)
    boilerplate  detect passages that recur across the corpus (appeals,
                 newsletter boxes, bylines) and leave them out of similarity
                 and alignment; ``boilerplate_min_docs``: documents a segment
                 must appear in
    report       write report.html with the output files
    workers      threads/processes (0: all cores)
    memory_limit memory for the LSH stage, e.g. "4GB" (default: half of RAM):
                 when the signatures and band keys would not fit in an eighth
                 of it, band keys go to a spool in the work directory and
                 DuckDB forms the buckets out of core (same pairs)
    work_dir     where intermediate files live (default: a temporary directory,
                 removed at the end); with ``resume`` a run continues there
                 from its last finished stage
    """

    threshold: float = 0.5
    ngram: int = 5
    num_perm: int = 128
    seed: int = 42
    bands: int | None = None
    rows: int | None = None
    containment: bool = True
    sample_rate: int = 8
    max_df: int = 64
    max_bucket: int = 64
    reuse_min_shingles: int = 25
    align: bool = True
    dedup_passages: bool = False
    boilerplate: bool = True
    boilerplate_min_docs: int = 5
    report: bool = True
    workers: int = 0
    memory_limit: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    work_dir: str | None = None
    resume: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise OptionError(f"--threshold must be in (0, 1], got {self.threshold}")
        if self.ngram < 1:
            raise OptionError(f"--ngram must be at least 1, got {self.ngram}")
        if not 1 <= self.num_perm <= 4096:
            raise OptionError(f"--num-perm must be in 1..4096, got {self.num_perm}")
        if (self.bands is None) != (self.rows is None):
            raise OptionError("--bands and --rows go together")
        if self.bands is not None and self.rows is not None:
            if self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm:
                raise OptionError(
                    f"--bands × --rows must be at most --num-perm ({self.num_perm}), got {self.bands}×{self.rows}"
                )
        if self.sample_rate < 1:
            raise OptionError("--sample-rate must be at least 1")
        if self.max_df < 2:
            raise OptionError("--max-df must be at least 2")
        if self.boilerplate_min_docs < 2:
            raise OptionError("--boilerplate-min-docs must be at least 2")
        if self.reuse_min_shingles < 0:
            raise OptionError("--reuse-min-shingles must be 0 (off) or more")
        if self.max_bucket < 2:
            raise OptionError("--max-bucket must be at least 2")
        if self.workers < 0:
            raise OptionError("--workers must be 0 (all cores) or more")
        if self.memory_limit is not None:
            from copytrace.stages.buckets import parse_memory_limit

            parse_memory_limit(self.memory_limit)  # raises a clear OptionError
        if self.resume and not self.work_dir:
            raise OptionError("--resume needs --work-dir (the directory of the interrupted run)")

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
        d["read"] = {k: v for k, v in d["read"].items()}
        return d
