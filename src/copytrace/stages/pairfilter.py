"""Pair filters: which candidate pairs a run may report, from document metadata.

Data contract
-------------
``PairMeta.build(dates, sources, side, options)`` → per-document arrays (in
the engine's document numbering) or ``None`` when no filter is asked for;
``keep_mask(pairs, meta)`` → a bool mask over an ``(k, 2)`` int64 array of
document indices; ``filter_pairs(pairs, meta)`` applies it.  Every engine
calls it on its candidate pairs (exact duplicates and near-duplicate
candidates) *before* verification, so the filters also save verification
and alignment time; since verification judges each pair on its own, the
pairs reported are exactly those ``pairs.parquet`` would hold without the
filter, filtered afterwards (exact duplicates are paired with the first of
their group before filtering, as without a filter).

The filters (all must hold):

* ``pairs_within=DAYS`` (``--pairs-within``, needs ``--date-field``): the two
  dates are at most DAYS apart (dates with times: the exact difference).
  Dates are parsed from ISO 8601 (``2020-01-31``, ``2020-01-31T10:00:00Z``),
  RFC 2822 (HTTP, e-mail), ``31-JAN-2020 10:00:00.00`` (Reuters), a year-month
  or a year; a document whose date is missing or unparsed pairs with none.
* ``pairs="across-sources"`` / ``"within-sources"`` (``--pairs``, needs
  ``--source-field``): the two sources differ / are equal; a document without
  a source pairs with none.
* ``against`` (``--against``): one side is from the inputs (side 0), the
  other from the reference (side 1).
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from copytrace.errors import OptionError

if TYPE_CHECKING:  # pragma: no cover
    from copytrace.options import FindOptions

__all__ = ["PAIRS_MODES", "PairMeta", "check_options", "keep_mask", "filter_pairs", "parse_days"]

PAIRS_MODES = ("all", "across-sources", "within-sources")
_FORMATS = ("%d-%b-%Y %H:%M:%S.%f", "%d-%b-%Y %H:%M:%S", "%d-%b-%Y", "%Y-%m", "%Y", "%B %d, %Y", "%d %B %Y",
            "%Y/%m/%d")


def check_options(opts: "FindOptions") -> None:
    """Raise OptionError for filter options that cannot work (the message
    names the parameters; the CLI shows their flags)."""
    if opts.pairs not in PAIRS_MODES:
        raise OptionError(f"pairs must be one of {', '.join(PAIRS_MODES)}, got {opts.pairs!r}", param="pairs",
                          cli=f"--pairs must be one of {', '.join(PAIRS_MODES)}, got {opts.pairs!r}")
    if opts.pairs_within is not None:
        if not opts.pairs_within >= 0:
            raise OptionError(f"pairs_within must be 0 or more days, got {opts.pairs_within}", param="pairs_within",
                              cli=f"--pairs-within must be 0 or more days, got {opts.pairs_within}")
        if opts.read.date_field is None:
            raise OptionError("pairs_within needs date_field (WARC and HTML inputs: date_field='date')",
                              param="pairs_within",
                              cli="--pairs-within needs --date-field (WARC and HTML inputs: --date-field date)")
    if opts.pairs != "all" and opts.read.source_field is None:
        raise OptionError(f"pairs={opts.pairs!r} needs source_field (WARC and HTML inputs: source_field='source')",
                          param="pairs",
                          cli=f"--pairs {opts.pairs} needs --source-field (WARC and HTML inputs: --source-field source)")
    if isinstance(opts.against, (str, bytes)):
        raise OptionError("against must be a sequence of paths", param="against")


def _parse_one(s: str) -> float:
    s = s.strip()
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        try:
            dt = email.utils.parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            for fmt in _FORMATS:
                try:
                    dt = datetime.strptime(s, fmt)
                    break
                except ValueError:
                    continue
    if dt is None:
        return float("nan")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp() / 86400.0


def parse_days(values: Sequence[str | None]) -> np.ndarray:
    """Dates as float days since 1970-01-01 UTC (NaN: missing or not understood);
    each distinct string is parsed once."""
    cache: dict[str, float] = {}
    out = np.full(len(values), np.nan, dtype=np.float64)
    for i, v in enumerate(values):
        if v is None:
            continue
        d = cache.get(v)
        if d is None:
            d = cache[v] = _parse_one(v)
        out[i] = d
    return out


@dataclass(frozen=True)
class PairMeta:
    """Per-document values the filters look at (index = document number)."""

    days: np.ndarray | None  # float64, NaN unknown
    source: np.ndarray | None  # int64 codes, -1 unknown
    side: np.ndarray | None  # int8: 0 inputs, 1 reference
    within_days: float | None
    mode: str

    @staticmethod
    def build(dates: Sequence[str | None] | None, sources: Sequence[str | None] | None,
              side: np.ndarray | None, opts: "FindOptions") -> "PairMeta | None":
        """The filters of ``opts`` over these documents; None when there are none."""
        days = parse_days(dates) if opts.pairs_within is not None and dates is not None else None
        src = None
        if opts.pairs != "all" and sources is not None:
            names = sorted({s for s in sources if s is not None})
            code = {s: i for i, s in enumerate(names)}
            src = np.fromiter((code.get(s, -1) if s is not None else -1 for s in sources), np.int64, len(sources))
        if days is None and src is None and side is None:
            return None
        return PairMeta(days, src, None if side is None else np.asarray(side, np.int8),
                        opts.pairs_within, opts.pairs)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.days is not None:
            out["pairs_within_days"] = self.within_days
            out["documents_without_date"] = int(np.count_nonzero(np.isnan(self.days)))
        if self.source is not None:
            out["pairs"] = self.mode
            out["documents_without_source"] = int(np.count_nonzero(self.source < 0))
        if self.side is not None:
            out["reference_documents"] = int(np.count_nonzero(self.side == 1))
        return out


def keep_mask(pairs: np.ndarray, meta: PairMeta | None) -> np.ndarray:
    """Which rows of ``pairs`` (``(k, 2)`` document indices) pass every filter."""
    k = pairs.shape[0]
    keep = np.ones(k, dtype=bool)
    if meta is None or k == 0:
        return keep
    a, b = pairs[:, 0], pairs[:, 1]
    if meta.days is not None and meta.within_days is not None:
        with np.errstate(invalid="ignore"):
            keep &= np.abs(meta.days[a] - meta.days[b]) <= meta.within_days  # NaN: False
    if meta.source is not None:
        sa, sb = meta.source[a], meta.source[b]
        known = (sa >= 0) & (sb >= 0)
        keep &= known & ((sa != sb) if meta.mode == "across-sources" else (sa == sb))
    if meta.side is not None:
        keep &= meta.side[a] != meta.side[b]
    return keep


def filter_pairs(pairs: np.ndarray, meta: PairMeta | None) -> np.ndarray:
    """The rows of ``pairs`` that pass every filter (all of them when ``meta`` is None)."""
    if meta is None or pairs.shape[0] == 0:
        return pairs
    return pairs[keep_mask(pairs, meta)]


def meta_from_store(table: Any, order: np.ndarray, side: np.ndarray | None, opts: "FindOptions") -> PairMeta | None:
    """The filters' per-document values from a text store table (``order``:
    sorted position → store row); None when no filter is asked for."""
    if opts.pairs_within is None and opts.pairs == "all" and side is None:
        return None
    import pyarrow as pa

    rows = pa.array(order, pa.int64())
    dates = table.column("date").take(rows).to_pylist() if opts.pairs_within is not None else None
    sources = table.column("source").take(rows).to_pylist() if opts.pairs != "all" else None
    return PairMeta.build(dates, sources, side, opts)


def apply(exact: np.ndarray, near: np.ndarray, meta: PairMeta | None) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The filters on a run's candidates: exact-duplicate pairs and near
    candidates; with a reference (``meta.side``) exact duplicates are first
    paired across the sides (``reference.cross_exact_pairs``).  Also returns
    the counts for summary.json (empty without filters)."""
    if meta is None:
        return exact, near, {}
    if meta.side is not None:
        from copytrace.stages.reference import cross_exact_pairs

        exact = cross_exact_pairs(exact, meta.side)
    n_exact, n_near = exact.shape[0], near.shape[0]
    exact, near = filter_pairs(exact, meta), filter_pairs(near, meta)
    return exact, near, {"removed_by_pair_filters": int(n_exact - exact.shape[0] + n_near - near.shape[0])}


