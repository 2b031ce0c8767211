"""The records of ``deduplicated.jsonl`` and ``deduplicated-passages.jsonl``,
one function per record, so that every engine writes the same lines: the
local engine streams them from its text store, the Spark engine makes them on
the executors where the texts are.

Data contract
-------------
``dedup_lines``: Arrow rows -> the bytes of their lines.  ``dedup_passage_record``:
a mapping with ``doc_id``, ``text``, ``source``, ``date`` (str or None) -> a
dict whose key order is the line's key order;
:func:`copytrace.stages.write.json_line` turns it into the line.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["dedup_lines", "dedup_passage_record"]


def dedup_lines(rows: Any, cluster_id: Any, n_copies: Any) -> bytes:
    """The lines of deduplicated.jsonl for ``rows`` (an Arrow table or record
    batch with ``doc_id``, ``text`` and any of ``source``, ``date``, ``url``,
    ``title``), one per row, built from the Arrow columns without a Python
    object per row (``write.jsonl_lines``): ``id``, ``text``, those optional
    fields that are set, ``cluster_id`` and ``n_copies`` (Arrow arrays of the
    rows' length).  Each line ends with a newline; JSON escapes a newline
    inside a value, so the lines split on it."""
    from copytrace.stages.write import jsonl_lines

    names = rows.schema.names
    return jsonl_lines([
        ("id", rows.column("doc_id"), False),
        ("text", rows.column("text"), False),
        *((k, rows.column(k), False) for k in ("source", "date", "url", "title") if k in names),
        ("cluster_id", cluster_id, True),
        ("n_copies", n_copies, True),
    ])


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
