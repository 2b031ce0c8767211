"""Lexicon of the align stage: English stopwords and a light stemmer.

* ``ENGLISH_STOPWORDS``: the stopword list; ``stopword_hashes()`` their token
  hashes (as :func:`copytrace.stages.normalize.tokenize` hashes them), sorted.
* ``content_idx(hashes, sw)``: indices of the tokens that are not stopwords.
* ``stem_kernel(cps, starts, ends, cls, fold, exp_data, exp_off)``: a 64-bit
  hash per token of its folded form with common English suffixes stripped (a
  light Porter step 1 plus final -e, ASCII words only), in one numba pass.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from copytrace.kernels import njit
from copytrace.stages.normalize import mix64, tokenize

__all__ = ["ENGLISH_STOPWORDS", "stopword_hashes", "content_idx", "stem_kernel"]


ENGLISH_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because
    been before being below between both but by can could did do does doing
    down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves
    out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would
    you your yours yourself yourselves s t d ll m re ve also may might must
    shall us
    """.split()
)


@lru_cache(maxsize=1)
def stopword_hashes() -> np.ndarray:
    toks = tokenize(" ".join(sorted(ENGLISH_STOPWORDS)))
    return np.unique(toks.hashes)


@njit(cache=True, inline="always")
def _ends(buf, m, s0, s1, s2, s3, k):
    # does buf[:m] end with the k-letter suffix (s0..s3 are its letters)?
    if m < k:
        return False
    if k == 1:
        return buf[m - 1] == s0
    if k == 2:
        return buf[m - 2] == s0 and buf[m - 1] == s1
    if k == 3:
        return buf[m - 3] == s0 and buf[m - 2] == s1 and buf[m - 1] == s2
    return buf[m - 4] == s0 and buf[m - 3] == s1 and buf[m - 2] == s2 and buf[m - 1] == s3


@njit(cache=True, inline="always")
def _is_vowel(c):
    return c == 97 or c == 101 or c == 105 or c == 111 or c == 117 or c == 121


@njit(cache=True)
def _strip_suffix(buf, m):
    # a light Porter step 1 (plurals, -ed, -ing) plus final -e; ASCII only
    for i in range(m):
        if buf[i] < 97 or buf[i] > 122:
            return m
    s, e, i_, d, n, g, y = 115, 101, 105, 100, 110, 103, 121
    if m > 4 and _ends(buf, m, s, s, e, s, 4):
        m -= 2
    elif m > 4 and _ends(buf, m, i_, e, s, 0, 3):
        m -= 3
        buf[m] = y
        m += 1
    elif m > 3 and buf[m - 1] == s and buf[m - 2] != s and buf[m - 2] != 117 and buf[m - 2] != i_:
        m -= 1
    stripped = False
    if m > 5 and _ends(buf, m, i_, n, g, 0, 3):
        m -= 3
        stripped = True
    elif m > 4 and _ends(buf, m, i_, e, d, 0, 3):
        m -= 3
        buf[m] = y
        m += 1
    elif m > 4 and _ends(buf, m, e, d, 0, 0, 2) and not _ends(buf, m, e, e, d, 0, 3):
        m -= 2
        stripped = True
    if stripped and m >= 3:
        c = buf[m - 1]
        if c == buf[m - 2] and not _is_vowel(c) and c != 108 and c != s and c != 122:
            m -= 1
    if m > 3 and buf[m - 1] == e:
        m -= 1
    return m


@njit(cache=True, nogil=True, tables=("cls", "fold", "exp_data", "exp_off"))
def stem_kernel(cps, starts, ends, cls, fold, exp_data, exp_off):
    n = starts.shape[0]
    out = np.empty(n, dtype=np.uint64)
    buf = np.empty(64, dtype=np.uint32)
    tsize = cls.shape[0]
    for k in range(n):
        m = 0
        over = False
        for p in range(starts[k], ends[k]):
            cp = cps[p]
            if cp >= tsize:
                continue
            c = cls[cp]
            if c != 1 and c != 3:
                continue
            f = fold[cp]
            if f & np.uint32(0x80000000):
                ex = f & np.uint32(0x7FFFFFFF)
                for j in range(exp_off[ex], exp_off[ex + 1]):
                    if m < 64:
                        buf[m] = exp_data[j]
                        m += 1
                    else:
                        over = True
            else:
                if m < 64:
                    buf[m] = f
                    m += 1
                else:
                    over = True
        if not over:
            m = _strip_suffix(buf, m)
        h = np.uint64(0xCBF29CE484222325)
        for j in range(m):
            h = (h ^ np.uint64(buf[j])) * np.uint64(0x100000001B3)
        out[k] = mix64(h)
    return out



@njit(cache=True, nogil=True)
def content_idx(hashes, sw):
    """Indices of the tokens whose hash is not in the sorted stopword hashes."""
    n = hashes.shape[0]
    out = np.empty(n, dtype=np.int64)
    k = 0
    last = sw.shape[0] - 1
    for t in range(n):
        h = hashes[t]
        lo, hi = 0, last
        while lo < hi:
            mid = (lo + hi) // 2
            if sw[mid] < h:
                lo = mid + 1
            else:
                hi = mid
        if sw[lo] != h:
            out[k] = t
            k += 1
    return out[:k]
