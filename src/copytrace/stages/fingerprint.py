"""Stage 3 — fingerprint: tokens → content hash, shingles, MinHash signatures.

Data contract
-------------
``fingerprint_batch(tokens: TokenBatch, params) -> Fingerprints``:

* ``content_hash`` (uint64, shape (n, 2)): a 128-bit hash of the normalized
  token sequence.  Two documents with equal hashes are exact duplicates up to
  case, punctuation, spacing and Unicode compatibility forms.
* ``n_tokens`` (int32): word tokens per document.
* ``n_shingles`` (int32): *distinct* word n-gram shingles per document (a
  document shorter than ``n`` tokens but not empty has one shingle: all its
  tokens).
* ``signatures`` (uint32, shape (n, num_perm)): MinHash signatures.  Empty
  documents get all ``0xFFFFFFFF`` and never become candidates.

Shingles are 64-bit hashes of ``n`` consecutive token hashes.  Each shingle is
hashed once, and its high 32 bits ``x`` go through ``num_perm`` cheap
*permutations* of 32-bit values, ``v = (x xor b_i) * a_i mod 2^32; v ^= v >> 16``
(``a_i`` odd: every step is a bijection), computed 8 lanes at a time.  Measured
on random set pairs the Jaccard estimate has the same error as classic
``(a x + b) mod p`` MinHash (RMSE 0.035 at 128 permutations, no bias) at ~5x
the speed.  ``a_i, b_i`` are drawn from ``numpy.random.Generator(PCG64(seed))``, so
signatures are a pure function of (text, n, num_perm, seed) on any machine.
The kernels are numba-compiled, release the GIL and run in parallel over
documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from copytrace.kernels import njit, prange

from copytrace.stages.normalize import TokenBatch, Tokens, mix64, tokenize

__all__ = [
    "FingerprintParams",
    "Fingerprints",
    "fingerprint_batch",
    "permutations",
    "shingles",
    "shingle_sets_batch",
    "word_sample",
    "WORD_SALT",
    "EMPTY",
]

EMPTY = np.uint32(0xFFFFFFFF)


@dataclass(frozen=True)
class FingerprintParams:
    """``ngram``: words per shingle; ``num_perm``: MinHash permutations; ``seed``."""

    ngram: int = 5
    num_perm: int = 128
    seed: int = 42

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError("ngram must be at least 1")
        if self.num_perm < 1:
            raise ValueError("num_perm must be at least 1")


@dataclass(frozen=True)
class Fingerprints:
    content_hash: np.ndarray  # uint64 (n, 2)
    n_tokens: np.ndarray  # int32 (n,)
    n_shingles: np.ndarray  # int32 (n,)
    signatures: np.ndarray  # uint32 (n, num_perm)
    sample_hashes: np.ndarray | None = None  # uint64, sampled distinct shingles
    sample_docs: np.ndarray | None = None  # int64, their document (index in the batch)
    sample_is_word: np.ndarray | None = None  # bool, the item is of the word channel (not a shingle)

    def __len__(self) -> int:
        return int(self.n_tokens.shape[0])


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) coefficients of the MinHash permutations (uint32; a odd)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = (rng.integers(0, 2**31, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)).astype(np.uint32)
    b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


@njit(cache=True, inline="always")
def _shingle_hash(hashes, i, n):
    h = hashes[i]
    for j in range(1, n):
        h = mix64(h * np.uint64(0x9E3779B97F4A7C15) + hashes[i + j])
    return h


@njit(cache=True, nogil=True)
def _doc_shingles(hashes, lo, hi, n):
    """Shingle hashes of one document's tokens hashes[lo:hi] (not unique)."""
    m = hi - lo
    if m == 0:
        return np.empty(0, dtype=np.uint64)
    if m < n:
        out = np.empty(1, dtype=np.uint64)
        out[0] = _shingle_hash(hashes, lo, m)
        return out
    k = m - n + 1
    out = np.empty(k, dtype=np.uint64)
    for i in range(k):
        out[i] = _shingle_hash(hashes, lo + i, n)
    return out


