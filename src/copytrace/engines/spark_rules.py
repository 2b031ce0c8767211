"""Spark column twins of the rules that the Spark engine evaluates inside Spark.

Each function here is the Spark form of one pure numpy rule, named after it,
and must agree with it on every input (``tests/engines/test_rules_once.py``
feeds the same small arrays to both):

* :func:`containment_passes` — ``stages.candidates.containment_passes``;
* :func:`encode_sources` — ``stages.boilerplate.encode_sources`` (the code
  book itself comes from ``boilerplate.source_book``, so only the join is
  Spark's);
* :func:`exact_groups` — ``stages.candidates.exact_groups``.

Why twins rather than UDFs: the rules run over every candidate pair or every
document, where a Python UDF would cost a round trip per batch; the columns
here are planned and run by Spark itself.  The constants and the formula's
parameters (``MIN_SHARED``, ``candidate_fraction``, ``passage_samples``) are
taken from the numpy module, so that only the expression is written twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from copytrace.stages import candidates as cand
from copytrace.stages.boilerplate import source_book

__all__ = ["containment_passes", "encode_sources", "exact_groups"]


def containment_passes(shared: Any, smaller: Any, threshold: float, min_shared: int = cand.MIN_SHARED,
                       passage_samples: int = 0, shared_shingles: Any = None) -> Any:
    """The Spark column of ``candidates.containment_passes`` over the columns
    (or column names) ``shared``, ``smaller`` and ``shared_shingles``."""
    from pyspark.sql import functions as F

    shared_c = F.col(shared) if isinstance(shared, str) else shared
    smaller_c = F.col(smaller) if isinstance(smaller, str) else smaller
    need = F.when(smaller_c < 2 * min_shared, F.lit(1)).otherwise(F.lit(min_shared))
    ok = (shared_c >= need) & (shared_c >= F.ceil(F.lit(cand.candidate_fraction(threshold)) * smaller_c))
    if passage_samples > 0:
        if shared_shingles is None:
            raise ValueError("passage_samples needs shared_shingles: the passage channel counts shingles only")
        sh_c = F.col(shared_shingles) if isinstance(shared_shingles, str) else shared_shingles
        ok = ok | (sh_c >= F.lit(passage_samples))
    return ok


def encode_sources(spark: Any, docs: Any, idx: str = "idx", source: str = "source") -> tuple[Any, list[str], np.ndarray]:
    """``boilerplate.encode_sources`` on a DataFrame of documents: a DataFrame
    (``idx``, ``code`` int: -1 unknown), the names by code and the documents
    of each source."""
    from pyspark.sql import functions as F

    rows = docs.groupBy(source).count().collect()
    names, sizes = source_book((r[source], int(r["count"])) for r in rows)
    codes_df = spark.createDataFrame([(s, i) for i, s in enumerate(names)] or [("", -1)], "source string, code int")
    doc_code = docs.select(idx, F.col(source).alias("source")).join(F.broadcast(codes_df), "source", "left").select(
        idx, F.coalesce("code", F.lit(-1)).alias("code"))
    return doc_code, names, sizes


def exact_groups(fp: Any) -> tuple[Any, Any]:
    """``candidates.exact_groups`` on a DataFrame (``idx``, ``hash_a``,
    ``hash_b``, ``n_tokens``): the pairs (``a`` head, ``b`` duplicate) and the
    heads (``idx``: the smallest index of each content hash, and every unique
    document); empty documents are never grouped and are no heads."""
    from pyspark.sql import functions as F

    nonempty = fp.where("n_tokens > 0").select("idx", "hash_a", "hash_b")
    heads = nonempty.groupBy("hash_a", "hash_b").agg(F.min("idx").alias("head"))
    grouped = nonempty.join(heads, ["hash_a", "hash_b"])
    pairs = grouped.where("idx != head").select(F.col("head").alias("a"), F.col("idx").alias("b"))
    head_ids = grouped.where("idx = head").select("idx")
    return pairs, head_ids
