"""candidates, verify and cluster stages on small hand-made inputs."""

import numpy as np

from copytrace.stages import candidates as cand
from copytrace.stages.cluster import cluster
from copytrace.stages.fingerprint import FingerprintParams, fingerprint_batch, shingle_sets_batch
from copytrace.stages.normalize import tokenize_batch
from copytrace.stages.verify import set_stats, verify_pairs


def _words(n, seed):
    rng = np.random.default_rng(seed)
    return [f"w{i}" for i in rng.integers(0, 20000, n)]


def test_optimal_params_match_datasketch_choices():
    # datasketch's _optimal_param(0.5, 128, 0.5, 0.5) is (25, 5); (0.8, 128) is (9, 13)
    assert cand.optimal_params(0.5, 128) == cand.LshParams(25, 5)
    assert cand.optimal_params(0.8, 128) == cand.LshParams(9, 13)
    p = cand.optimal_params(0.3, 64)
    assert p.bands * p.rows <= 64


def test_exact_groups_pair_duplicates_with_their_head():
    h = np.array([[1, 1], [2, 2], [1, 1], [3, 3], [1, 1], [2, 2]], dtype=np.uint64)
    nonempty = np.array([True, True, True, True, True, True])
    pairs, is_head = cand.exact_groups(h, nonempty)
    assert pairs.tolist() == [[0, 2], [0, 4], [1, 5]]
    assert is_head.tolist() == [True, True, False, True, False, False]


def test_lsh_finds_near_duplicates_not_strangers():
    base = _words(400, 0)
    near = base.copy()
    near[100:110] = _words(10, 9)  # small edit
    docs = [" ".join(base), " ".join(near), " ".join(_words(400, 1)), " ".join(_words(400, 2))]
    fp = fingerprint_batch(tokenize_batch(docs), FingerprintParams())
    pairs = cand.lsh_pairs(fp.signatures, cand.optimal_params(0.5, 128), np.ones(4, bool))
    assert pairs.tolist() == [[0, 1]]


def test_big_bucket_becomes_a_star():
    keys = np.zeros(10, dtype=np.uint64)
    pairs = cand.pairs_from_keys(keys, np.arange(10, dtype=np.int64), max_bucket=4)
    assert sorted(map(tuple, pairs.tolist())) == [(0, i) for i in range(1, 10)]


def test_containment_candidates_find_short_copy_in_long_doc():
    long_doc = _words(3000, 5)
    short = long_doc[1000:1400]
    docs = [" ".join(long_doc), " ".join(short), " ".join(_words(400, 6))]
    fp = fingerprint_batch(tokenize_batch(docs), FingerprintParams(), sample_rate=8)
    lsh = cand.lsh_pairs(fp.signatures, cand.optimal_params(0.5, 128), np.ones(3, bool))
    assert lsh.shape[0] == 0  # Jaccard is ~0.13: LSH alone misses it
    cp = cand.containment_pairs(fp.sample_hashes, fp.sample_docs, 3, np.ones(3, bool), 0.5)
    assert cp.tolist() == [[0, 1]]


def test_merge_pairs_orders_and_dedups():
    a = np.array([[3, 1], [0, 2]])
    b = np.array([[1, 3], [2, 2]])
    assert cand.merge_pairs(a, b).tolist() == [[0, 2], [1, 3]]


def test_verify_exact_measures_and_threshold():
    a = _words(200, 1)
    b = a[:100] + _words(100, 2)
    c = _words(200, 3)
    vals, starts, sizes = shingle_sets_batch(tokenize_batch([" ".join(x) for x in (a, b, c)]), 5)
    v = verify_pairs(np.array([[0, 1], [0, 2]]), vals, starts, sizes, 0.3)
    assert v.a.tolist() == [0] and v.b.tolist() == [1]
    # 96 shared 5-grams of 196 each: J = 96 / 296, containment 96 / 196
    assert abs(v.jaccard[0] - 96 / 296) < 1e-9
    assert abs(v.containment_a_in_b[0] - 96 / 196) < 1e-9
    x = np.array([1, 2, 3, 4], dtype=np.uint64)
    y = np.array([3, 4], dtype=np.uint64)
    assert set_stats(x, y) == (0.5, 0.5, 1.0)