@njit(cache=True, nogil=True, parallel=True)
def _fingerprint_kernel(hashes, offsets, n, a, b, rate):
    n_docs = offsets.shape[0] - 1
    p = a.shape[0]
    sigs = np.full((n_docs, p), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    n_sh = np.zeros(n_docs, dtype=np.int32)
    chash = np.zeros((n_docs, 2), dtype=np.uint64)
    # sampled shingles of doc d go to samp[offsets[d] : offsets[d] + n_samp[d]]
    samp = np.empty(hashes.shape[0], dtype=np.uint64)
    n_samp = np.zeros(n_docs, dtype=np.int64)
    for d in prange(n_docs):
        lo = offsets[d]
        hi = offsets[d + 1]
        # content hash: two independent 64-bit chains over the token hashes
        h1 = np.uint64(0x243F6A8885A308D3) ^ np.uint64(hi - lo)
        h2 = np.uint64(0x13198A2E03707344) ^ np.uint64(hi - lo)
        for i in range(lo, hi):
            h1 = mix64(h1 * np.uint64(0x9E3779B97F4A7C15) + hashes[i])
            h2 = mix64((h2 ^ hashes[i]) * np.uint64(0xC2B2AE3D27D4EB4F) + np.uint64(i - lo))
        chash[d, 0] = h1
        chash[d, 1] = h2
        sh = _doc_shingles(hashes, lo, hi, n)
        if sh.shape[0] == 0:
            continue
        sh = np.sort(sh)
        sig = np.full(p, np.uint32(0xFFFFFFFF), dtype=np.uint32)
        prev = np.uint64(0)
        cnt = 0
        ns = 0
        for s in range(sh.shape[0]):
            x = sh[s]
            if s > 0 and x == prev:
                continue
            prev = x
            cnt += 1
            if rate > 0 and (x >> np.uint64(40)) % np.uint64(rate) == 0:
                samp[lo + ns] = x
                ns += 1
            # permutation q of 32-bit values: xor, odd multiply, xorshift —
            # each a bijection; 8 lanes per AVX2 instruction
            x32 = np.uint32(x >> np.uint64(32))
            for q in range(p):
                v = np.uint32((x32 ^ b[q]) * a[q])
                v = np.uint32(v ^ (v >> np.uint32(16)))
                sig[q] = min(sig[q], v)
        sigs[d, :] = sig
        n_sh[d] = cnt
        n_samp[d] = ns
    return chash, n_sh, sigs, samp, n_samp


# salt of the word channel in the containment sample (keeps words apart from shingles)
WORD_SALT = np.uint64(0x9E3779B97F4A7C15)
MIN_WORD_CHARS = 4  # shorter words are not sampled


@lru_cache(maxsize=1)
def _stopword_hashes() -> np.ndarray:
    from copytrace.stages.align import ENGLISH_STOPWORDS

    return np.unique(tokenize(" ".join(sorted(ENGLISH_STOPWORDS))).hashes)


def word_sample(tokens: TokenBatch) -> tuple[np.ndarray, np.ndarray]:
    """The word channel of the containment sample: each document's distinct
    words of at least ``MIN_WORD_CHARS`` characters that are not stopwords,
    hashed with ``WORD_SALT`` — ``(hashes, docs)`` sorted by (doc, hash).

    Reworded copies keep their names, figures and content words while their
    n-grams break; the candidates stage drops the words found in more than
    ``max_df`` documents, so what links two documents here is the rare words
    they share."""
    return _word_sample_kernel(tokens.hashes, tokens.starts, tokens.ends, tokens.doc_offsets,
                               _stopword_hashes(), MIN_WORD_CHARS, WORD_SALT)


@njit(cache=True, nogil=True, parallel=True)
def _word_sample_kernel(hashes, starts, ends, offsets, stop, min_chars, salt):
    """Per document (in parallel): the salted hashes of its long non-stopword
    words, sorted and distinct, written at the document's token offset; then
    compacted in document order."""
    n_docs = offsets.shape[0] - 1
    buf = np.empty(hashes.shape[0], dtype=np.uint64)
    counts = np.zeros(n_docs, dtype=np.int64)
    n_stop = stop.shape[0]
    for d in prange(n_docs):
        lo, hi = offsets[d], offsets[d + 1]
        m = 0
        for t in range(lo, hi):
            if ends[t] - starts[t] < min_chars:
                continue
            h = hashes[t]
            i = np.searchsorted(stop, h)
            if i < n_stop and stop[i] == h:
                continue
            buf[lo + m] = h ^ salt
            m += 1
        if m > 1:
            buf[lo : lo + m] = np.sort(buf[lo : lo + m])
        k = 0
        for t in range(lo, lo + m):
            if k == 0 or buf[t] != buf[lo + k - 1]:
                buf[lo + k] = buf[t]
                k += 1
        counts[d] = k
    total = 0
    for d in range(n_docs):
        total += counts[d]
    out_h = np.empty(total, dtype=np.uint64)
    out_d = np.empty(total, dtype=np.int64)
    pos = 0
    for d in range(n_docs):
        lo = offsets[d]
        for k in range(counts[d]):
            out_h[pos] = buf[lo + k]
            out_d[pos] = d
            pos += 1
    return out_h, out_d


def fingerprint_batch(
    tokens: TokenBatch, params: FingerprintParams = FingerprintParams(), sample_rate: int = 0
) -> Fingerprints:
    """Fingerprint every document of a token batch.

    With ``sample_rate > 0`` also take the containment sample: a consistent
    1-in-``sample_rate`` sample of each document's distinct shingles (the same
    shingle is sampled in every document that has it), and the word channel
    (:func:`word_sample`): ``Fingerprints.sample_hashes`` with ``sample_docs``
    (index in the batch), sorted by document, used for containment candidates;
    ``sample_is_word`` tells the word channel's items from the shingles (the
    passage channel of the candidates counts shingles only).
    """
    a, b = permutations(params.num_perm, params.seed)
    chash, n_sh, sigs, samp, n_samp = _fingerprint_kernel(
        tokens.hashes, tokens.doc_offsets, params.ngram, a, b, sample_rate
    )
    n_tok = np.diff(tokens.doc_offsets).astype(np.int32)
    total = int(n_samp.sum())
    docs = np.repeat(np.arange(n_tok.shape[0], dtype=np.int64), n_samp)
    first = np.zeros(n_tok.shape[0] + 1, dtype=np.int64)
    np.cumsum(n_samp, out=first[1:])
    pos = tokens.doc_offsets[:-1][docs] + (np.arange(total, dtype=np.int64) - first[:-1][docs])
    s_hash, s_doc = samp[pos], docs
    s_word = np.zeros(total, dtype=bool)
    if sample_rate > 0:
        w_hash, w_doc = word_sample(tokens)
        s_hash = np.concatenate([s_hash, w_hash])
        s_doc = np.concatenate([s_doc, w_doc])
        s_word = np.concatenate([s_word, np.ones(w_hash.shape[0], dtype=bool)])
        o = np.argsort(s_doc, kind="stable")
        s_hash, s_doc, s_word = s_hash[o], s_doc[o], s_word[o]
    return Fingerprints(chash, n_tok, n_sh, sigs, s_hash, s_doc, s_word)


def shingles(tokens: Tokens, ngram: int = 5) -> np.ndarray:
    """Sorted distinct shingle hashes of one document (uint64)."""
    sh = _doc_shingles(tokens.hashes, 0, len(tokens), ngram)
    return np.unique(sh)


@njit(cache=True, nogil=True, parallel=True)
def _shingle_sets_kernel(hashes, offsets, n):
    n_docs = offsets.shape[0] - 1
    counts = np.zeros(n_docs, dtype=np.int64)
    for d in prange(n_docs):
        m = offsets[d + 1] - offsets[d]
        counts[d] = 0 if m == 0 else max(1, m - n + 1)
    starts = np.zeros(n_docs + 1, dtype=np.int64)
    for d in range(n_docs):
        starts[d + 1] = starts[d] + counts[d]
    out = np.empty(starts[n_docs], dtype=np.uint64)
    uniq = np.zeros(n_docs, dtype=np.int64)
    for d in prange(n_docs):
        sh = np.sort(_doc_shingles(hashes, offsets[d], offsets[d + 1], n))
        k = 0
        base = starts[d]
        for s in range(sh.shape[0]):
            if s == 0 or sh[s] != sh[s - 1]:
                out[base + k] = sh[s]
                k += 1
        uniq[d] = k
    return out, starts, uniq


def shingle_sets_batch(tokens: TokenBatch, ngram: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted distinct shingles of every document of a batch.

    Returns ``(values, starts, sizes)``: the set of document ``i`` is
    ``values[starts[i] : starts[i] + sizes[i]]``.
    """
    return _shingle_sets_kernel(tokens.hashes, tokens.doc_offsets, ngram)

