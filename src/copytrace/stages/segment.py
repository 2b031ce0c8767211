"""Segment boundaries in one compiled pass over code points.

``boundaries(cps, mode)`` returns exactly the match ends of
``align._BOUNDARY[mode].finditer(text)`` (the reference regexes, kept for
documentation and for the equivalence tests) for ``cps = to_codepoints(text)``,
at a few hundred MB/s instead of Python's regex engine's ~20 MB/s.

The regexes are alternations tried in order at each candidate position
(``. ! ? … 。 ！ ？ \\r \\n``), scanning resumes at the end of a match:

1. end punctuation — ``.`` not closing an abbreviation (``Mr.``, ``e.g.``, a
   single capital ``J.``) or one of ``! ? …`` — then more of them, closing
   quotes/brackets, then either spaces + a newline + any whitespace, or
   spaces; the next character must be visible and not ``a``–``z``;
2. a ``.`` (not an abbreviation) glued to a capitalised word (``end.The``);
3. CJK full stops, closing brackets, whitespace;
4. a blank line (newline, spaces/tabs/CR, newline, whitespace);
5. ``capital`` mode: a line break before a capital, a letter of a script
   without case (:data:`CASELESS`), a digit, a quote, an opening bracket or
   a bullet; ``always`` mode: any line break.

Every quantifier in these patterns is greedy over a character class that
excludes what follows it, so the regex never backtracks into a different
match — which is what lets a single forward pass reproduce it.
``\\s``/``\\S`` follow ``str.isspace`` and ``\\b`` follows Python's ``\\w``
(Unicode alphanumerics and ``_``), through tables built from Python itself.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from functools import lru_cache

import numpy as np

from copytrace.kernels import njit

from copytrace.stages.normalize import cache_dir

__all__ = ["boundaries", "MODES"]

MODES = {"blank": 0, "capital": 1, "always": 2}

ABBREVIATIONS = (
    "Mr Mrs Ms Dr St Jr Sr Prof Gen Col Lt Sgt Capt Cpl Adm Maj Rep Reps Sen Gov "
    "Rev Hon Pres Supt Det Inc Ltd Co Corp Bros vs No Nos Vol Fig Jan Feb Apr "
    "Jun Jul Aug Sep Sept Oct Nov Dec Mt Ft Ave Blvd approx Dept Univ ca cf al pp "
    "e.g i.e etc"
).split()

_SP = (0x20, 0x09, 0xA0)
_END = (ord("."), ord("!"), ord("?"), 0x2026)
_CLOSE = tuple(ord(c) for c in "\"'”’»)]")
_CJK_STOP = tuple(ord(c) for c in "。！？")
_CJK_CLOSE = tuple(ord(c) for c in "」』”’)）")
_LINE_START = tuple(ord(c) for c in "0123456789\"“‘'([•*#·–—-（「『【")
# letters of scripts without case (Hebrew, Arabic, Indic, Thai, Lao, Tibetan,
# Myanmar, Ethiopic, Khmer, Hangul, kana, CJK): a line that starts with one
# starts a segment in ``capital`` mode, as a line that starts with a capital
CASELESS = (
    (0x05D0, 0x05EA), (0x0620, 0x064A), (0x066E, 0x06D3), (0x06FA, 0x06FF), (0x0710, 0x07B1),
    (0x0800, 0x08FF), (0x0904, 0x0DFF), (0x0E01, 0x0EFF), (0x0F00, 0x0FFF), (0x1000, 0x109F),
    (0x1100, 0x11FF), (0x1200, 0x137F), (0x1780, 0x17DD), (0x3041, 0x30FF), (0x3105, 0x312F),
    (0x3131, 0x318E), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F), (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFC), (0x20000, 0x3FFFF),
)


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(is_space, is_word, abbr_cps, abbr_off)``: ``str.isspace`` and
    regex ``\\w`` per code point, and the abbreviations as code points
    (cached on disk per Unicode version, like the folding tables)."""
    path = cache_dir() / f"segment-v1-unicode-{unicodedata.unidata_version}.npz"
    try:
        with np.load(path) as z:
            return z["is_space"], z["is_word"], z["abbr"], z["off"]
    except (OSError, KeyError, ValueError):
        pass
    built = _build_tables()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, is_space=built[0], is_word=built[1], abbr=built[2], off=built[3])
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home is fine: we rebuild next time
    return built


def _build_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    all_chars = "".join(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i <= 0xDFFF)
    cps = np.frombuffer(all_chars.encode("utf-32-le"), dtype=np.uint32)
    is_space = np.zeros(sys.maxunicode + 1, dtype=np.bool_)
    is_word = np.zeros(sys.maxunicode + 1, dtype=np.bool_)
    for m in re.finditer(r"\s+", all_chars):
        is_space[cps[m.start():m.end()]] = True
    for m in re.finditer(r"\w+", all_chars):
        is_word[cps[m.start():m.end()]] = True
    abbr = [np.frombuffer(a.encode("utf-32-le"), dtype=np.uint32) for a in ABBREVIATIONS]
    off = np.zeros(len(abbr) + 1, dtype=np.int64)
    np.cumsum([a.shape[0] for a in abbr], out=off[1:])
    return is_space, is_word, np.concatenate(abbr), off