def test_cluster_components_ids_and_representatives():
    # 0-1-2 chain, 3 alone, 4-5 pair; pair order must not matter
    pa = np.array([2, 0, 5])
    pb = np.array([1, 1, 4])
    lengths = np.array([10, 30, 30, 5, 7, 7])
    c = cluster(6, pa, pb, lengths)
    assert c.root.tolist() == [0, 0, 0, 3, 4, 4]
    assert c.size.tolist() == [3, 3, 3, 1, 2, 2]
    # longest wins, ties to the smallest index
    assert c.representative.tolist() == [1, 1, 1, 3, 4, 4]
    assert c.n_clusters == 2
    c2 = cluster(6, pb[::-1].copy(), pa[::-1].copy(), lengths)
    assert c2.root.tolist() == c.root.tolist()


def _own_words(n, seed, prefix):
    rng = np.random.default_rng(seed)
    return [f"{prefix}{i}" for i in rng.integers(0, 20000, n)]


def _passage_corpus():
    """doc 0 and doc 1: long, with words of their own, but for one shared 80-word passage;
    doc 2: 30 of doc 0's words scattered among its own (no shared 5-gram)."""
    passage = _own_words(80, 7, "p")
    a = _own_words(3000, 8, "a")
    b = _own_words(3000, 9, "b")
    scattered = [w for i, w in enumerate(a) if i % 100 == 0]  # 30 of doc 0's words, none adjacent
    c = [x for pair in zip(_own_words(30, 10, "c"), scattered, strict=True) for x in pair] + _own_words(2900, 11, "c")
    docs = [" ".join(a[:1500] + passage + a[1500:]), " ".join(b[:700] + passage + b[700:]), " ".join(c)]
    return fingerprint_batch(tokenize_batch(docs), FingerprintParams(), sample_rate=8)


def test_the_passage_channel_counts_shared_shingles_not_words():
    fp = _passage_corpus()
    assert fp.sample_is_word is not None and fp.sample_is_word.any() and not fp.sample_is_word.all()
    args = (fp.sample_hashes, fp.sample_docs, 3, np.ones(3, bool), 0.5)
    assert cand.containment_pairs(*args).shape[0] == 0  # a passage is far below a tenth of either sample
    ps = cand.passage_samples(25, 8)
    pairs, only = cand.containment_candidates(*args, passage_samples=ps, sample_is_word=fp.sample_is_word)
    # the shared passage is found, and only the passage channel found it
    assert pairs.tolist() == [[0, 1]] and only.tolist() == [True]
    # docs 0 and 2 share 30 rare words, and no passage: counted as shingles, the words would pass
    pairs_w, _ = cand.containment_candidates(*args, passage_samples=ps)
    assert [0, 2] in pairs_w.tolist()


def test_passage_samples_is_half_the_expected_sampled_shingles_at_least_one():
    assert cand.passage_samples(0, 8) == 0  # off
    assert cand.passage_samples(25, 8) == 1  # 25 / 8 / 2 = 1.56
    assert cand.passage_samples(100, 8) == 6
    assert cand.passage_samples(5, 8) == 1


def test_pairs_in():
    pairs = np.array([[0, 1], [0, 2], [3, 4]], dtype=np.int64)
    assert cand.pairs_in(pairs, np.array([[3, 4], [0, 1], [1, 2]])).tolist() == [True, False, True]
    assert cand.pairs_in(pairs, np.zeros((0, 2), dtype=np.int64)).tolist() == [False] * 3


def test_a_passage_only_candidate_is_aligned_only_when_it_shares_a_passage():
    from copytrace.stages.rule import worth_aligning
    from copytrace.stages.verify import score_pairs

    story = _words(120, 12)
    shuffled = list(np.random.default_rng(13).permutation(story))  # the same words, no 5-gram in common
    other = _words(120, 14)
    texts = [" ".join(story), " ".join(shuffled), " ".join(story[:100] + other[:40])]  # doc 2: most of doc 0
    toks = tokenize_batch(texts)
    vals, starts, sizes = shingle_sets_batch(toks, 5)
    v = score_pairs(np.array([[0, 1], [0, 2]]), vals, starts, sizes)
    assert v.shared.tolist()[0] < 25 <= v.shared.tolist()[1]
    # past the word gate, pair (0, 1) is worth aligning as a candidate of another channel ...
    assert worth_aligning(v, toks, 0.5, 5, 25).tolist() == [True, True]
    assert worth_aligning(v, toks, 0.5, 5, 25, np.array([False, False])).tolist() == [True, True]
    # ... but not as one only the passage channel proposed: it shares no passage
    assert worth_aligning(v, toks, 0.5, 5, 25, np.array([True, True])).tolist() == [False, True]
    assert worth_aligning(v, toks, 0.5, 5, 0, np.array([True, True])).tolist() == [False, True]  # on the floor
