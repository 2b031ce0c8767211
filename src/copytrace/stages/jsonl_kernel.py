"""The compiled part of ``write.jsonl_lines``: Arrow string buffers → JSON
lines, escaped as Python's ``json.dumps(ensure_ascii=False)`` escapes them.

Data contract: ``jsonl_kernel(data, starts, ends, valid, quoted, keys,
key_off)`` — ``data`` uint8 (the UTF-8 bytes of every field), ``starts``/
``ends`` int64 (fields × rows) byte ranges in ``data``, ``valid`` int8
(fields × rows; 1 the value, 0 leaves the key out, 2 writes ``null``), ``quoted`` bool per field (a JSON
string, else copied as is: a number), ``keys`` uint8 with ``key_off`` (the
``{"key":`` / ``,"key":`` prefix of each field) → one uint8 array, the rows
each closed by ``}\n``.  Rows are sized, then written, in parallel.
"""

from __future__ import annotations

from copytrace.kernels import njit, prange
import numpy as np

__all__ = ["jsonl_kernel"]


@njit(cache=True, nogil=True, inline="always")
def esc_len(c):
    if c == 34 or c == 92 or c == 8 or c == 9 or c == 10 or c == 12 or c == 13:
        return 2
    if c < 32:
        return 6
    return 1


@njit(cache=True, nogil=True, parallel=True)
def jsonl_kernel(data, starts, ends, valid, quoted, keys, key_off):
    n_f, n = starts.shape
    size = np.zeros(n + 1, dtype=np.int64)
    for r in prange(n):
        s = 2  # "}\n"
        for f in range(n_f):
            if valid[f, r] == 0:
                continue
            s += key_off[f + 1] - key_off[f]
            if valid[f, r] == 2:
                s += 4
            elif quoted[f]:
                s += 2
                for i in range(starts[f, r], ends[f, r]):
                    s += esc_len(data[i])
            else:
                s += ends[f, r] - starts[f, r]
        size[r + 1] = s
    for r in range(n):
        size[r + 1] += size[r]
    out = np.empty(size[n], dtype=np.uint8)
    for r in prange(n):
        p = size[r]
        for f in range(n_f):
            if valid[f, r] == 0:
                continue
            for i in range(key_off[f], key_off[f + 1]):
                out[p] = keys[i]
                p += 1
            if valid[f, r] == 2:
                out[p] = 110  # null
                out[p + 1] = 117
                out[p + 2] = 108
                out[p + 3] = 108
                p += 4
                continue
            if not quoted[f]:
                for i in range(starts[f, r], ends[f, r]):
                    out[p] = data[i]
                    p += 1
                continue
            out[p] = 34
            p += 1
            for i in range(starts[f, r], ends[f, r]):
                c = data[i]
                if c >= 32 and c != 34 and c != 92:
                    out[p] = c
                    p += 1
                    continue
                out[p] = 92
                if c == 34 or c == 92:
                    out[p + 1] = c
                    p += 2
                elif c == 8:
                    out[p + 1] = 98  # b
                    p += 2
                elif c == 9:
                    out[p + 1] = 116  # t
                    p += 2
                elif c == 10:
                    out[p + 1] = 110  # n
                    p += 2
                elif c == 12:
                    out[p + 1] = 102  # f
                    p += 2
                elif c == 13:
                    out[p + 1] = 114  # r
                    p += 2
                else:
                    out[p + 1] = 117  # u00XX
                    out[p + 2] = 48
                    out[p + 3] = 48
                    out[p + 4] = 48 + (c >> 4)  # c < 32: 0 or 1
                    lo = c & 15
                    out[p + 5] = 48 + lo if lo < 10 else 87 + lo
                    p += 6
            out[p] = 34
            p += 1
        out[p] = 125  # }
        out[p + 1] = 10
    return out

