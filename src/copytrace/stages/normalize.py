"""Stage 2 — normalize: text → word tokens with offsets and hashes.

Data contract
-------------
``tokenize(text) -> Tokens`` and ``tokenize_batch(texts) -> TokenBatch``.

* ``Tokens.starts`` / ``Tokens.ends`` (int32): character offsets of each token
  into the text *as read* (Python ``str`` indices, i.e. code points of the
  UTF-8-decoded file).  Normalization never moves offsets.
* ``Tokens.hashes`` (uint64): a 64-bit hash of the *normalized* token.

Normalization, applied per character through a lookup table so that the hot
loop is a numba kernel over code points (never a Python loop per token):

* Unicode compatibility folding (NFKD of each character, then recomposed
  forms map to the same base: ``ﬁ`` → ``fi``, full-width ``Ａ`` → ``a``,
  ``²`` → ``2``);
* case folding (``str.casefold``);
* combining marks are dropped from the hash but kept inside the token span,
  so ``café`` (precomposed) and ``café`` (decomposed) and ``cafe`` hash alike;
* every character that is not a letter or a digit (punctuation, curly
  quotes, dashes, odd spaces, symbols) separates tokens;
* CJK ideographs, kana and scripts written without spaces (Thai, Lao,
  Khmer, Myanmar) become one token per character, so word n-grams over them
  are character n-grams.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from copytrace.kernels import njit, prange

__all__ = [
    "Tokens",
    "TokenBatch",
    "tokenize",
    "tokenize_batch",
    "to_codepoints",
    "normalize_token",
    "mix64",
    "mask_tokens",
    "splice_docs",
]

# Character classes in the lookup table.
SEP = 0  # separates tokens
WORD = 1  # part of a word
MARK = 2  # combining mark: inside a word span, not hashed
CHAR = 3  # a token on its own (CJK and other unspaced scripts)

TABLE_SIZE = 0x40000  # planes 0-3: everything with letters or ideographs we fold
_EXPANDED = np.uint32(0x80000000)


def _is_unspaced_script(cp: int) -> bool:
    return (
        0x0E00 <= cp <= 0x0EFF  # Thai, Lao
        or 0x1000 <= cp <= 0x109F  # Myanmar
        or 0x1780 <= cp <= 0x17FF  # Khmer
        or 0x3040 <= cp <= 0x30FF  # Hiragana, Katakana
        or 0x31F0 <= cp <= 0x31FF  # Katakana extensions
        or 0x3400 <= cp <= 0x4DBF  # CJK ext A
        or 0x4E00 <= cp <= 0x9FFF  # CJK unified
        or 0xF900 <= cp <= 0xFAFF  # CJK compatibility
        or 0x20000 <= cp <= 0x3FFFF  # CJK ext B..
    )


def _build_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cls = np.zeros(TABLE_SIZE, dtype=np.uint8)
    fold = np.zeros(TABLE_SIZE, dtype=np.uint32)
    exp_data: list[int] = []
    exp_off: list[int] = [0]
    for cp in range(TABLE_SIZE):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat[0] == "M":
            cls[cp] = MARK
            continue
        if cat[0] not in "LN":
            continue
        folded = "".join(
            c
            for c in unicodedata.normalize("NFKD", ch).casefold()
            if unicodedata.category(c)[0] in "LN"
        )
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in folded if unicodedata.category(c)[0] in "LN")
        if not folded:
            cls[cp] = MARK
            continue
        cls[cp] = CHAR if _is_unspaced_script(ord(folded[0])) else WORD
        if len(folded) == 1:
            fold[cp] = ord(folded)
        else:
            fold[cp] = _EXPANDED | np.uint32(len(exp_off) - 1)
            exp_data.extend(ord(c) for c in folded)
            exp_off.append(len(exp_data))
    return (
        cls,
        fold,
        np.asarray(exp_data, dtype=np.uint32),
        np.asarray(exp_off, dtype=np.int64),
    )


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "copytrace"


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The folding tables, built once per Unicode version and cached on disk."""
    name = f"fold-v2-unicode-{unicodedata.unidata_version}.npz"
    path = cache_dir() / name
    try:
        with np.load(path) as z:
            return z["cls"], z["fold"], z["exp_data"], z["exp_off"]
    except (OSError, KeyError, ValueError):
        pass
    cls, fold, exp_data, exp_off = _build_tables()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, cls=cls, fold=fold, exp_data=exp_data, exp_off=exp_off)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home is fine: we rebuild next time
    return cls, fold, exp_data, exp_off