def filter_rows(rows: list, date: str | None, source: str | None, pairs_within: float | None,
                pairs: str = "all") -> list:
    """An index query's candidate rows ``(id, text, source, date)`` that pass
    the filters against the query (its ``date`` and ``source``): the same
    rule as ``keep_mask``, with the query as document 0."""
    if pairs not in PAIRS_MODES:
        raise OptionError(f"--pairs must be one of {', '.join(PAIRS_MODES)}, not {pairs!r}")
    if pairs_within is not None and date is None:
        raise OptionError("--pairs-within needs the query's date (--date)")
    if pairs != "all" and source is None:
        raise OptionError(f"--pairs {pairs} needs the query's source (--source)")
    if not rows or (pairs_within is None and pairs == "all"):
        return rows
    from types import SimpleNamespace

    opts = SimpleNamespace(pairs_within=pairs_within, pairs=pairs)
    meta = PairMeta.build([date] + [r[3] for r in rows], [source] + [r[2] for r in rows], None, opts)  # type: ignore[arg-type]
    pairs_arr = np.stack([np.zeros(len(rows), np.int64), np.arange(1, len(rows) + 1, dtype=np.int64)], axis=1)
    keep = keep_mask(pairs_arr, meta)
    return [r for r, k in zip(rows, keep.tolist(), strict=True) if k]
