"""The records of ``deduplicated.jsonl`` and ``deduplicated-passages.jsonl``,
one function per record, so that every engine writes the same lines: the
local engine streams them from its text store, the Spark engine makes them on
the executors where the texts are.

Data contract
-------------
``row``: a mapping with ``doc_id``, ``text``, ``source``, ``date`` (str or
None) and, for web pages, ``url`` and ``title``.  A record is a dict whose
key order is the line's key order; :func:`copytrace.stages.write.json_line`
turns it into the line.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["dedup_record", "dedup_passage_record"]


def dedup_record(row: Mapping[str, Any], cluster_id: str, n_copies: int) -> dict[str, Any]:
    """A representative's (or a singleton's) line of deduplicated.jsonl."""
    rec: dict[str, Any] = {"id": row["doc_id"], "text": row["text"]}
    if row["source"] is not None:
        rec["source"] = row["source"]
    if row["date"] is not None:
        rec["date"] = row["date"]
    for k in ("url", "title"):  # web pages
        if row.get(k) is not None:
            rec[k] = row[k]
    rec["cluster_id"] = cluster_id
    rec["n_copies"] = int(n_copies)
    return rec


def dedup_passage_record(row: Mapping[str, Any], spans: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """A document's line of deduplicated-passages.jsonl: each reused passage in ``spans`` (its
    occurrences that are not the original, ``reuse.removed_spans``) cut out, snapped to sentences."""
    from copytrace.stages.reuse import cut_text, snap_to_sentences

    text = row["text"]
    cuts = snap_to_sentences(text, list(spans))
    rec: dict[str, Any] = {"id": row["doc_id"], "text": cut_text(text, cuts) if cuts else text}
    if row["source"] is not None:
        rec["source"] = row["source"]
    if row["date"] is not None:
        rec["date"] = row["date"]
    rec["removed"] = [[s, e] for s, e in cuts]
    return rec
