"""The read stage's tokens, kept for verification (no second tokenization).

Data contract
-------------
``TokenStore(budget)``: ``append(tokens)`` once per read batch
(``normalize.TokenBatch``, the batch's documents in store-row order: batch
after batch, rows numbered on), then ``seal()``; ``batch(rows) -> TokenBatch |
None``: the tokens of store rows ``rows`` as ``tokenize_batch`` gave them
(unmasked), in the order of ``rows``.

The store keeps the arrays the tokenizer made (``hashes`` uint64, ``starts``
and ``ends`` int32: 16 bytes a token), batch by batch, without copying them:
writing them to files in the work directory cost as much CPU as the second
tokenization it saves.  Past ``budget`` bytes (a share of ``--memory-limit``)
the store gives up: it lets go of its arrays, ``batch`` answers None, and
verification tokenizes the texts again, as without a store.  Verification
masks boilerplate on these tokens (``verify_tokens``: ``normalize.mask_tokens``,
and the texts tokenized again only for documents where a span cuts a token),
which gives the tokens of the masked text exactly.  Plain ``find`` and
``--against`` (whose cross candidates touch most of the reference) both verify
from here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from copytrace.stages.normalize import TokenBatch, mask_tokens, splice_docs, tokenize_batch

__all__ = ["TokenStore", "BYTES_PER_TOKEN", "verify_tokens"]

BYTES_PER_TOKEN = 16


class TokenStore:
    """Every document's tokens from the read stage, batch by batch (see the module)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._batches: list[TokenBatch] = []
        self._first_rows: list[int] = [0]  # store row of each batch's first document, then the end
        self._n_tokens = 0
        self._first: np.ndarray | None = None
        self.gave_up = False

    def append(self, tokens: TokenBatch) -> None:
        if self.gave_up:
            return
        n = int(tokens.hashes.shape[0])
        if (self._n_tokens + n) * BYTES_PER_TOKEN > self.budget:
            self.gave_up = True
            self._batches = []
            return
        self._batches.append(tokens)
        self._first_rows.append(self._first_rows[-1] + len(tokens))
        self._n_tokens += n

    def seal(self) -> None:
        """End of the read stage."""
        self._first = np.asarray(self._first_rows, dtype=np.int64)

    def batch(self, rows: np.ndarray) -> TokenBatch | None:
        """The tokens of store rows ``rows`` (unmasked), in that order; None when the store gave up."""
        if self.gave_up or self._first is None:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        which = np.searchsorted(self._first, rows, side="right") - 1  # each row's batch
        local = rows - self._first[which]
        lo = np.empty(rows.shape[0], dtype=np.int64)
        counts = np.empty(rows.shape[0], dtype=np.int64)
        by_batch = np.argsort(which, kind="stable")
        present, first = np.unique(which[by_batch], return_index=True)
        groups = [(b, by_batch[f:t]) for b, f, t in
                  zip(present.tolist(), first.tolist(), [*first[1:].tolist(), rows.shape[0]], strict=True)]
        for b, sel in groups:
            off = self._batches[b].doc_offsets
            lo[sel] = off[local[sel]]
            counts[sel] = off[local[sel] + 1] - lo[sel]
        offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        total = int(offsets[-1])
        starts = np.empty(total, dtype=np.int32)
        ends = np.empty(total, dtype=np.int32)
        hashes = np.empty(total, dtype=np.uint64)
        for b, sel in groups:
            c = counts[sel]
            # the rows' tokens: batch positions lo + k, output positions offsets[row] + k
            k = np.arange(int(c.sum()), dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
            src = np.repeat(lo[sel], c) + k
            dst = np.repeat(offsets[sel], c) + k
            t = self._batches[b]
            starts[dst], ends[dst], hashes[dst] = t.starts[src], t.ends[src], t.hashes[src]
        return TokenBatch(starts, ends, hashes, offsets)

    def close(self) -> None:
        """Let go of the tokens."""
        self._batches = []
        self._first = None


def verify_tokens(
    tokens: TokenStore | None, rows: np.ndarray, mask: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    texts_of: Callable[[np.ndarray], list[str]],
) -> TokenBatch | None:
    """The tokens verification needs for store rows ``rows``, boilerplate
    masked (``mask`` as ``boilerplate.mask_spans`` gives it: positions into
    ``rows``): the kept tokens masked by ``normalize.mask_tokens``; the few
    documents where a span cuts a token are tokenized again from their texts
    (``texts_of(rows)``) with their spans masked and spliced in — the tokens
    ``tokenize_batch(texts_of(rows), mask)`` gives, for all.  None when the
    store gave up (past its budget) or there is none: tokenize the texts."""
    kept = tokens.batch(rows) if tokens is not None else None
    if kept is None:
        return None
    toks, cut = mask_tokens(kept, mask)
    if cut.any():  # a boilerplate span cuts a token of these documents: tokenize their masked texts
        redo = np.flatnonzero(cut)
        assert mask is not None
        sel = np.isin(mask[0], redo)
        sub = (np.searchsorted(redo, mask[0][sel]), mask[1][sel], mask[2][sel])
        toks = splice_docs(toks, redo, tokenize_batch(texts_of(rows[redo]), sub))
    return toks
