"""The query side of the index: judging candidate documents against a query
text, and the kernels' threading around it.

Contract: :func:`verify_rows` is the CPU-bound end of a query, a pure function
of the query text and the candidate rows (id, text, source, date) — the rule
of ``find`` and ``compare`` (``stages.rule``) — so the service can run it in
worker processes (``service.workers``) without the index.  Finding the
candidate rows needs the stored tables and stays in ``index.store``.
:func:`containment_passes_reference` is the reference (``memory=False``)
path's form of the containment filter, kept as a test oracle.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from copytrace.config import FingerprintConfig, IntRange, check_value
from copytrace.errors import OptionError
from copytrace.stages import candidates as cand
from copytrace.stages import rule
from copytrace.stages.align import Passage, align, prepare
from copytrace.stages.fingerprint import FingerprintParams, fingerprint_batch, shingle_sets_batch
from copytrace.stages.normalize import tokenize_batch
from copytrace.stages.verify import score_pairs

__all__ = ["Match", "verify_rows", "check_query", "single_threaded_kernels", "fingerprint_texts", "shingle_sets",
           "containment_passes_reference", "MIN_SHARED"]

MIN_SHARED = cand.MIN_SHARED


# numba kernels run under this lock when its threading layer is not thread-safe (workqueue)
_compute_lock = threading.Lock()
_needs_compute_lock: bool | None = None


def fingerprint_texts(texts: list[str], params: FingerprintParams, sample_rate: int) -> tuple[Any, Any]:
    """tokenize + fingerprint; parallel numba kernels are serialized only when
    the threading layer is not thread-safe (workqueue)."""
    global _needs_compute_lock
    if _needs_compute_lock is None or _needs_compute_lock:
        with _compute_lock:
            toks = tokenize_batch(texts)
            fps = fingerprint_batch(toks, params, sample_rate)
            if _needs_compute_lock is None:
                import numba

                _needs_compute_lock = numba.threading_layer() == "workqueue"
            return toks, fps
    toks = tokenize_batch(texts)
    return toks, fingerprint_batch(toks, params, sample_rate)


def shingle_sets(toks: Any, ngram: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if _needs_compute_lock is None or _needs_compute_lock:
        with _compute_lock:
            return shingle_sets_batch(toks, ngram)
    return shingle_sets_batch(toks, ngram)


@contextlib.contextmanager
def single_threaded_kernels() -> Iterator[None]:
    """A query is one document: numba's parallel kernels only add scheduling there, and on
    busy CPUs a parallel region waits for its slowest (descheduled) thread.  The thread
    count is per calling thread in numba, so this changes nothing for other threads."""
    import numba

    n = numba.get_num_threads()
    if n == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(n)


@dataclass
class Match:
    """One indexed document that the query text copies or is copied in.

    In ``passages`` side *a* is the query text and side *b* the document."""

    doc_id: str
    similarity: float
    jaccard: float
    containment_query_in_doc: float
    containment_doc_in_query: float
    passages: list[Passage]
    source: str | None = None
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "similarity": self.similarity,
            "jaccard": self.jaccard,
            "containment_query_in_doc": self.containment_query_in_doc,
            "containment_doc_in_query": self.containment_doc_in_query,
            "source": self.source,
            "date": self.date,
            "passages": [
                {"a_start": p.a_start, "a_end": p.a_end, "b_start": p.b_start, "b_end": p.b_end,
                 "kind": p.kind, "score": float(p.score)}
                for p in self.passages
            ],
        }


def containment_passes_reference(shared: int, smaller: int, threshold: float) -> bool:
    """``candidates.containment_passes`` for one pair, in plain Python: the
    reference path's form (``memory=False``), kept as the test oracle of the
    numpy rule and its Spark twin (``tests/engines/test_rules_once.py``), not
    as a second implementation to maintain."""
    need = 1 if smaller < 2 * MIN_SHARED else MIN_SHARED
    return shared >= need and shared >= math.ceil(cand.candidate_fraction(threshold) * smaller)


def check_query(text: Any, threshold: float | None, limit: int | None) -> None:
    if not isinstance(text, str):
        raise OptionError("query text must be a string")
    if threshold is not None:
        check_value(FingerprintConfig, "threshold", threshold)  # the rule of `find` and `index create`
    IntRange(1, none_ok=True)("limit", limit)


def verify_rows(text: str, rows: Sequence[tuple[str, str, str | None, str | None]], threshold: float, ngram: int,
                limit: int | None, with_passages: bool) -> list[Match]:
    """Judge candidate documents ``rows`` (id, text, source, date; each with tokens) against the
    query ``text`` by the rule of ``find`` and ``compare`` (``stages.rule``: exact shingle
    measures, and every candidate aligned — the passages decide even when ``with_passages`` is
    off, which only leaves them out of the answer): the CPU-bound end of a query, a pure function."""
    if not rows:
        return []
    all_toks = tokenize_batch([text] + [r[1] for r in rows])
    values, starts, sizes = shingle_sets(all_toks, ngram)
    pairs = np.stack([np.zeros(len(rows), np.int64), np.arange(1, len(rows) + 1, dtype=np.int64)], axis=1)
    v = score_pairs(pairs, values, starts, sizes)
    v = v.take(rule.worth_aligning(v, all_toks, threshold, ngram))  # the others are no copies, by the rule
    out: list[Match] = []
    if not len(v):
        return out
    query_tokens = all_toks.doc(0)
    query = prepare(text, tokens=query_tokens)
    shared = v.shared_or_enough()  # score_pairs always counts them
    for k in range(len(v)):
        j = int(v.b[k])
        row = rows[j - 1]
        doc_tokens = all_toks.doc(j)
        al = align(query, row[1], tokens_b=doc_tokens)
        aligned, agreement = rule.aligned_evidence(text, query_tokens, row[1], doc_tokens, al)
        cq, cd = float(v.containment_a_in_b[k]), float(v.containment_b_in_a[k])
        d = rule.decide(float(v.jaccard[k]), cq, cd, int(shared[k]), threshold, ngram, aligned, agreement,
                        word_cont=rule.word_containment(query_tokens, doc_tokens))
        if not d.is_copy:
            continue
        passages: list[Passage] = list(al.passages) if with_passages else []
        out.append(Match(row[0], round(float(d.similarity), 6), round(float(v.jaccard[k]), 6), round(cq, 6),
                         round(cd, 6), passages, row[2], row[3]))
    out.sort(key=lambda m: (-m.similarity, m.doc_id))
    return out if limit is None else out[:limit]
