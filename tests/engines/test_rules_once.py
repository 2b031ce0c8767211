"""Each rule written once: the same small arrays through every version of a rule
(the numpy function, its Spark column twin in ``engines.spark_rules``, the
index's reference path kept as an oracle) give the same answer."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from copytrace.engines.common import align_arrays
from copytrace.index.query import containment_passes_reference
from copytrace.stages import candidates as cand
from copytrace.stages.align import Alignment
from copytrace.stages.boilerplate import encode_sources, source_book
from copytrace.stages.direction import REASONS_SEPARATOR, Direction, join_reasons, split_reasons

# shared sampled shingles × smaller sample sizes, around every edge of the rule
SHARED = np.array([0, 1, 1, 2, 2, 3, 3, 4, 5, 9, 10, 11, 30, 1, 2, 6, 6, 5, 5], dtype=np.int64)
SMALLER = np.array([0, 1, 3, 3, 4, 4, 30, 40, 50, 90, 100, 101, 300, 2, 19, 60, 100, 200, 300], dtype=np.int64)
SOURCES = ["Site B", None, "Site A", "Site B", "site a", None, "Ünïcode", "Site A", "Site B"]
# content hashes: docs 0, 3, 5 identical, 1 and 6 identical but 6 empty, 2 and 4 unique, 7 = 3
HASHES = np.array([[7, 1], [8, 2], [9, 3], [7, 1], [10, 4], [7, 1], [8, 2], [7, 1]], dtype=np.uint64)
NTOK = np.array([5, 4, 3, 5, 2, 5, 0, 5], dtype=np.int32)


@pytest.mark.parametrize("threshold", [0.1, 0.5, 0.9])
def test_containment_filter_numpy_reference_and_spark_agree(spark, threshold):
    from copytrace.engines import spark_rules

    numpy_ok = cand.containment_passes(SHARED, SMALLER, threshold, cand.MIN_SHARED)
    reference = np.array([containment_passes_reference(int(s), int(m), threshold)
                          for s, m in zip(SHARED, SMALLER, strict=True)])
    df = spark.createDataFrame([(int(s), int(m)) for s, m in zip(SHARED, SMALLER, strict=True)],
                               "shared long, smaller long")
    rows = df.select(spark_rules.containment_passes("shared", "smaller", threshold).alias("ok")).collect()
    spark_ok = np.array([r.ok for r in rows])
    assert numpy_ok.tolist() == reference.tolist() == spark_ok.tolist()
    assert numpy_ok.any() and not numpy_ok.all()  # the arrays cross the rule's edges
    # with the passage arm (--reuse-min-shingles), on the shared sampled shingles only: numpy and Spark
    p = 3
    shared = np.concatenate([SHARED, [5, 5, 30, 2]])
    smaller = np.concatenate([SMALLER, [300, 1000, 1000, 10000]])
    shingles = np.concatenate([SHARED // 2, [5, 2, 4, 0]])  # the rest of the shared items: words
    numpy_f = cand.containment_passes(shared, smaller, threshold, cand.MIN_SHARED)
    numpy_p = cand.containment_passes(shared, smaller, threshold, cand.MIN_SHARED, p, shingles)
    df_s = spark.createDataFrame([(int(s), int(m), int(h)) for s, m, h in zip(shared, smaller, shingles, strict=True)],
                                 "shared long, smaller long, shingles long")
    rows = df_s.select(spark_rules.containment_passes("shared", "smaller", threshold, passage_samples=p,
                                                      shared_shingles="shingles").alias("ok")).collect()
    assert numpy_p.tolist() == [r.ok for r in rows]
    assert (numpy_p & ~numpy_f).any()  # a shared passage in a long document
    assert ((shared >= p) & ~numpy_p).any()  # shared words alone are no passage
    with pytest.raises(ValueError, match="shingles only"):
        cand.containment_passes(SHARED, SMALLER, threshold, cand.MIN_SHARED, p)


def test_source_codes_numpy_arrow_and_spark_agree(spark):
    from copytrace.engines import spark_rules

    codes, names, sizes = encode_sources(SOURCES)
    codes_c, names_c, sizes_c = encode_sources(pa.chunked_array([SOURCES[:4], SOURCES[4:]], pa.string()))
    docs = spark.createDataFrame([(i, s) for i, s in enumerate(SOURCES)], "idx long, source string")
    doc_code, names_s, sizes_s = spark_rules.encode_sources(spark, docs)
    codes_s = np.array([r.code for r in doc_code.orderBy("idx").collect()], dtype=np.int32)
    assert names == names_c == names_s == sorted({s for s in SOURCES if s is not None})
    assert codes.tolist() == codes_c.tolist() == codes_s.tolist()
    assert sizes.tolist() == sizes_c.tolist() == sizes_s.tolist()
    # the book itself: unknown sources have no code, counts add up
    for i, s in enumerate(SOURCES):
        assert codes[i] == (-1 if s is None else names.index(s))
    assert source_book([("b", 2), (None, 5), ("a", 1), ("b", 1)])[0] == ["a", "b"]
    assert source_book([("b", 2), (None, 5), ("a", 1), ("b", 1)])[1].tolist() == [1, 3]


def test_exact_duplicate_pairs_numpy_and_spark_agree(spark):
    from copytrace.engines import spark_rules

    pairs, is_head = cand.exact_groups(HASHES, NTOK > 0)
    fp = spark.createDataFrame(
        [(i, int(h[0]), int(h[1]), int(t)) for i, (h, t) in enumerate(zip(HASHES, NTOK, strict=True))],
        "idx long, hash_a long, hash_b long, n_tokens int")
    pairs_df, heads_df = spark_rules.exact_groups(fp)
    spark_pairs = sorted((r.a, r.b) for r in pairs_df.collect())
    spark_heads = sorted(r.idx for r in heads_df.collect())
    assert [tuple(p) for p in pairs.tolist()] == spark_pairs == [(0, 3), (0, 5), (0, 7)]
    assert np.flatnonzero(is_head).tolist() == spark_heads == [0, 1, 2, 4]  # 6 is empty: no head


def test_direction_reasons_have_one_format():
    reasons = ["a is dated earlier (1916-06-01 vs 1916-06-02)", "b has more material inserted; oddly", ""]
    joined = join_reasons(reasons)
    assert joined == REASONS_SEPARATOR.join(reasons)
    assert join_reasons(split_reasons(joined)) == joined  # the Spark engine's round trip
    assert split_reasons("") == []
    # the align arrays (both engines) carry the joined form
    al = Alignment([], [], [], 0.0, 0.0)
    pas = align_arrays(2, [(1, (al, Direction("a", 0.5, reasons), 0.0))])
    assert pas["reasons"].tolist() == ["", joined]


def test_lsh_parameters_are_chosen_in_one_place():
    assert cand.lsh_params(0.5, 128, 16, 8) == cand.LshParams(16, 8)
    assert cand.lsh_params(0.5, 128) == cand.optimal_params(0.5, 128)
    assert cand.lsh_params(0.5, 128, 16, None) == cand.optimal_params(0.5, 128)  # both or neither
    p = cand.lsh_params(0.8, 64)
    assert p.bands * p.rows <= 64 and math.isclose((1 / p.bands) ** (1 / p.rows), 0.8, abs_tol=0.2)
