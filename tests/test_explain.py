"""Direction and changes on the seed pair (000: ThinkPol's AP reprint is the
source; 001: The Independent's shorter rewrite with a donation appeal)."""

from __future__ import annotations

from collections import Counter

import pytest

from helpers import SEEDS
from copytrace import compare
from copytrace.explain import changes, direction, wire_credits, word_diff
from copytrace.stages.align import align

A = sorted(SEEDS.glob("000_*.txt"))[0].read_text(encoding="utf-8")
B = sorted(SEEDS.glob("001_*.txt"))[0].read_text(encoding="utf-8")
APPEAL = (B.index("Your support helps us"), B.index("all the difference.") + len("all the difference."))


@pytest.fixture(scope="module")
def al():
    return align(A, B)


def test_wire_credits():
    assert "MOSCOW (AP) —" in wire_credits(A)
    assert "Associated Press" in wire_credits(A)
    assert wire_credits(B) == []
    assert wire_credits("LONDON (Reuters) - Shares fell.")[:2] == ["LONDON (Reuters) -", "(Reuters)"]
    assert wire_credits("The APPLE app.") == []


def test_wire_credits_skip_changes_nothing():
    """Patterns are skipped on texts lacking their literals: the same credits, in the same order,
    as scanning every pattern."""
    from copytrace.explain import WIRE_PATTERNS

    texts = [A, B, "PARIS (AFP) — Talks resumed. -- UPI", "BERLIN (dpa) - x — AP. Agence France-Presse",
             "by the Associated Press and Reuters\nWASHINGTON (UPI) – y", "CAPITAL PAPER -APPLE - PA",
             "(PA) (AP)(Reuters) -\tReuters, — dpa", "Agence France Presse; ASSOCIATED PRESS", ""]
    for t in texts:
        every = [m.group(0).strip() for _, pat in WIRE_PATTERNS for m in pat.finditer(t)]
        assert wire_credits(t) == every
    assert wire_credits(texts[2]) == ["PARIS (AFP) —", "(AFP)", "- UPI"]


def test_direction_seed_pair(al):
    d = direction(A, B, al)
    assert d.original == "a" and d.confidence > 0.5
    assert any("wire credit" in r for r in d.reasons)
    assert any("contains more" in r for r in d.reasons)
    # symmetric
    d2 = direction(B, A, align(B, A))
    assert d2.original == "b" and d2.confidence == pytest.approx(d.confidence)
    # works with a Comparison too
    assert direction(A, B, compare(A, B)).original == "a"


def test_direction_dates_decide(al):
    d = direction(A, B, al, date_a="2021-06-30", date_b="2021-06-29")
    assert d.original == "b"
    assert d.reasons[0].startswith("b is dated earlier")


def test_direction_undecided():
    text = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu."
    al = align(text, text)
    d = direction(text, text, al)
    assert d.original is None and d.confidence == 0.0


def test_changes_seed_pair(al):
    ch = changes(A, B, al, [APPEAL])
    kinds = Counter(c.kind for c in ch)
    # the appeal: added boilerplate, every sentence of it
    added_bp = [c for c in ch if c.kind == "added" and c.boilerplate]
    assert len(added_bp) == 9
    assert all(APPEAL[0] <= c.copy_span[0] and c.copy_span[1] <= APPEAL[1] for c in added_bp)
    # the contributor line and byline are cut
    cut_text = [A[c.source_span[0] : c.source_span[1]] for c in ch if c.kind == "cut"]
    assert any(t.startswith("Associated Press writer Yuras Karmanau") for t in cut_text)
    assert "Vladimir Isachenkov, The Associated Press" in cut_text
    # the headline is kept verbatim, most matched sentences are reworded
    kept = [c for c in ch if c.kind == "kept"]
    assert [A[c.source_span[0] : c.source_span[1]] for c in kept] == ["Putin hosts leader of Belarus for talks on closer ties"]
    assert kinds["reworded"] >= 8 and kinds["reworded"] > kinds["kept"]
    for c in ch:
        if c.kind == "reworded":
            assert c.diff and {op for op, _ in c.diff} <= {"=", "-", "+"}
            assert 0 < c.similarity < 1
    # the copy is covered exactly once, in reading order
    copy_spans = [c.copy_span for c in ch if c.copy_span]
    assert copy_spans == sorted(copy_spans)
    # without spans the appeal is plain "added"
    ch2 = changes(A, B, al)
    assert not any(c.boilerplate for c in ch2)
    assert sum(1 for c in ch2 if c.kind == "added") == sum(1 for c in ch if c.kind == "added")


def test_changes_moved():
    s1 = "The mayor opened the new bridge over the river on Monday morning."
    s2 = "Hundreds of residents gathered to watch the ribbon cutting ceremony."
    s3 = "The project cost twelve million dollars and took three years to finish."
    s4 = "Local businesses expect more customers from the neighbouring town."
    src = " ".join([s1, s2, s3, s4])
    cpy = " ".join([s1, s3, s4, s2])
    al = align(src, cpy)
    kinds = [c.kind for c in changes(src, cpy, al)]
    assert kinds.count("moved") == 1 and kinds.count("kept") == 3


def test_word_diff():
    ops = word_diff("the big red dog".split(), "the small red dog barked".split())
    assert ops == [("=", "the"), ("-", "big"), ("+", "small"), ("=", "red dog"), ("+", "barked")]


def test_changes_no_alignment():
    al = type("A", (), {"passages": []})()
    ch = changes("One two three four five.", "Six seven eight nine ten.", al)
    assert [c.kind for c in ch] == ["cut", "added"]  # a cut with no kept sentence before it comes first
