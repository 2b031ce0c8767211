"""PAN text alignment: corpus reading, detection XML, measures, corpus runs.

The yardstick is the PAN 2013 text-alignment task (Potthast et al., "An
Evaluation Framework for Plagiarism Detection", COLING 2010; the official
script is ``pan13-text-alignment-eval.py`` / ``perfmeasures.py`` in
``pan-webis-de/pan-code``).  This module re-implements its measures with
numpy and follows the official script's semantics, conventions included:

Spans
    A case (from the truth) or a detection is a :class:`Span4`
    ``(this_offset, this_length, source_offset, source_length)`` inside one
    pair of documents; "this" is the suspicious document.  Offsets and
    lengths count *code points* of the UTF-8-decoded text (Python ``str``
    indices) — checked on the PAN 2013 training corpus, whose files have no
    BOM and whose offsets are code points, not bytes.

Detecting
    Case ``s`` and detection ``r`` of the same pair detect each other when
    they overlap in the suspicious document AND in the source document
    (official ``is_overlapping``: ``b.off + b.len > a.off and b.off < a.off +
    a.len``, in both documents).

Recall (macro)
    Mean over all cases (of all pairs, pooled) of
    ``|s ⊓ ∪ detecting r| / |s|``, where the characters of a span are those
    of its suspicious range plus those of its source range, so ``|s| =
    this_length + source_length``.  Cases with no detecting detection
    count 0.
Precision (macro)
    The same with the roles swapped: the mean over all detections of the
    share of their characters covered by the cases that they detect.
Granularity
    Over the *detected* cases (those with at least one detecting detection),
    the mean number of detections detecting each.
plagdet
    ``F1(precision, recall) / log2(1 + granularity)``.

Conventions taken from the official script:

* no cases and no detections: recall = precision = 1 (and plagdet = 1);
* no cases but some detections, or cases but no detections: recall =
  precision = 0 (so on a folder with no plagiarism alone, e.g.
  ``01-no-plagiarism``, one single detection anywhere makes plagdet 0);
* granularity = 1 when there are no detections or no case is detected;
* plagdet = 0 when recall and precision are both 0;
* cases and detections are *sets*: an exact duplicate span in the same pair
  counts once.

One deviation, where the official script would crash (division by zero): a
detection with zero length in both documents is dropped before scoring.
A truth case with zero length in both documents is an error.

Pooling: the measures of a corpus pool the cases and detections of all its
pairs, as the official script does when it is pointed at one folder of
truth files and one folder of detection files.  :func:`run_corpus` scores
each sub-folder on its own pairs, and the whole corpus on all pairs pooled.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence, Union
from xml.sax.saxutils import quoteattr

import numpy as np

from ..config import IntRange
from ..errors import InputError, OptionError
from ..stages.write import atomic_path

__all__ = [
    "Span4",
    "Scores",
    "PanPair",
    "FolderResult",
    "CorpusResult",
    "read_detections",
    "write_detections",
    "to_span4",
    "evaluate",
    "load_corpus",
    "select_pairs",
    "run_corpus",
    "format_table",
    "summary_line",
    "resolve_align",
    "DEFAULT_ALIGN",
]

#: The engine that :func:`run_corpus` uses when given none.
DEFAULT_ALIGN = "copytrace.stages.align:align"
JOBS = IntRange(0, 4096, none_ok=True)  # worker processes (0 or None: one per CPU)

TRUTH_FEATURE = "plagiarism"
DETECTION_FEATURE = "detected-plagiarism"


class Span4(NamedTuple):
    """One case or detection: a range in the suspicious doc, one in the source."""

    this_offset: int
    this_length: int
    source_offset: int
    source_length: int


PairKey = tuple[str, str]  # (suspicious document name, source document name)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    granularity: float
    plagdet: float
    n_cases: int
    n_detections: int


class PanPair(NamedTuple):
    """One pair of a PAN corpus: its folder, both document names, its truth."""

    folder: str
    susp: str
    src: str
    truth: list[Span4]

    @property
    def key(self) -> PairKey:
        return (self.susp, self.src)


# --------------------------------------------------------------------------
# XML


def read_detections(
    xml_path: str | os.PathLike,
    name: str | None = None,
    source_reference: str | None = None,
) -> list[Span4]:
    """Spans of the ``<feature>`` elements of one PAN XML file, in file order.

    ``name`` selects the feature name: ``"plagiarism"`` for truth files,
    ``"detected-plagiarism"`` for detection files; ``None`` (default) takes
    both.  ``source_reference``, if given, keeps only the features whose
    ``source_reference`` is that document.  Features without the four
    offset/length attributes (e.g. ``about``, or intrinsic annotations)
    are skipped.
    """
    path = Path(xml_path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(str(path), f"not a valid PAN XML file: {exc}") from None
    names = (TRUTH_FEATURE, DETECTION_FEATURE) if name is None else (name,)
    spans: list[Span4] = []
    for feat in root.iter("feature"):
        if feat.get("name") not in names:
            continue
        if source_reference is not None and feat.get("source_reference") != source_reference:
            continue
        vals = [feat.get(k) for k in ("this_offset", "this_length", "source_offset", "source_length")]
        if any(v is None for v in vals):
            continue
        try:
            span = Span4(*(int(v) for v in vals))  # type: ignore[arg-type]
        except ValueError:
            raise InputError(str(path), f"non-integer offset or length in feature {feat.attrib}") from None
        if min(span) < 0:
            raise InputError(str(path), f"negative offset or length in feature {feat.attrib}")
        spans.append(span)
    return spans


def to_span4(passage: Any) -> Span4:
    """A :class:`Span4` from an aligner ``Passage`` (``a_start, a_end, b_start,
    b_end`` with a = suspicious, b = source) or from any 4-sequence already in
    ``(this_offset, this_length, source_offset, source_length)`` form."""
    if hasattr(passage, "a_start"):
        a0, a1 = int(passage.a_start), int(passage.a_end)
        b0, b1 = int(passage.b_start), int(passage.b_end)
        return Span4(a0, a1 - a0, b0, b1 - b0)
    t0, tl, s0, sl = passage
    return Span4(int(t0), int(tl), int(s0), int(sl))


def write_detections(
    path: str | os.PathLike,
    susp_name: str,
    src_name: str,
    passages: Iterable[Any],
) -> None:
    """Write one PAN detection file (atomically: temp file + ``os.replace``).

    ``passages`` are aligner ``Passage`` objects or :class:`Span4`-like
    4-tuples (see :func:`to_span4`).
    """
    path = Path(path)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<document reference={quoteattr(susp_name)}>",
    ]
    src_attr = quoteattr(src_name)
    for p in passages:
        s = to_span4(p)
        lines.append(
            f'<feature name="{DETECTION_FEATURE}" this_offset="{s.this_offset}" '
            f'this_length="{s.this_length}" source_reference={src_attr} '
            f'source_offset="{s.source_offset}" source_length="{s.source_length}"/>'
        )
    lines.append("</document>\n")
    with atomic_path(path) as tmp:
        tmp.write_bytes("\n".join(lines).encode("utf-8"))


# --------------------------------------------------------------------------
# Measures


@dataclass
class _Counts:
    """Sums from which the pooled scores follow; additive over pairs."""

    n_cases: int = 0
    n_detections: int = 0
    sum_recall: float = 0.0  # sum over cases of their recall
    sum_precision: float = 0.0  # sum over detections of their precision
    sum_dets_of_detected: int = 0  # sum over cases of #detections detecting them
    n_detected: int = 0  # cases detected by at least one detection

    def __iadd__(self, other: "_Counts") -> "_Counts":
        self.n_cases += other.n_cases
        self.n_detections += other.n_detections
        self.sum_recall += other.sum_recall
        self.sum_precision += other.sum_precision
        self.sum_dets_of_detected += other.sum_dets_of_detected
        self.n_detected += other.n_detected
        return self

    def scores(self) -> Scores:
        if self.n_cases == 0 and self.n_detections == 0:
            rec = prec = 1.0
        elif self.n_cases == 0 or self.n_detections == 0:
            rec = prec = 0.0
        else:
            rec = self.sum_recall / self.n_cases
            prec = self.sum_precision / self.n_detections
        if self.n_detections == 0 or self.n_detected == 0:
            gran = 1.0
        else:
            gran = self.sum_dets_of_detected / self.n_detected
        return Scores(
            precision=prec,
            recall=rec,
            granularity=gran,
            plagdet=_plagdet(rec, prec, gran),
            n_cases=self.n_cases,
            n_detections=self.n_detections,
        )


def _plagdet(rec: float, prec: float, gran: float) -> float:
    if (rec == 0 and prec == 0) or rec < 0 or prec < 0 or gran < 1:
        return 0.0
    return (2 * rec * prec / (rec + prec)) / math.log2(1 + gran)


def _span_array(spans: Iterable[Any], what: str, drop_empty: bool) -> np.ndarray:
    """Deduplicated spans as an int64 (k, 4) array (set semantics)."""
    uniq = {to_span4(s) for s in spans}
    arr = np.array(sorted(uniq), dtype=np.int64).reshape(-1, 4)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{what}: negative offset or length in {arr[(arr < 0).any(1)][0].tolist()}")
    empty = (arr[:, 1] + arr[:, 3]) == 0
    if empty.any():
        if not drop_empty:
            raise ValueError(f"{what}: a span of length 0 in both documents: {arr[empty][0].tolist()}")
        arr = arr[~empty]
    return arr


def _overlap_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``m[i, j]`` = official ``is_overlapping(a[i], b[j])`` (both documents)."""
    a_t0, a_t1 = a[:, 0, None], a[:, 0, None] + a[:, 1, None]
    a_s0, a_s1 = a[:, 2, None], a[:, 2, None] + a[:, 3, None]
    b_t0, b_t1 = b[None, :, 0], b[None, :, 0] + b[None, :, 1]
    b_s0, b_s1 = b[None, :, 2], b[None, :, 2] + b[None, :, 3]
    return (b_t1 > a_t0) & (b_t0 < a_t1) & (b_s1 > a_s0) & (b_s0 < a_s1)