@njit(cache=True)
def _in(c, items):
    for x in items:
        if c == x:
            return True
    return False


@njit(cache=True)
def _upper(c):
    return (
        (65 <= c <= 90)
        or (0xC0 <= c <= 0xD6)
        or (0xD8 <= c <= 0xDE)
        or (0x100 <= c <= 0x17F)
        or (0x410 <= c <= 0x42F)
        or c == 0x401
        or (0x391 <= c <= 0x3A9)
    )


@njit(cache=True)
def _caseless(c):
    for lo, hi in CASELESS:
        if lo <= c <= hi:
            return True
    return False


@njit(cache=True)
def _space(c, is_space):
    return c < is_space.shape[0] and is_space[c]


@njit(cache=True)
def _abbrev_before(cps, p, is_word, abbr, off):
    """True when the ``.`` at ``p`` closes an abbreviation or a lone capital."""
    # (?<!\b[A-Z]\.)
    if p >= 1 and 65 <= cps[p - 1] <= 90 and (p == 1 or not is_word[cps[p - 2]]):
        return True
    for k in range(off.shape[0] - 1):
        m = off[k + 1] - off[k]
        s = p - m
        if s < 0:
            continue
        same = True
        for j in range(m):
            if cps[s + j] != abbr[off[k] + j]:
                same = False
                break
        if same and (s == 0 or not is_word[cps[s - 1]]):
            return True
    return False


@njit(cache=True,
      tables=("is_space", "is_word", "abbr", "off", "sp", "end", "close", "cjk_stop", "cjk_close", "line_start"))
def _boundaries_kernel(cps, mode, is_space, is_word, abbr, off, sp, end, close, cjk_stop, cjk_close, line_start):
    n = cps.shape[0]
    out = np.empty(max(16, n // 8), dtype=np.int64)
    k = 0
    p = 0
    while p < n:
        c = cps[p]
        r = -1
        # 1. end punctuation + space (and 2. a period glued to a capitalised word)
        if c == 46 or c == 33 or c == 63 or c == 0x2026:
            ok = True
            if c == 46 and _abbrev_before(cps, p, is_word, abbr, off):
                ok = False
            if ok:
                q = p + 1
                while q < n and _in(cps[q], end):
                    q += 1
                while q < n and _in(cps[q], close):
                    q += 1
                t = q
                while t < n and _in(cps[t], sp):
                    t += 1
                if t < n and cps[t] == 10:
                    t += 1
                    while t < n and _space(cps[t], is_space):
                        t += 1
                    if t < n and not _space(cps[t], is_space) and not (97 <= cps[t] <= 122):
                        r = t
                if r < 0:
                    t = q
                    while t < n and _in(cps[t], sp):
                        t += 1
                    if t > q and t < n and not _space(cps[t], is_space) and not (97 <= cps[t] <= 122):
                        r = t
                if r < 0 and c == 46 and p + 2 < n and _upper(cps[p + 1]) and 97 <= cps[p + 2] <= 122:
                    r = p + 1
        # 3. CJK full stops
        elif _in(c, cjk_stop):
            q = p
            while q < n and _in(cps[q], cjk_stop):
                q += 1
            while q < n and _in(cps[q], cjk_close):
                q += 1
            while q < n and _space(cps[q], is_space):
                q += 1
            r = q
        elif c == 10 or c == 13:
            # 4. a blank line
            if c == 10:
                q = p + 1
                while q < n and (_in(cps[q], sp) or cps[q] == 13):
                    q += 1
                if q < n and cps[q] == 10:
                    q += 1
                    while q < n and _space(cps[q], is_space):
                        q += 1
                    r = q
            if r < 0 and mode == 1:
                # 5. a line break before a capital, digit, quote, bracket or bullet
                q = -1
                if c == 13:
                    if p + 1 < n and cps[p + 1] == 10:
                        q = p + 2
                else:
                    q = p + 1
                if q >= 0:
                    while q < n and _in(cps[q], sp):
                        q += 1
                    if q < n and (_upper(cps[q]) or _in(cps[q], line_start) or _caseless(cps[q])):
                        r = q
            elif r < 0 and mode == 2 and c == 10:
                q = p + 1
                while q < n and _space(cps[q], is_space):
                    q += 1
                r = q
        if r > p:
            if k >= out.shape[0]:
                bigger = np.empty(out.shape[0] * 2, dtype=np.int64)
                bigger[:k] = out[:k]
                out = bigger
            out[k] = r
            k += 1
            p = r
        else:
            p += 1
    return out[:k]


_CONST = tuple(np.array(x, dtype=np.uint32) for x in (_SP, _END, _CLOSE, _CJK_STOP, _CJK_CLOSE, _LINE_START))


def boundaries(cps: np.ndarray, mode: str = "capital") -> np.ndarray:
    """Match ends of ``align._BOUNDARY[mode].finditer(text)``, int64."""
    is_space, is_word, abbr, off = tables()
    return _boundaries_kernel(np.ascontiguousarray(cps, dtype=np.uint32), MODES[mode], is_space, is_word, abbr, off,
                              *_CONST)
