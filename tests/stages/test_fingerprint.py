"""fingerprint: content hash, shingles, MinHash signatures."""

import numpy as np

from copytrace.stages.fingerprint import (
    word_sample,
    EMPTY,
    FingerprintParams,
    fingerprint_batch,
    permutations,
    shingle_sets_batch,
    shingles,
)
from copytrace.stages.normalize import tokenize, tokenize_batch


def _words(n, seed):
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(5000)]
    return " ".join(rng.choice(vocab, n))


def test_exact_duplicates_up_to_case_and_punctuation_share_content_hash():
    fp = fingerprint_batch(tokenize_batch(["The cat sat.", "the CAT, sat!", "the cat sat down"]))
    assert np.array_equal(fp.content_hash[0], fp.content_hash[1])
    assert not np.array_equal(fp.content_hash[0], fp.content_hash[2])


def test_signature_estimates_jaccard():
    base = _words(2000, 1).split()
    a = " ".join(base)
    b = " ".join(base[:1000] + _words(1000, 2).split())
    params = FingerprintParams(ngram=3, num_perm=256, seed=7)
    fp = fingerprint_batch(tokenize_batch([a, b]), params)
    sa, sb = shingles(tokenize(a), 3), shingles(tokenize(b), 3)
    true_j = len(np.intersect1d(sa, sb)) / len(np.union1d(sa, sb))
    est = float(np.mean(fp.signatures[0] == fp.signatures[1]))
    assert abs(est - true_j) < 0.08
    assert fp.n_shingles[0] == len(sa) and fp.n_shingles[1] == len(sb)


def test_signatures_are_deterministic_and_seeded():
    texts = [_words(300, s) for s in range(5)]
    t = tokenize_batch(texts)
    f1 = fingerprint_batch(t, FingerprintParams(seed=1))
    f2 = fingerprint_batch(tokenize_batch(texts), FingerprintParams(seed=1))
    f3 = fingerprint_batch(t, FingerprintParams(seed=2))
    assert np.array_equal(f1.signatures, f2.signatures)
    assert not np.array_equal(f1.signatures, f3.signatures)
    a1, b1 = permutations(128, 1)
    assert np.all(a1 % 2 == 1)


def test_empty_and_short_documents():
    fp = fingerprint_batch(tokenize_batch(["", "two words", "!!"]), FingerprintParams(ngram=5))
    assert np.all(fp.signatures[0] == EMPTY) and fp.n_shingles[0] == 0
    assert fp.n_shingles[1] == 1 and not np.all(fp.signatures[1] == EMPTY)
    assert fp.n_tokens.tolist() == [0, 2, 0]


def test_sampling_is_consistent_across_documents():
    a = _words(3000, 3)
    b = "prefix words here " + a + " suffix"
    fp = fingerprint_batch(tokenize_batch([a, b]), FingerprintParams(), sample_rate=8)
    sa = set(fp.sample_hashes[fp.sample_docs == 0].tolist())
    sb = set(fp.sample_hashes[fp.sample_docs == 1].tolist())
    wh, wd = word_sample(tokenize_batch([a, b]))
    words_a = set(wh[wd == 0].tolist())
    assert words_a <= sa  # the word channel is part of the sample
    assert 3000 / 8 * 0.6 < len(sa - words_a) < 3000 / 8 * 1.4
    assert sa <= sb  # every shingle and word of a is in b, so its samples are too


def test_word_channel_keeps_the_words_of_a_reworded_copy():
    a = "Acme Industries said on Tuesday its quarterly revenue climbed to 5,300 million dollars in Denver."
    b = "In Denver, Acme Industries stated Tuesday that quarterly revenue increased to 5,300 million dollars."
    wh, wd = word_sample(tokenize_batch([a, b]))
    shared = set(wh[wd == 0].tolist()) & set(wh[wd == 1].tolist())
    assert len(shared) >= 6  # acme industries tuesday quarterly revenue 5,300 million dollars denver
    assert np.all(np.diff(wd) >= 0)  # sorted by document


def test_shingle_sets_batch_matches_single():
    texts = [_words(50, 1), "", "a b c d e f a b c d e f"]
    vals, starts, sizes = shingle_sets_batch(tokenize_batch(texts), 5)
    for i, t in enumerate(texts):
        single = shingles(tokenize(t), 5)
        assert np.array_equal(vals[starts[i] : starts[i] + sizes[i]], single)
