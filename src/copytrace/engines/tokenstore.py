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
masks boilerplate on these tokens (``normalize.mask_tokens``), which gives
the tokens of the masked text exactly.
"""

from __future__ import annotations

import numpy as np

from copytrace.stages.normalize import TokenBatch

__all__ = ["TokenStore", "BYTES_PER_TOKEN"]

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
