"""PAN measures, detection XML and corpus reading (copytrace.evaluation.pan).

Every expected score below is worked out by hand in the comments.  A span is
(this_offset, this_length, source_offset, source_length); its characters are
those of its suspicious range plus those of its source range, so the case
(0, 100, 0, 100) has 200 characters.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from copytrace.errors import InputError, OptionError
from copytrace.evaluation.pan import (
    Span4,
    evaluate,
    load_corpus,
    read_detections,
    run_corpus,
    select_pairs,
    summary_line,
    to_span4,
    write_detections,
)

P = ("susp-a.txt", "src-a.txt")
Q = ("susp-b.txt", "src-b.txt")
CASE = Span4(0, 100, 0, 100)


def approx(x):
    return pytest.approx(x, abs=1e-12)


def check(scores, precision, recall, granularity, plagdet):
    assert scores.precision == approx(precision)
    assert scores.recall == approx(recall)
    assert scores.granularity == approx(granularity)
    assert scores.plagdet == approx(plagdet)


# ---------------------------------------------------------------- measures


def test_perfect_detection():
    # The detection is the case: recall 200/200, precision 200/200, one
    # detection per detected case, F1 = 1, plagdet = 1 / log2(2) = 1.
    s = evaluate({P: [CASE]}, {P: [CASE]})
    check(s, 1, 1, 1, 1)
    assert (s.n_cases, s.n_detections) == (1, 1)


def test_detection_covering_half_a_case():
    # Detection (0,50,0,50) inside case (0,100,0,100): it covers 50 + 50 of
    # the case's 200 chars -> recall 0.5; all its 100 chars lie in the case
    # -> precision 1.  Granularity 1.  F1 = 2*0.5*1/1.5 = 2/3 = plagdet.
    s = evaluate({P: [CASE]}, {P: [Span4(0, 50, 0, 50)]})
    check(s, 1, 0.5, 1, 2 / 3)


def test_case_detected_by_two_detections():
    # Two halves (0,50,0,50) and (50,50,50,50) together cover all 200 chars:
    # recall 1; each lies inside the case: precision (1 + 1)/2 = 1.  Both
    # detect the one case: granularity 2, plagdet = 1 / log2(3).
    s = evaluate({P: [CASE]}, {P: [Span4(0, 50, 0, 50), Span4(50, 50, 50, 50)]})
    check(s, 1, 1, 2, 1 / math.log2(3))
    assert s.plagdet == approx(0.6309297535714574)


def test_overlapping_detections_count_chars_once():
    # (0,60,0,60) and (40,60,40,60) overlap on chars 40..59: their union
    # covers the whole case, recall 1 (not 1.2).  Precision 1, granularity 2.
    s = evaluate({P: [CASE]}, {P: [Span4(0, 60, 0, 60), Span4(40, 60, 40, 60)]})
    check(s, 1, 1, 2, 1 / math.log2(3))


def test_false_detection_in_pair_without_case():
    # Pair P: case detected perfectly.  Pair Q: no case, one detection.
    # Pooled: 1 case, recall 1.  2 detections with precisions 1 and 0 ->
    # macro precision 0.5.  Granularity 1.  F1 = 2*1*0.5/1.5 = 2/3.
    s = evaluate({P: [CASE], Q: []}, {P: [CASE], Q: [Span4(0, 100, 0, 100)]})
    check(s, 0.5, 1, 1, 2 / 3)
    assert (s.n_cases, s.n_detections) == (1, 2)
    # A pair that is only in the detections is a pair without cases too.
    assert evaluate({P: [CASE]}, {P: [CASE], Q: [Span4(0, 100, 0, 100)]}) == s


def test_cases_across_two_pairs_are_macro_averaged():
    # Pair P: case (0,100,0,100), 200 chars, detected fully (recall 1).
    # Pair Q: case (0,10,0,10), 20 chars, not detected (recall 0) — the
    # detection in P at the same offsets belongs to another pair.
    # Macro recall = (1 + 0)/2 = 0.5 (micro would be 200/220).  Precision 1.
    # F1 = 2*0.5*1/1.5 = 2/3.
    s = evaluate({P: [CASE], Q: [Span4(0, 10, 0, 10)]}, {P: [CASE]})
    check(s, 1, 0.5, 1, 2 / 3)
    assert s.n_cases == 2


def test_overlap_in_one_document_only_is_no_detection():
    # Same suspicious range, source range elsewhere: they do not detect each
    # other.  Recall 0, precision 0, granularity 1 (no detected case),
    # plagdet 0.
    s = evaluate({P: [CASE]}, {P: [Span4(0, 100, 500, 100)]})
    check(s, 0, 0, 1, 0)


def test_precision_of_partly_wrong_detections():
    # Official unit test: case (0,100,0,100), detections (100,100,100,100)
    # (adjacent, no overlap: precision 0) and (0,200,0,200) (200 of its 400
    # chars in the case: precision 0.5) -> macro precision 0.25.  Recall 1,
    # granularity 1 (only the second detects the case).
    # F1 = 2*0.25*1/1.25 = 0.4.
    s = evaluate({P: [CASE]}, {P: [Span4(100, 100, 100, 100), Span4(0, 200, 0, 200)]})
    check(s, 0.25, 1, 1, 0.4)


def test_conventions_of_the_official_script():
    # No cases and no detections: everything 1.
    check(evaluate({P: []}, {P: []}), 1, 1, 1, 1)
    check(evaluate({}, {}), 1, 1, 1, 1)
    # Cases but no detections: recall = precision = 0, granularity 1.
    check(evaluate({P: [CASE]}, {}), 0, 0, 1, 0)
    # Detections but no cases: recall = precision = 0, granularity 1.
    check(evaluate({P: []}, {P: [CASE]}), 0, 0, 1, 0)


def test_duplicates_count_once_and_empty_detections_are_dropped():
    # The official script reads spans into sets: a repeated detection is one
    # detection (granularity 1, not 2).  A detection empty in both documents
    # (the official script would divide by zero) is dropped.
    s = evaluate({P: [CASE, CASE]}, {P: [CASE, CASE, Span4(50, 0, 50, 0)]})
    check(s, 1, 1, 1, 1)
    assert (s.n_cases, s.n_detections) == (1, 1)
    with pytest.raises(ValueError):
        evaluate({P: [Span4(5, 0, 5, 0)]}, {})
    with pytest.raises(ValueError):
        evaluate({P: [CASE]}, {P: [Span4(0, -1, 0, 10)]})


def test_passages_are_accepted_as_detections():
    Passage = namedtuple("Passage", "a_start a_end b_start b_end kind score")
    p = Passage(10, 60, 20, 90, "copy", 1.0)
    assert to_span4(p) == Span4(10, 50, 20, 70)
    # Passage (0..50 | 0..50) = Span4(0,50,0,50): the half case again.
    check(evaluate({P: [CASE]}, {P: [Passage(0, 50, 0, 50, "copy", 1.0)]}), 1, 0.5, 1, 2 / 3)


# ---------------------------------------------------------------- XML


def test_xml_round_trip(tmp_path):
    Passage = namedtuple("Passage", "a_start a_end b_start b_end kind score")
    spans = [Span4(3593, 698, 1300, 698), Span4(0, 5, 7, 0)]
    out = tmp_path / "sub" / "suspicious-document00005-source-document01090.xml"
    write_detections(out, "suspicious-document00005.txt", "source-document01090.txt", spans)
    assert read_detections(out) == spans
    assert read_detections(out, name="detected-plagiarism") == spans
    assert read_detections(out, name="plagiarism") == []
    text = out.read_text(encoding="utf-8")
    assert '<document reference="suspicious-document00005.txt">' in text
    assert (
        '<feature name="detected-plagiarism" this_offset="3593" this_length="698" '
        'source_reference="source-document01090.txt" source_offset="1300" source_length="698"/>'
    ) in text
    # Overwrite atomically with passages; names that need escaping; no temp
    # file left behind.
    write_detections(out, 'a&"b.txt', "c<d.txt", [Passage(1, 4, 2, 9, "copy", 0.5)])
    assert read_detections(out) == [Span4(1, 3, 2, 7)]
    assert read_detections(out, source_reference="c<d.txt") == [Span4(1, 3, 2, 7)]
    assert read_detections(out, source_reference="other.txt") == []
    assert sorted(os.listdir(out.parent)) == [out.name]
    # No passages: a valid empty document.
    write_detections(out, "s.txt", "r.txt", [])
    assert read_detections(out) == []


def test_read_truth_file(tmp_path):
    # A PAN truth file: an 'about' feature and plagiarism features.
    f = tmp_path / "t.xml"
    f.write_text(
        '<document reference="s.txt">\n'
        '<feature name="about" authors="x" />\n'
        '<feature name="plagiarism" obfuscation="none" source_length="698" source_offset="1300" '
        'source_reference="r.txt" this_length="698" this_offset="3593" type="artificial" />\n'
        "</document>\n",
        encoding="utf-8",
    )
    assert read_detections(f, name="plagiarism") == [Span4(3593, 698, 1300, 698)]
    (tmp_path / "bad.xml").write_text("<document", encoding="utf-8")
    with pytest.raises(InputError):
        read_detections(tmp_path / "bad.xml")


# ---------------------------------------------------------------- corpus

COPY = "the copied passage is here"


def _truth_xml(susp, feats):
    body = "".join(
        f'<feature name="plagiarism" this_offset="{t0}" this_length="{tl}" source_reference="{src}" '
        f'source_offset="{s0}" source_length="{sl}" />\n'
        for src, (t0, tl, s0, sl) in feats
    )
    return f'<document reference="{susp}">\n{body}</document>\n'


def make_corpus(root: Path) -> Path:
    """A tiny PAN-layout corpus: 01-none (2 pairs, no cases), 02-copy (3 pairs,
    one case each: COPY placed in both documents), and a folder that is not
    part of the layout."""
    (root / "src").mkdir(parents=True)
    (root / "susp").mkdir()
    (root / "misc").mkdir()
    (root / "misc" / "pairs").write_text("x.txt y.txt\n")
    none, copy = root / "01-none", root / "02-copy"
    none.mkdir()
    copy.mkdir()
    lines_none, lines_copy = [], []
    for i in range(2):
        s, r = f"suspicious-document0000{i}.txt", f"source-document0000{i}.txt"
        (root / "susp" / s).write_text(f"nothing shared {i} é\n", encoding="utf-8")
        (root / "src" / r).write_text(f"other words {i}\n", encoding="utf-8")
        (none / f"suspicious-document0000{i}-source-document0000{i}.xml").write_text(_truth_xml(s, []))
        lines_none.append(f"{s} {r}")
    for i in range(5, 8):
        s, r = f"suspicious-document0000{i}.txt", f"source-document0000{i}.txt"
        pre_a, pre_b = "é" * i + " ", "xyz " * i  # code points, not bytes
        (root / "susp" / s).write_text(pre_a + COPY + " tail", encoding="utf-8")
        (root / "src" / r).write_text(pre_b + COPY, encoding="utf-8")
        case = (len(pre_a), len(COPY), len(pre_b), len(COPY))
        (copy / f"suspicious-document0000{i}-source-document0000{i}.xml").write_text(
            _truth_xml(s, [(r, case)]), encoding="utf-8"
        )
        lines_copy.append(f"{s} {r}")
    (none / "pairs").write_text("\n".join(lines_none) + "\n")
    (copy / "pairs").write_text("\n".join(lines_copy) + "\n\n")
    return root


def test_load_corpus_and_select(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    pairs = load_corpus(root)
    assert [(p.folder, p.susp[-9:-4]) for p in pairs] == [
        ("01-none", "00000"),
        ("01-none", "00001"),
        ("02-copy", "00005"),
        ("02-copy", "00006"),
        ("02-copy", "00007"),
    ]
    assert [len(p.truth) for p in pairs] == [0, 0, 1, 1, 1]
    # Offsets are code points: the case starts after i 'é' and a space.
    assert pairs[2].truth == [Span4(6, len(COPY), 20, len(COPY))]
    assert pairs[2].key == ("suspicious-document00005.txt", "source-document00005.txt")

    pick = lambda ps: [(p.folder, p.susp[-5]) for p in ps]  # noqa: E731
    assert pick(select_pairs(pairs, split="even")) == [("01-none", "0"), ("02-copy", "5"), ("02-copy", "7")]
    assert pick(select_pairs(pairs, split="odd")) == [("01-none", "1"), ("02-copy", "6")]
    assert pick(select_pairs(pairs, limit=1)) == [("01-none", "0"), ("02-copy", "5")]
    assert pick(select_pairs(pairs, limit=1, split="odd")) == [("01-none", "1"), ("02-copy", "6")]
    with pytest.raises(OptionError):
        select_pairs(pairs, split="thirds")

    (root / "02-copy" / "suspicious-document00006-source-document00006.xml").unlink()
    with pytest.raises(InputError):
        load_corpus(root)
    with pytest.raises(InputError):
        load_corpus(tmp_path / "nowhere")


_Passage = namedtuple("_Passage", "a_start a_end b_start b_end kind score")
_Alignment = namedtuple("_Alignment", "passages")


def find_copy(a: str, b: str):
    """A test double for the aligner: finds COPY verbatim in both texts."""
    i, j = a.find(COPY), b.find(COPY)
    if i < 0 or j < 0:
        return _Alignment([])
    return _Alignment([_Passage(i, i + len(COPY), j, j + len(COPY), "copy", 1.0)])


def test_run_corpus(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    res = run_corpus(root, find_copy, jobs=1, out_dir=out)
    assert list(res.folders) == ["01-none", "02-copy"]
    none, copy = res.folders["01-none"], res.folders["02-copy"]
    # 01-none: no cases, no detections -> all 1 by convention; 100% no-det.
    check(none.scores, 1, 1, 1, 1)
    assert none.share_no_detection == 1.0 and none.n_pairs == 2
    # 02-copy: every case found exactly.
    check(copy.scores, 1, 1, 1, 1)
    assert copy.share_no_detection == 0.0
    # Pooled: 3 cases, 3 detections, all exact.
    check(res.overall.scores, 1, 1, 1, 1)
    assert res.overall.n_pairs == 5 and res.overall.share_no_detection == pytest.approx(0.4)
    assert re.fullmatch(
        r"plagdet=1\.0000 precision=1\.0000 recall=1\.0000 granularity=1\.0000 pairs_per_s=\d+",
        summary_line(res),
    )
    written = read_detections(out / "02-copy" / "suspicious-document00006-source-document00006.xml")
    assert written == load_corpus(root)[3].truth
    assert read_detections(out / "01-none" / "suspicious-document00000-source-document00000.xml") == []

    # Two worker processes, half the pairs: same scores on the even split.
    res2 = run_corpus(root, find_copy, jobs=2, split="even")
    assert res2.overall.n_pairs == 3
    check(res2.overall.scores, 1, 1, 1, 1)


def test_benchmark_script(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "pan13.py"), str(root), "--jobs", "1", "-q",
         "--align", f"{Path(__file__).stem}:find_copy"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("02-copy") for line in lines)
    assert "01-none: no plagiarism cases; 2/2 pairs (100.0%) with no detection" in lines
    assert re.fullmatch(
        r"plagdet=1\.0000 precision=1\.0000 recall=1\.0000 granularity=1\.0000 pairs_per_s=\d+", lines[-1]
    )
    # A missing engine is one clear line and exit status 2.
    proc = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "pan13.py"), str(root), "--align", "no_such_module:align"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 2 and "cannot load the alignment function" in proc.stderr
