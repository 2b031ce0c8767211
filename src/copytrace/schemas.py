"""Arrow schemas of the output files — the contract with users and later stages.

documents.parquet  one row per document read (sorted by doc_id)
    doc_id             string   the document's id (file path relative to the input
                                directory for .txt inputs, the id field otherwise)
    length             int64    characters of the text as read (code points)
    cluster_id         string   the smallest doc_id of its cluster (its own id
                                for a document with no copy)
    is_representative  bool     the cluster's representative: its longest
                                document, ties broken by the smallest doc_id
    n_copies           int64    documents in its cluster, itself included
                                (1 = no copy found)
    cluster_original   string   the cluster's likely original: the document its
                                pairs most often and most confidently judge to
                                be the source (see pairs.original); ties go to
                                the representative

pairs.parquet  one row per verified pair of copies (sorted by doc_a, doc_b)
    doc_a, doc_b         string   doc_a < doc_b
    jaccard              float64  Jaccard similarity of their word n-gram shingle sets
    containment_a_in_b   float64  share of doc_a's shingles found in doc_b
    containment_b_in_a   float64  share of doc_b's shingles found in doc_a
    similarity           float64  share of the more-contained document found in
                                  the other: the largest of the two containments
                                  and, when passages are aligned, of the two
                                  aligned coverages (share of a document's words
                                  inside aligned passages)

passages.parquet  one row per aligned passage (sorted by doc_a, doc_b, a_start, b_start)
    doc_a, doc_b       string   as in pairs.parquet
    a_start, a_end     int64    character span in doc_a (end exclusive), into the text as read
    b_start, b_end     int64    character span in doc_b
    kind               string   "verbatim" (same words) or "reworded"
    score              float64  similarity of the two spans, 0..1

reuse.parquet  one row per occurrence of a reused passage (sorted by reuse_id's
               cluster order, doc_id, start); see copytrace.stages.reuse
    reuse_id              string   the cluster: "<doc_id>:<start>" of its smallest
                                   (doc_id, start) occurrence ("#2", "#3" … added
                                   when clusters overlapping there share it)
    doc_id                string   the document holding this occurrence
    start, end            int64    character span (end exclusive), into the text as read
    n_docs                int64    documents in the cluster
    is_original           bool     the occurrence judged to be the source (one per cluster)
    direction_confidence  float64  how confidently its alignments judge this
                                   occurrence in its role (source or copy), 0..1
    kind                  string   "verbatim" (found word for word in another
                                   occurrence) or "reworded" (every match reworded)
    date, source          string   this document's date and source (null when not given)
    first_date            string   the cluster's earliest date (null when no date given)
    sources               list<string>  the cluster's distinct sources, sorted
"""

from __future__ import annotations

import pyarrow as pa

DOCUMENTS = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("length", pa.int64(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("is_representative", pa.bool_(), nullable=False),
        pa.field("n_copies", pa.int64(), nullable=False),
        pa.field("cluster_original", pa.string(), nullable=False),
    ]
)

# a run with --against: DOCUMENTS plus ``set`` (string, "new" or "reference"), which side the
# document came from
DOCUMENTS_AGAINST = DOCUMENTS.append(pa.field("set", pa.string(), nullable=False))


def documents_schema(table: pa.Table) -> pa.Schema:
    """DOCUMENTS, or DOCUMENTS_AGAINST for a table with a ``set`` column (``--against``)."""
    return DOCUMENTS_AGAINST if "set" in table.column_names else DOCUMENTS


PAIRS = pa.schema(
    [
        pa.field("doc_a", pa.string(), nullable=False),
        pa.field("doc_b", pa.string(), nullable=False),
        pa.field("jaccard", pa.float64(), nullable=False),
        pa.field("containment_a_in_b", pa.float64(), nullable=False),
        pa.field("containment_b_in_a", pa.float64(), nullable=False),
        pa.field("similarity", pa.float64(), nullable=False),
        pa.field("original", pa.string(), nullable=False),
        pa.field("direction_confidence", pa.float64(), nullable=False),
        pa.field("direction_reasons", pa.string(), nullable=False),
    ]
)

BOILERPLATE = pa.schema(
    [
        pa.field("text", pa.string(), nullable=False),
        pa.field("doc_frequency", pa.int64(), nullable=False),
        pa.field("sources", pa.list_(pa.string()), nullable=False),
    ]
)

PASSAGES = pa.schema(
    [
        pa.field("doc_a", pa.string(), nullable=False),
        pa.field("doc_b", pa.string(), nullable=False),
        pa.field("a_start", pa.int64(), nullable=False),
        pa.field("a_end", pa.int64(), nullable=False),
        pa.field("b_start", pa.int64(), nullable=False),
        pa.field("b_end", pa.int64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
    ]
)

REUSE = pa.schema(
    [
        pa.field("reuse_id", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("start", pa.int64(), nullable=False),
        pa.field("end", pa.int64(), nullable=False),
        pa.field("n_docs", pa.int64(), nullable=False),
        pa.field("is_original", pa.bool_(), nullable=False),
        pa.field("direction_confidence", pa.float64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("date", pa.string()),
        pa.field("source", pa.string()),
        pa.field("first_date", pa.string()),
        pa.field("sources", pa.list_(pa.string()), nullable=False),
    ]
)

# The text store the engine keeps in its work directory (Arrow IPC, memory-mapped).
TEXTS = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("date", pa.string()),
        pa.field("url", pa.string()),  # web pages only (null otherwise)
        pa.field("title", pa.string()),
    ]
)