@dataclass(frozen=True)
class Tokens:
    """Tokens of one text: parallel arrays, offsets into the text as read."""

    starts: np.ndarray  # int32, inclusive
    ends: np.ndarray  # int32, exclusive
    hashes: np.ndarray  # uint64

    def __len__(self) -> int:
        return int(self.starts.shape[0])


@dataclass(frozen=True)
class TokenBatch:
    """Tokens of many texts, concatenated; ``doc_offsets[i]:doc_offsets[i+1]``
    are the tokens of text ``i`` (offsets relative to that text)."""

    starts: np.ndarray  # int32
    ends: np.ndarray  # int32
    hashes: np.ndarray  # uint64
    doc_offsets: np.ndarray  # int64, len = n_docs + 1

    def doc(self, i: int) -> Tokens:
        lo, hi = self.doc_offsets[i], self.doc_offsets[i + 1]
        return Tokens(self.starts[lo:hi], self.ends[lo:hi], self.hashes[lo:hi])

    def __len__(self) -> int:
        return int(self.doc_offsets.shape[0] - 1)


def to_codepoints(text: str) -> np.ndarray:
    """The text as a uint32 array of code points (index = ``str`` index)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@njit(cache=True, inline="always")
def _mix64(x: np.uint64) -> np.uint64:
    # splitmix64 finalizer
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# the public name of the hash mixer, for the other stages' kernels
mix64 = _mix64


@njit(cache=True, inline="always")
def _fnv_step(h: np.uint64, c: np.uint32) -> np.uint64:
    return (h ^ np.uint64(c)) * np.uint64(0x100000001B3)


@njit(cache=True, inline="always")
def _fold_into(h, f, exp_data, exp_off):
    """Hash the folded form of one character (``f`` from the fold table: a code
    point, or the index of a multi-character expansion) into ``h``."""
    if f & np.uint32(0x80000000):
        e = f & np.uint32(0x7FFFFFFF)
        for j in range(exp_off[e], exp_off[e + 1]):
            h = _fnv_step(h, exp_data[j])
        return h
    return _fnv_step(h, f)


@njit(cache=True, nogil=True)
def _count_tokens(cps, lo, hi, cls):
    """Exact number of tokens in cps[lo:hi] (a cheap first pass: no hashing)."""
    table_size = cls.shape[0]
    k = 0
    in_word = False
    for i in range(lo, hi):
        cp = cps[i]
        c = cls[cp] if cp < table_size else np.uint8(0)
        if c == 1:
            if not in_word:
                in_word = True
                k += 1
        elif c != 2:
            in_word = False
            if c == 3:
                k += 1
    return k


@njit(cache=True, nogil=True)
def _fill_tokens(cps, lo, hi, cls, fold, exp_data, exp_off, starts, ends, hashes, k):
    """Write the tokens of cps[lo:hi] from position k on; offsets relative to lo."""
    table_size = cls.shape[0]
    in_word = False
    h = np.uint64(0xCBF29CE484222325)
    for i in range(lo, hi):
        cp = cps[i]
        c = cls[cp] if cp < table_size else np.uint8(0)
        if c == 1:
            if not in_word:
                in_word = True
                starts[k] = i - lo
                h = np.uint64(0xCBF29CE484222325)
            h = _fold_into(h, fold[cp], exp_data, exp_off)
        elif c == 2:
            pass  # combining mark: extends a word, never starts one
        else:
            if in_word:
                ends[k] = i - lo  # trailing marks belong to the word
                hashes[k] = _mix64(h)
                k += 1
                in_word = False
            if c == 3:
                h1 = _fold_into(np.uint64(0xCBF29CE484222325), fold[cp], exp_data, exp_off)
                starts[k] = i - lo
                ends[k] = i - lo + 1
                hashes[k] = _mix64(h1)
                k += 1
    if in_word:
        ends[k] = hi - lo
        hashes[k] = _mix64(h)
        k += 1
    return k


@njit(cache=True, nogil=True, parallel=True, tables=("cls", "fold", "exp_data", "exp_off"))
def _tokenize_kernel(cps, doc_cp_offsets, cls, fold, exp_data, exp_off):
    n_docs = doc_cp_offsets.shape[0] - 1
    counts = np.zeros(n_docs, dtype=np.int64)
    for d in prange(n_docs):
        counts[d] = _count_tokens(cps, doc_cp_offsets[d], doc_cp_offsets[d + 1], cls)
    tok_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    for d in range(n_docs):
        tok_offsets[d + 1] = tok_offsets[d] + counts[d]
    total = tok_offsets[n_docs]
    starts = np.empty(total, dtype=np.int32)
    ends = np.empty(total, dtype=np.int32)
    hashes = np.empty(total, dtype=np.uint64)
    for d in prange(n_docs):
        _fill_tokens(
            cps, doc_cp_offsets[d], doc_cp_offsets[d + 1], cls, fold, exp_data, exp_off,
            starts, ends, hashes, tok_offsets[d],
        )
    return starts, ends, hashes, tok_offsets


@njit(cache=True, nogil=True)
def _mask_kernel(cps, doc_cp_offsets, m_doc, m_start, m_end):
    for k in range(m_doc.shape[0]):
        lo = doc_cp_offsets[m_doc[k]]
        n = doc_cp_offsets[m_doc[k] + 1] - lo
        for i in range(lo + max(0, m_start[k]), lo + min(n, m_end[k])):
            if cps[i] != 10:
                cps[i] = 32


def tokenize_batch(
    texts: Sequence[str], mask: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
) -> TokenBatch:
    """Tokenize many texts in one compiled pass.

    ``mask``: ``(text index, start, end)`` arrays of character spans tokenized
    as if each of their characters but newlines were a space (the same tokens
    as ``boilerplate.mask_text`` applied first, without building the texts)."""
    cls, fold, exp_data, exp_off = tables()
    if len(texts) == 0:
        z32 = np.zeros(0, dtype=np.int32)
        return TokenBatch(z32, z32, np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64))
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    doc_cp_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=doc_cp_offsets[1:])
    cps = to_codepoints("".join(texts))
    if mask is not None and mask[0].shape[0]:
        cps = cps.copy()  # frombuffer's array is read-only
        _mask_kernel(cps, doc_cp_offsets, *(np.asarray(x, dtype=np.int64) for x in mask))
        # read-only again, as unmasked: numba types a read-only array apart, and a second
        # specialization of the tokenizer would cost a compile (first run) and a cache load (every run)
        cps.flags.writeable = False
    starts, ends, hashes, tok_offsets = _tokenize_kernel(
        cps, doc_cp_offsets, cls, fold, exp_data, exp_off
    )
    return TokenBatch(starts, ends, hashes, tok_offsets)


@njit(cache=True, nogil=True, tables=("cls", "fold", "exp_data", "exp_off"))
def _tokenize_one_kernel(cps, cls, fold, exp_data, exp_off):
    # one text: the batch kernel's two passes without its thread-pool launch,
    # which costs more than tokenizing a news story
    # zero as an int64, not the literal 0: the helpers' batch specialization serves (no second compile)
    zero = np.int64(0)
    n = _count_tokens(cps, zero, cps.shape[0], cls)
    starts = np.empty(n, dtype=np.int32)
    ends = np.empty(n, dtype=np.int32)
    hashes = np.empty(n, dtype=np.uint64)
    _fill_tokens(cps, zero, cps.shape[0], cls, fold, exp_data, exp_off, starts, ends, hashes, zero)
    return starts, ends, hashes


def tokenize(text: str) -> Tokens:
    """Tokenize one text (single-threaded; identical to ``tokenize_batch([text]).doc(0)``)."""
    cls, fold, exp_data, exp_off = tables()
    starts, ends, hashes = _tokenize_one_kernel(to_codepoints(text), cls, fold, exp_data, exp_off)
    return Tokens(starts, ends, hashes)


def normalize_token(token: str) -> str:
    """The normalized form of a token, in Python (for display and tests)."""
    cls, fold, exp_data, exp_off = tables()
    out: list[str] = []
    for ch in token:
        cp = ord(ch)
        if cp >= TABLE_SIZE or cls[cp] in (SEP, MARK):
            continue
        f = int(fold[cp])
        if f & 0x80000000:
            e = f & 0x7FFFFFFF
            out.extend(chr(int(c)) for c in exp_data[exp_off[e] : exp_off[e + 1]])
        else:
            out.append(chr(f))
    return "".join(out)


@njit(cache=True, nogil=True, parallel=True)
def _mask_keep_kernel(starts, ends, doc_offsets, m_doc, m_start, m_end, m_first):
    """``keep[t]``: token ``t`` lies outside every span of its document (or
    inside one: then it is dropped); ``cut[d]``: a span of document ``d`` cuts
    one of its tokens (neither outside nor inside it).  Spans of document
    ``d``: ``m_first[d]:m_first[d + 1]`` (``m_doc`` sorted)."""
    n_docs = doc_offsets.shape[0] - 1
    keep = np.ones(starts.shape[0], dtype=np.bool_)
    cut = np.zeros(n_docs, dtype=np.bool_)
    for d in prange(n_docs):
        k0 = m_first[d]
        k1 = m_first[d + 1]
        if k0 == k1:
            continue
        for t in range(doc_offsets[d], doc_offsets[d + 1]):
            ts = starts[t]
            te = ends[t]
            inside = False
            partial = False
            for k in range(k0, k1):
                s = m_start[k]
                e = m_end[k]
                if e <= s or te <= s or ts >= e:
                    continue
                if s <= ts and te <= e:
                    inside = True
                else:
                    partial = True
            if inside:
                keep[t] = False
            elif partial:
                cut[d] = True
    return keep, cut


def mask_tokens(
    batch: TokenBatch, mask: tuple[np.ndarray, np.ndarray, np.ndarray] | None
) -> tuple[TokenBatch, np.ndarray]:
    """The tokens ``tokenize_batch(texts, mask)`` gives, from ``batch =
    tokenize_batch(texts)`` alone (no text): masking turns characters into
    separators, so a token outside every span keeps its offsets and hash, a
    token inside a span disappears, and no token is made or merged.  A token
    that a span cuts (partly inside) would change: ``cut`` (bool per
    document) names those documents, whose tokens here are *not* the masked
    ones — tokenize them again (:func:`splice_docs`)."""
    n_docs = len(batch)
    if mask is None or mask[0].shape[0] == 0:
        return batch, np.zeros(n_docs, dtype=bool)
    m_doc, m_start, m_end = (np.asarray(x, dtype=np.int64) for x in mask)
    if m_doc.shape[0] > 1 and bool(np.any(m_doc[1:] < m_doc[:-1])):
        o = np.argsort(m_doc, kind="stable")
        m_doc, m_start, m_end = m_doc[o], m_start[o], m_end[o]
    m_first = np.searchsorted(m_doc, np.arange(n_docs + 1, dtype=np.int64), side="left").astype(np.int64)
    keep, cut = _mask_keep_kernel(batch.starts, batch.ends, batch.doc_offsets, m_doc, m_start, m_end, m_first)
    counts = np.diff(batch.doc_offsets)
    kept = np.bincount(np.repeat(np.arange(n_docs, dtype=np.int64), counts)[keep], minlength=n_docs)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    return TokenBatch(batch.starts[keep], batch.ends[keep], batch.hashes[keep], offsets), cut


def splice_docs(batch: TokenBatch, docs: np.ndarray, other: TokenBatch) -> TokenBatch:
    """``batch`` with the tokens of documents ``docs`` (sorted indices) replaced
    by those of ``other`` (one document each, in the order of ``docs``)."""
    docs = np.asarray(docs, dtype=np.int64)
    if docs.shape[0] == 0:
        return batch
    n_docs = len(batch)
    counts = np.diff(batch.doc_offsets)
    new_counts = counts.copy()
    new_counts[docs] = np.diff(other.doc_offsets)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(new_counts, out=offsets[1:])
    total = int(offsets[-1])
    starts = np.empty(total, dtype=np.int32)
    ends = np.empty(total, dtype=np.int32)
    hashes = np.empty(total, dtype=np.uint64)
    # the other documents' tokens, moved to their new offsets
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), counts)
    kept = np.ones(n_docs, dtype=bool)
    kept[docs] = False
    src = np.flatnonzero(kept[doc_of])
    dst = offsets[doc_of[src]] + (src - batch.doc_offsets[doc_of[src]])
    starts[dst], ends[dst], hashes[dst] = batch.starts[src], batch.ends[src], batch.hashes[src]
    # the replacements
    o_counts = np.diff(other.doc_offsets)
    o_doc = np.repeat(np.arange(docs.shape[0], dtype=np.int64), o_counts)
    o_src = np.arange(other.hashes.shape[0], dtype=np.int64)
    o_dst = offsets[docs[o_doc]] + (o_src - other.doc_offsets[o_doc])
    starts[o_dst], ends[o_dst], hashes[o_dst] = other.starts, other.ends, other.hashes
    return TokenBatch(starts, ends, hashes, offsets)