def _union_length(lo: np.ndarray, hi: np.ndarray) -> int:
    """Number of integers covered by the half-open intervals [lo, hi)."""
    if lo.size == 0:
        return 0
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)  # furthest end among intervals so far
    start = lo.copy()
    start[1:] = np.maximum(lo[1:], reach[:-1])
    return int(np.maximum(hi - start, 0).sum())


def _covered_share(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> np.ndarray:
    """For each span a[i]: the share of its characters (both documents)
    covered by the spans b[j] with m[i, j] (official ``case_recall``)."""
    out = np.zeros(len(a), dtype=np.float64)
    for i in np.flatnonzero(m.any(axis=1)):
        bi = b[m[i]]
        covered = 0
        for off, ln in ((0, 1), (2, 3)):
            a_off, a_len = a[i, off], a[i, ln]
            lo = np.clip(bi[:, off] - a_off, 0, a_len)
            hi = np.clip(bi[:, off] + bi[:, ln] - a_off, 0, a_len)
            covered += _union_length(lo, hi)
        out[i] = covered / (a[i, 1] + a[i, 3])
    return out


def _pair_counts(cases: Iterable[Any], detections: Iterable[Any], key: Any = None) -> _Counts:
    c = _span_array(cases, f"truth of {key}", drop_empty=False)
    d = _span_array(detections, f"detections of {key}", drop_empty=True)
    out = _Counts(n_cases=len(c), n_detections=len(d))
    if len(c) == 0 or len(d) == 0:
        return out
    case_by_det = _overlap_matrix(c, d)  # [case, det]: det detects case
    det_by_case = _overlap_matrix(d, c)  # [det, case]: case overlaps det
    out.sum_recall = float(_covered_share(c, d, case_by_det).sum())
    out.sum_precision = float(_covered_share(d, c, det_by_case).sum())
    per_case = case_by_det.sum(axis=1)
    out.sum_dets_of_detected = int(per_case.sum())
    out.n_detected = int((per_case > 0).sum())
    return out


def _counts(truth: Mapping[Any, Sequence[Any]], detections: Mapping[Any, Sequence[Any]]) -> _Counts:
    total = _Counts()
    for key in list(truth) + [k for k in detections if k not in truth]:
        total += _pair_counts(truth.get(key, ()), detections.get(key, ()), key)
    return total


def evaluate(
    truth: Mapping[PairKey, Sequence[Any]],
    detections: Mapping[PairKey, Sequence[Any]],
) -> Scores:
    """PAN precision, recall, granularity and plagdet over a set of pairs.

    ``truth`` and ``detections`` map a pair key ``(susp_name, src_name)`` to
    its spans (:class:`Span4` or aligner passages).  A pair missing from
    one of the mappings has no spans there.  Cases and detections of all
    pairs are pooled (see the module docstring for the conventions).
    """
    return _counts(truth, detections).scores()


# --------------------------------------------------------------------------
# Corpus

_FOLDER_RE = re.compile(r"^\d+-")


def _truth_name(susp: str, src: str) -> str:
    return f"{os.path.splitext(susp)[0]}-{os.path.splitext(src)[0]}.xml"


def _unsafe_name(name: str) -> str | None:
    """Why a document name from a pairs file could lead outside its folder (None: it cannot).
    The detection XML is named after both documents, so such a name would also write outside
    the output directory."""
    if os.path.isabs(name) or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if any(part == ".." for part in re.split(r"[/\\]", name)):
        return "leads out of its folder ('..')"
    return None


def _read_pairs(pairs_file: Path) -> list[tuple[int, str, str]]:
    """(line number, susp name, src name) of every non-blank line; a name that is absolute or
    contains '..' is an error naming the line (:func:`_unsafe_name`)."""
    out = []
    with open(pairs_file, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(str(pairs_file), f"not UTF-8 text (byte {e.start + 1} of the line)", line=lineno) from None
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise InputError(str(pairs_file), "expected 'SUSP_NAME SRC_NAME'", line=lineno)
            for name in fields:
                why = _unsafe_name(name)
                if why:
                    raise InputError(str(pairs_file), f"document name {name!r} {why}: names must be relative "
                                     "to their folder, without '..' (the detection XML is named after them and "
                                     "must stay inside the output directory)", line=lineno)
            out.append((lineno, fields[0], fields[1]))
    return out


def load_corpus(corpus_dir: str | os.PathLike) -> list[PanPair]:
    """All pairs of a corpus in the PAN 2013 text-alignment layout.

    The layout: ``src/`` and ``susp/`` hold the documents; every sub-folder
    whose name starts with digits and a dash (``01-no-plagiarism``, ...) and
    holds a ``pairs`` file is one folder of pairs, with one truth XML per
    pair named ``<susp stem>-<src stem>.xml``.  Folders are taken in name
    order, pairs in ``pairs``-file order.  A corpus with no such sub-folder
    but a ``pairs`` file at its top is read as one folder named after it.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise InputError(str(root), "no such corpus directory")
    folders = sorted(
        p for p in root.iterdir() if p.is_dir() and _FOLDER_RE.match(p.name) and (p / "pairs").is_file()
    )
    if not folders:
        if (root / "pairs").is_file():
            folders = [root]
        else:
            raise InputError(str(root), "not a PAN corpus: no 'NN-*' folder with a 'pairs' file")
    out: list[PanPair] = []
    for folder in folders:
        fname = folder.name
        for _, susp, src in _read_pairs(folder / "pairs"):
            xml_path = folder / _truth_name(susp, src)
            if not xml_path.is_file():
                raise InputError(str(xml_path), f"truth file missing for pair {susp} {src}")
            truth = read_detections(xml_path, name=TRUTH_FEATURE, source_reference=src)
            out.append(PanPair(fname, susp, src, truth))
    return out


def select_pairs(pairs: Sequence[PanPair], limit: int | None = None, split: str = "all") -> list[PanPair]:
    """Per folder: keep the pairs whose index (0-based, in ``pairs``-file
    order) is even / odd / any (``split``), then the first ``limit`` of them."""
    if split not in ("all", "even", "odd"):
        raise OptionError(f"split must be 'all', 'even' or 'odd', not {split!r}")
    if limit is not None and limit < 0:
        raise OptionError(f"limit must be >= 0, not {limit}")
    index: dict[str, int] = {}
    kept: dict[str, int] = {}
    out = []
    for p in pairs:
        i = index.get(p.folder, 0)
        index[p.folder] = i + 1
        if (split == "even" and i % 2) or (split == "odd" and not i % 2):
            continue
        if limit is not None and kept.get(p.folder, 0) >= limit:
            continue
        kept[p.folder] = kept.get(p.folder, 0) + 1
        out.append(p)
    return out


# --------------------------------------------------------------------------
# Running an aligner over a corpus

AlignFn = Union[Callable[[str, str], Any], str]


@dataclass
class FolderResult:
    folder: str
    n_pairs: int
    scores: Scores
    seconds: float  # wall-clock
    share_no_detection: float  # share of pairs with no detection
    align_seconds: float = 0.0  # summed over pairs, in the workers

    @property
    def pairs_per_s(self) -> float:
        return self.n_pairs / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class CorpusResult:
    folders: dict[str, FolderResult]
    overall: FolderResult
    #: folder -> pair key -> detections (Span4)
    detections: dict[str, dict[PairKey, list[Span4]]] = field(default_factory=dict)


def resolve_align(spec: AlignFn) -> Callable[[str, str], Any]:
    """The function itself, or the one named by ``"module:function"``."""
    if callable(spec):
        return spec
    module, _, attr = str(spec).partition(":")
    if not module or not attr:
        raise OptionError(f"align function must be 'module:function', not {spec!r}")
    fn: Any = import_module(module)
    for part in attr.split("."):
        fn = getattr(fn, part)
    return fn


def _passages(result: Any) -> list[Span4]:
    passages = result.passages if hasattr(result, "passages") else result
    return [to_span4(p) for p in passages]


_worker_align: Callable[[str, str], Any] | None = None


# numba's OpenMP threads make fork unsafe once a kernel has run: start workers
# from a clean forkserver process instead.
_MP = multiprocessing.get_context("forkserver")


def _init_worker(spec: AlignFn) -> None:
    global _worker_align
    _worker_align = resolve_align(spec)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _align_task(task: tuple[str, str, str, str, str | None]) -> tuple[list[Span4], float]:
    susp, src, susp_path, src_path, out_path = task
    assert _worker_align is not None
    try:
        a, b = _read_text(susp_path), _read_text(src_path)
        t0 = time.perf_counter()
        spans = _passages(_worker_align(a, b))
        dt = time.perf_counter() - t0
    except Exception as exc:  # name the pair; keep the original as the cause
        raise RuntimeError(f"aligning {susp} with {src} failed: {type(exc).__name__}: {exc}") from exc
    if out_path is not None:
        write_detections(out_path, susp, src, spans)
    return spans, dt


def _default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def run_corpus(
    corpus_dir: str | os.PathLike,
    align_fn: AlignFn = DEFAULT_ALIGN,
    jobs: int | None = None,
    out_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    split: str = "all",
    progress: Callable[[str], None] | None = None,
) -> CorpusResult:
    """Align every (selected) pair of a PAN corpus and score the detections.

    ``align_fn(susp_text, src_text)`` returns an object with ``.passages``
    (aligner ``Passage`` objects, a = suspicious, b = source) or a list of
    them; it may be given as ``"module:function"``, imported lazily (in the
    workers too).  With ``jobs`` > 1 the pairs run in that many worker
    processes (a callable must then be picklable, i.e. defined at module top
    level); the default is the number of usable cores.  Texts are read as
    UTF-8.  With ``out_dir`` one PAN detection XML per pair is written to
    ``out_dir/<folder>/<susp stem>-<src stem>.xml`` (the corpus layout, so
    the official script can score a folder).  ``limit`` and ``split`` select
    pairs per folder (:func:`select_pairs`).

    Folders run one after another (so each has its own wall-clock time);
    each is scored on its own pairs, ``overall`` on all pairs pooled, with
    its time covering everything from reading the corpus on.
    """
    t_start = time.perf_counter()
    root = Path(corpus_dir)
    pairs = select_pairs(load_corpus(root), limit, split)
    jobs = _default_jobs() if jobs is None else int(jobs)
    if jobs < 1:
        raise OptionError(f"jobs must be >= 1, not {jobs}")
    out_root = Path(out_dir) if out_dir is not None else None

    by_folder: dict[str, list[PanPair]] = {}
    for p in pairs:
        by_folder.setdefault(p.folder, []).append(p)
    for p in pairs:  # fail before any work if a document is missing
        for sub, name in (("susp", p.susp), ("src", p.src)):
            if not (root / sub / name).is_file():
                raise InputError(str(root / sub / name), f"document of pair {p.susp} {p.src} missing")

    executor = None
    if jobs > 1 and len(pairs) > 1:
        executor = ProcessPoolExecutor(
            max_workers=min(jobs, len(pairs)), initializer=_init_worker, initargs=(align_fn,), mp_context=_MP
        )
    else:
        _init_worker(align_fn)

    folders: dict[str, FolderResult] = {}
    all_dets: dict[str, dict[PairKey, list[Span4]]] = {}
    total = _Counts()
    total_no_det = 0
    total_align_s = 0.0
    try:
        for folder, fpairs in by_folder.items():
            t0 = time.perf_counter()
            tasks = [
                (
                    p.susp,
                    p.src,
                    str(root / "susp" / p.susp),
                    str(root / "src" / p.src),
                    str(out_root / folder / _truth_name(p.susp, p.src)) if out_root else None,
                )
                for p in fpairs
            ]
            if executor is None:
                results = [_align_task(t) for t in tasks]
            else:
                chunk = max(1, min(32, len(tasks) // (jobs * 8)))
                results = list(executor.map(_align_task, tasks, chunksize=chunk))
            seconds = time.perf_counter() - t0
            dets = {p.key: spans for p, (spans, _) in zip(fpairs, results, strict=True)}
            counts = _Counts()
            for p in fpairs:
                counts += _pair_counts(p.truth, dets[p.key], p.key)
            no_det = sum(1 for spans, _ in results if not spans)
            align_s = sum(dt for _, dt in results)
            folders[folder] = FolderResult(
                folder=folder,
                n_pairs=len(fpairs),
                scores=counts.scores(),
                seconds=seconds,
                share_no_detection=no_det / len(fpairs),
                align_seconds=align_s,
            )
            all_dets[folder] = dets
            total += counts
            total_no_det += no_det
            total_align_s += align_s
            if progress is not None:
                progress(
                    f"{folder}: {len(fpairs)} pairs in {seconds:.1f} s, "
                    f"plagdet {folders[folder].scores.plagdet:.4f}"
                )
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)

    overall = FolderResult(
        folder="overall",
        n_pairs=len(pairs),
        scores=total.scores(),
        seconds=time.perf_counter() - t_start,
        share_no_detection=total_no_det / len(pairs) if pairs else 0.0,
        align_seconds=total_align_s,
    )
    return CorpusResult(folders=folders, overall=overall, detections=all_dets)


# --------------------------------------------------------------------------
# Reporting


def format_table(result: CorpusResult) -> str:
    """The per-folder table plus the overall row, as plain text."""
    rows = list(result.folders.values()) + [result.overall]
    width = max([len("folder")] + [len(r.folder) for r in rows])
    head = (
        f"{'folder':<{width}}  {'pairs':>6} {'cases':>6} {'dets':>6}  {'precision':>9} {'recall':>7} "
        f"{'granularity':>11} {'plagdet':>7}  {'pairs/s':>8} {'no-det':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        if r is result.overall:
            lines.append("-" * len(head))
        s = r.scores
        lines.append(
            f"{r.folder:<{width}}  {r.n_pairs:>6} {s.n_cases:>6} {s.n_detections:>6}  {s.precision:>9.4f} "
            f"{s.recall:>7.4f} {s.granularity:>11.4f} {s.plagdet:>7.4f}  {r.pairs_per_s:>8.1f} "
            f"{100 * r.share_no_detection:>6.1f}%"
        )
    for r in result.folders.values():
        if r.scores.n_cases == 0:
            n_none = round(r.share_no_detection * r.n_pairs)
            lines.append(
                f"{r.folder}: no plagiarism cases; {n_none}/{r.n_pairs} pairs "
                f"({100 * r.share_no_detection:.1f}%) with no detection"
            )
    return "\n".join(lines)


def summary_line(result: CorpusResult) -> str:
    """``plagdet=… precision=… recall=… granularity=… pairs_per_s=N`` (overall)."""
    s = result.overall.scores
    pps = result.overall.pairs_per_s
    pps_int = int(round(pps)) if math.isfinite(pps) else 0
    return (
        f"plagdet={s.plagdet:.4f} precision={s.precision:.4f} recall={s.recall:.4f} "
        f"granularity={s.granularity:.4f} pairs_per_s={pps_int}"
    )


def align_pairs_file(
    pairs_file: str | os.PathLike,
    susp_dir: str | os.PathLike,
    src_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    jobs: int | None = None,
    align_fn: AlignFn = DEFAULT_ALIGN,
    on_pair: Callable[[], None] | None = None,
) -> int:
    """Align the pairs listed in ``pairs_file`` (lines "susp.txt src.txt") and
    write one PAN detection XML per pair, ``<susp stem>-<src stem>.xml``, into
    ``out_dir``.  Returns the number of pairs.  Missing documents are an
    :class:`InputError` naming the pairs-file line, raised before any work.
    ``jobs``: worker processes (None or 0: one per CPU)."""
    JOBS("jobs", jobs)
    pairs_path = Path(pairs_file)
    if not pairs_path.is_file():
        raise InputError(str(pairs_path), "no such pairs file")
    tasks: list[tuple[str, str, str, str, str | None]] = []
    for lineno, susp, src in _read_pairs(pairs_path):
        sp, rp = Path(susp_dir) / susp, Path(src_dir) / src
        for p in (sp, rp):
            if not p.is_file():
                raise InputError(str(pairs_path), f"no such document: {p}", lineno)
        out = Path(out_dir) / _truth_name(susp, src)
        tasks.append((susp, src, str(sp), str(rp), str(out)))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for t in tasks:  # names in subfolders (`sub/a.txt`) write into the same subfolders of out_dir
        Path(t[4]).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    jobs = jobs or _default_jobs()
    if jobs <= 1 or len(tasks) <= 1:
        _init_worker(align_fn)
        for t in tasks:
            _align_task(t)
            if on_pair:
                on_pair()
    else:
        with ProcessPoolExecutor(
            max_workers=jobs, initializer=_init_worker, initargs=(align_fn,), mp_context=_MP
        ) as pool:
            for _ in pool.map(_align_task, tasks, chunksize=8):
                if on_pair:
                    on_pair()
    return len(tasks)
