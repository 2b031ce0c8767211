"""The read stage's tokens, kept for verification (no second tokenization).

Data contract
-------------
``TokenStore(directory, budget)``: ``append(tokens)`` once per read batch
(``normalize.TokenBatch``, the batch's documents in store-row order), then
``seal()``; ``batch(rows) -> TokenBatch | None``: the tokens of store rows
``rows`` as ``tokenize_batch`` gave them (unmasked), in the order of ``rows``.

The tokens go to three flat files in the work directory (``hashes`` uint64,
``starts`` and ``ends`` int32: 16 bytes a token) and are memory-mapped once
sealed, so they live in the page cache, not in the process's heap, and
verification reads only the pages of the documents it verifies.  Past
``budget`` bytes (a share of ``--memory-limit``) the store gives up: the files
are removed, ``batch`` answers None, and verification tokenizes the texts
again, as without a store.  ``close`` removes the files.  Verification masks boilerplate on these tokens
(``normalize.mask_tokens``), which gives the tokens of the masked text exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from copytrace.stages.normalize import TokenBatch

__all__ = ["TokenStore", "BYTES_PER_TOKEN"]

BYTES_PER_TOKEN = 16
_FIELDS = (("hashes", np.uint64), ("starts", np.int32), ("ends", np.int32))


class TokenStore:
    """Every document's tokens from the read stage, in store-row order (see the module)."""

    def __init__(self, directory: Path, budget: int) -> None:
        self.directory = directory
        self.budget = budget
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, BinaryIO] | None = {name: open(directory / f"{name}.bin", "wb") for name, _ in _FIELDS}
        self._counts: list[np.ndarray] = []
        self._n_tokens = 0
        self._arrays: dict[str, np.ndarray] | None = None
        self._offsets: np.ndarray | None = None
        self.gave_up = False

    def append(self, tokens: TokenBatch) -> None:
        if self.gave_up:
            return
        assert self._files is not None
        n = int(tokens.hashes.shape[0])
        if (self._n_tokens + n) * BYTES_PER_TOKEN > self.budget:
            self._give_up()
            return
        for name, dtype in _FIELDS:
            np.ascontiguousarray(getattr(tokens, name), dtype=dtype).tofile(self._files[name])
        self._counts.append(np.diff(tokens.doc_offsets))
        self._n_tokens += n

    def _give_up(self) -> None:
        self.gave_up = True
        self._close_files()
        self._counts = []
        for name, _ in _FIELDS:
            (self.directory / f"{name}.bin").unlink(missing_ok=True)

    def _close_files(self) -> None:
        if self._files is not None:
            for f in self._files.values():
                f.close()
            self._files = None

    def seal(self) -> None:
        """End of the read stage: the files are memory-mapped for reading."""
        self._close_files()
        if self.gave_up or self._arrays is not None:
            return
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, dtype=np.int64)
        self._counts = []
        offsets = np.zeros(counts.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        self._offsets = offsets
        self._arrays = {
            name: (np.asarray(np.memmap(self.directory / f"{name}.bin", dtype=dtype, mode="r"))
                   if self._n_tokens else np.zeros(0, dtype=dtype))
            for name, dtype in _FIELDS
        }

    def batch(self, rows: np.ndarray) -> TokenBatch | None:
        """The tokens of store rows ``rows`` (unmasked), in that order; None when the store gave up."""
        if self.gave_up or self._arrays is None or self._offsets is None:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        lo = self._offsets[rows]
        counts = self._offsets[rows + 1] - lo
        offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # token t of the batch is lo[doc] + (t - offsets[doc]) in the files
        idx = np.arange(int(offsets[-1]), dtype=np.int64) + np.repeat(lo - offsets[:-1], counts)
        a = self._arrays
        return TokenBatch(a["starts"][idx], a["ends"][idx], a["hashes"][idx], offsets)

    def close(self) -> None:
        """Unmap and remove the files (they serve this run only: ``--resume`` tokenizes again)."""
        self._close_files()
        self._arrays = None
        self._offsets = None
        for name, _ in _FIELDS:
            (self.directory / f"{name}.bin").unlink(missing_ok=True)
        try:
            self.directory.rmdir()
        except OSError:
            pass
