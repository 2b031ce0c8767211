"""Evaluation against external yardsticks.

``copytrace.evaluation.pan`` — the PAN text-alignment corpora (PAN 2013
layout) and the PAN character-level measures (precision, recall,
granularity, plagdet).
"""

from __future__ import annotations

from .pan import (
    CorpusResult,
    FolderResult,
    PanPair,
    Scores,
    Span4,
    evaluate,
    format_table,
    load_corpus,
    read_detections,
    resolve_align,
    run_corpus,
    select_pairs,
    summary_line,
    to_span4,
    write_detections,
)

__all__ = [
    "CorpusResult",
    "FolderResult",
    "PanPair",
    "Scores",
    "Span4",
    "evaluate",
    "format_table",
    "load_corpus",
    "read_detections",
    "resolve_align",
    "run_corpus",
    "select_pairs",
    "summary_line",
    "to_span4",
    "write_detections",
]
