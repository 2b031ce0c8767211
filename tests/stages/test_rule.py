"""One rule for "is a copy" (stages/rule.py): compare, find and the index agree."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import copytrace
from copytrace import Index
from copytrace.stages import rule
from copytrace.stages.align import align
from copytrace.stages.normalize import tokenize

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "examples" / "seeds"
ORIGINAL = SEEDS / "000_9c66197dbdb99078.txt"
REWORDED = SEEDS / "001_c6b00abf72943f53.txt"


def _syndicate():
    bench = str(ROOT / "benchmarks")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import syndicate

    return syndicate


def test_find_with_no_options_pairs_the_seeds(tmp_path):
    res = copytrace.find(SEEDS, tmp_path / "out", progress=False, report=False)
    pairs = res.pairs.to_pylist()
    assert len(pairs) == 1
    p = pairs[0]
    # reworded: the 5-gram containment alone is far below the threshold, the aligned text decides
    assert max(p["containment_a_in_b"], p["containment_b_in_a"]) < 0.5 <= p["similarity"]
    cmp = copytrace.compare(ORIGINAL, REWORDED)
    assert cmp.is_copy() and p["similarity"] == pytest.approx(cmp.similarity, abs=1e-6)
    counts = json.loads((tmp_path / "out" / "summary.json").read_text())["counts"]["rule"]
    assert counts == {"candidates": 1, "rejected_before_alignment": 0, "judged": 1, "paired": 1,
                      "paired_by_shingles": 0, "paired_by_aligned_passages": 1, "rejected": 0}


def test_no_align_is_the_shingle_floor_and_says_so(tmp_path):
    res = copytrace.find(SEEDS, tmp_path / "out", progress=False, report=False, align=False)
    assert res.pairs.num_rows == 0  # 5-gram containment 0.23 < 0.5: the fast path misses a reworded copy
    counts = res.summary["counts"]["rule"]
    assert counts["candidates"] == 1 and counts["rejected"] == 1 and counts["paired"] == 0


def test_index_query_with_defaults_returns_the_original_first(tmp_path):
    syn = _syndicate()
    others = [{"id": f"other{i}", "text": t} for i, t in enumerate(syn.synthetic_base(30, seed=3))]
    with Index.create(tmp_path / "i.duckdb") as idx:
        idx.add([{"id": "original", "text": ORIGINAL.read_text(encoding="utf-8")}] + others)
        for passages in (True, False):
            matches = idx.query(REWORDED.read_text(encoding="utf-8"), with_passages=passages)
            assert matches and matches[0].doc_id == "original"
            # similarity never depends on showing the passages
            assert matches[0].similarity == pytest.approx(copytrace.compare(REWORDED, ORIGINAL).similarity, abs=1e-6)
            assert bool(matches[0].passages) == passages


def test_template_alike_stories_are_not_copies():
    syn = _syndicate()
    import random

    for make in syn._TEMPLATES:
        rng = random.Random(7)
        texts = []
        for _ in range(2):
            title, paras = make(rng)
            texts.append(title + "\n\n" + "\n\n".join(paras))
        cmp = copytrace.compare(texts[0], texts[1])
        assert not cmp.is_copy(), (make.__name__, cmp.explanation)
        assert cmp.passages or cmp.similarity < 0.5


def test_anchor_agreement_tells_a_reworded_copy_from_a_template():
    a = ("Acme Industries said on Tuesday its third-quarter net income rose to 41.2 mln dlrs, or 93 cts a share, "
         "from 30.5 mln dlrs a year earlier. Revenues rose to 812.7 mln dlrs from 744.1 mln dlrs, the "
         "Denver-based company said. Chief executive Ilse Varga said the results reflected higher sales.")
    copy = ("Acme Industries reported on Tuesday that its third-quarter net income climbed to 41.2 mln dlrs, or 93 "
            "cts a share, from 30.5 mln dlrs a year earlier. Revenues increased to 812.7 mln dlrs from 744.1 mln "
            "dlrs, the Denver-based firm stated. Chief executive Ilse Varga noted the results reflected higher sales.")
    other = ("Borax Holdings said on Tuesday its third-quarter net income rose to 17.9 mln dlrs, or 21 cts a share, "
             "from 12.3 mln dlrs a year earlier. Revenues rose to 455.2 mln dlrs from 398.6 mln dlrs, the "
             "Austin-based company said. Chief executive Tomas Reyes said the results reflected higher sales.")
    ta, tc, to = tokenize(a), tokenize(copy), tokenize(other)
    whole = lambda t: [(0, len(t))]  # noqa: E731
    assert rule.anchor_agreement(a, ta, whole(a), copy, tc, whole(copy)) >= 0.9
    assert rule.anchor_agreement(a, ta, whole(a), other, to, whole(other)) <= 0.2
    al = align(a, other, tokens_a=ta, tokens_b=to)
    assert rule.aligned_evidence(a, ta, other, to, al)[0] < 0.5


# Wire briefs written from one template (shapes of Reuters-21578 stories that the rule once chained):
# the template's words and its common names (the SEC, the Fed) align; the figures and the subject do not.
_HOG = ("{place} HOGS UP {move} DLR - PRIVATE SOURCES\n\n    Hog prices opened {move} dlr higher,\n"
        "private sources said. Top {top} dlrs per cwt.\n Reuter")
_DEB = ("{caps} <{tick}> FILES TO OFFER CONVERTIBLE DEBENTURES\n\n    {name} Corp said it filed with the\n"
        "Securities and Exchange Commission a registration statement\ncovering a {amount} mln dlr issue of "
        "convertible subordinated\ndebentures{due}.\n    {tail}\n Reuter")
_EURO = ("{caps} ISSUES {amt} MLN DLR EUROBOND\n\n    {name} is issuing a {amt} mln dlr eurobond due {due} paying "
         "{cpn}\npct and priced at {px}, lead manager {lead} said.\n    The non-callable bond is available in "
         "denominations of 5,000 dlrs and\nwill be listed in Luxembourg.\n    The selling concession is {sc} pct "
         "while management and underwriting\ncombined pays 5/8 pct.\n Reuter")
_DEB_A = _DEB.format(caps="ALDERCO", tick="ALD", name="Alderco", amount=75, due="",
                     tail="The company named Harlow Brothers Inc as manager of the\noffering.")


@pytest.mark.parametrize("a,b", [
    (_HOG.format(place="DOVER", move="1.00", top="51.50"), _HOG.format(place="KENT FALLS", move="1.50", top="52.00")),
    (_DEB_A, _DEB.format(caps="BRISKDATA", tick="BRSK", name="Briskdata", amount=65, due=" due 2012",
                         tail="Proceeds will be used to reduce borrowings under its bank\ncredit line, it said.")),
    (_EURO.format(caps="KORVELL", amt=100, name="Korvell Finance NV", due="April 30, 1992", cpn="8-1/4", px="par",
                  lead="Banque Ardent Capital Markets", sc="1-1/4"),
     _EURO.format(caps="TOSAMI", amt=150, name="Tosami Kogyo Co", due="May 15, 1994", cpn="7-3/4", px="101-1/8",
                  lead="Nomura International Ltd", sc="1-3/8")),
])
def test_template_briefs_with_other_figures_and_subjects_are_not_copies(a, b):
    cmp = copytrace.compare(a, b)
    assert not cmp.is_copy(), cmp.explanation
    assert cmp.passages  # the template aligns: the anchors inside the passages decide


def test_a_reworded_brief_that_keeps_its_figures_and_names_is_a_copy():
    copy = ("Alderco seeks to sell convertible debentures\n\nAlderco Corp has filed a registration statement "
            "with the Securities and Exchange Commission covering a 75 mln dlr offering of convertible "
            "subordinated debentures, the company said. Harlow Brothers Inc was named manager of the offering."
            "\n\nSubscribe to our newsletter for more business news every morning.")
    cmp = copytrace.compare(_DEB_A, copy)
    assert cmp.is_copy() and "aligned passages" in cmp.explanation, cmp.explanation
    assert max(cmp.containment_a_in_b, cmp.containment_b_in_a) < 0.5  # reworded: shingles alone miss it


def test_figures_are_read_on_characters():
    from copytrace.stages.normalize import to_codepoints

    text = "Top 51.50 dlrs, 6-3/16 pct, 3,326,000 shares on April 30, 1992. 5 - 6"
    starts, ends, hashes = rule._figures(to_codepoints(text))
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == ["51.50", "6-3/16", "3,326,000", "30", "1992"]
    again = rule._figures(to_codepoints("1992 and 51.50"))[2]
    assert set(again) <= set(hashes) and len(set(hashes)) == 5


@pytest.mark.parametrize("a,b", [("hello", "hello"), ("hello", "world"), ("x" * 50, "word " * 20)])
def test_tiny_texts_give_a_verdict(a, b):
    cmp = copytrace.compare(a, b)
    assert cmp.explanation.startswith("COPIES" if cmp.is_copy() else "NOT COPIES")
    assert 0.0 <= cmp.similarity <= 1.0


def test_compare_find_and_index_agree_on_a_generated_corpus(tmp_path):
    """Every pair of a 2,000-document corpus (copies edited at strength 0.3, template-alike
    hard negatives) gets the same verdict and similarity from find, index query and compare.
    Boilerplate detection is off: it masks text in find only (the index has no corpus view)."""
    syn = _syndicate()
    base = [t[:700] for t in syn.synthetic_base(120, seed=5)]  # short documents: a fast test
    docs, _ = syn.generate(2000, 0.3, 0.3, 5, base, unique_outlet_share=0.0)
    res = copytrace.find(docs_path := syn_write(tmp_path, docs), None, progress=False, report=False,
                         boilerplate=False)
    assert docs_path.exists()
    find_pairs = {(p["doc_a"], p["doc_b"]): p["similarity"] for p in res.pairs.to_pylist()}
    assert len(find_pairs) > 300
    text = {d["id"]: d["text"] for d in docs}
    index_pairs: dict[tuple[str, str], float] = {}
    rejected: list[tuple[str, str]] = []
    # One index, opened once; every document queried in turn, leaving out the documents already
    # queried: each pair is judged once (alignment is most of a query's cost), from its first
    # document's side, so the index must find every pair of find from that side alone.
    queried: list[str] = []
    with Index.create(tmp_path / "c.duckdb") as idx:
        idx.add(docs)
        for d in docs:
            queried.append(d["id"])
            for m in idx.query(d["text"], limit=None, with_passages=False, exclude=queried):
                key = tuple(sorted((d["id"], m.doc_id)))
                assert key not in index_pairs, key  # judged once
                index_pairs[key] = m.similarity  # type: ignore[index]
            if len(rejected) < 60:
                rows, _, _ = idx.candidate_rows(d["text"], exclude=queried)
                rejected += [tuple(sorted((d["id"], r[0]))) for r in rows]  # type: ignore[misc]
    assert set(index_pairs) == set(find_pairs)
    for k, s in find_pairs.items():
        assert index_pairs[k] == pytest.approx(s, abs=1e-6)
    rng = np.random.default_rng(0)
    keys = sorted(find_pairs)
    for i in rng.choice(len(keys), size=min(150, len(keys)), replace=False):
        a, b = keys[int(i)]
        cmp = copytrace.compare(text[a], text[b])
        assert cmp.is_copy() and cmp.similarity == pytest.approx(find_pairs[(a, b)], abs=1e-6)
    judged_no = [k for k in rejected if k not in find_pairs]
    assert judged_no  # candidates the rule turned down
    for a, b in judged_no[:60]:
        assert not copytrace.compare(text[a], text[b]).is_copy()


def syn_write(tmp_path: Path, docs: list[dict]) -> Path:
    path = tmp_path / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


def test_a_bare_sign_off_left_by_boilerplate_masking_is_no_evidence():
    """find masks a story copied past --boilerplate-min-docs times as boilerplate, leaving its
    sign-off: one aligned word covers all of it, which must not pair it with every other story."""
    masked = " " * 300 + "\n\nReuter"
    other = ("Acme Industries said on Tuesday its third-quarter net income rose to 41.2 mln dlrs, or 93 cts a "
             "share, from 30.5 mln dlrs a year earlier.\n\nReuter")
    ta, tb = tokenize(masked), tokenize(other)
    al = align(masked, other, tokens_a=ta, tokens_b=tb)
    assert al.coverage_a == 1.0  # the aligner does find the shared word
    assert rule.aligned_evidence(masked, ta, other, tb, al)[0] == 0.0


_TOPICAL = (
    "Lukashenko's opponents held a rally in Vilnius on Saturday, where exiled activists demanded new elections "
    "and the release of political prisoners held in Minsk. Speakers described arrests, beatings and trials "
    "behind closed doors since the disputed vote, and appealed to European governments for broader sanctions "
    "against Belarusian officials and state companies. Lithuanian police estimated the crowd at several "
    "thousand people; organizers said many more watched online from Belarus itself."
)


def _embedded(text: str, seed: int) -> str:
    """``text`` set among long unrelated stories: a passage of a longer document."""
    filler = _syndicate().synthetic_base(6, seed=seed)
    return "\n\n".join(filler[:3] + [text] + filler[3:])


def test_a_reworded_passage_inside_longer_texts_is_evidence_but_not_a_copy():
    """A reworded story lifted into a longer text (the PAN summary/obfuscation case): the texts
    share too few of their words for a copy (below the word gate), but the aligned passages rank
    the pair above texts sharing none — up to the shared share of content words, below the gate."""
    a = _embedded(ORIGINAL.read_text(encoding="utf-8"), seed=11)
    b = _embedded(REWORDED.read_text(encoding="utf-8"), seed=12)
    ta, tb = tokenize(a), tokenize(b)
    wc = rule.word_containment(ta, tb)
    assert wc < rule.WORD_GATE  # the whole texts fail the gate
    cmp = copytrace.compare(a, b)
    floor = max(cmp.containment_a_in_b, cmp.containment_b_in_a)
    assert cmp.passages and not cmp.is_copy()
    assert floor < cmp.similarity <= wc + 1e-6  # the passages count, capped at the shared words
    assert f"below the gate {rule.WORD_GATE:g}: a shared passage" in cmp.explanation
    # without the fillers the same passages make a copy: the cap is what keeps this one apart
    assert copytrace.compare(ORIGINAL, REWORDED).is_copy()
    # at a threshold the capped evidence reaches, the rule pairs them
    low = copytrace.compare(a, b, threshold=round(cmp.similarity, 3) - 0.001)
    assert low.is_copy() and low.explanation.startswith("COPIES")


def test_a_topical_text_that_shares_no_passage_gets_no_aligned_evidence():
    """The same story's subject told in other sentences, among the same fillers: no passage,
    so nothing above the shingle floor (PAN's no-plagiarism pairs stay at the bottom)."""
    a = _embedded(ORIGINAL.read_text(encoding="utf-8"), seed=11)
    b = _embedded(_TOPICAL, seed=12)
    cmp = copytrace.compare(a, b)
    assert not cmp.passages and not cmp.is_copy()
    assert cmp.similarity == pytest.approx(max(cmp.containment_a_in_b, cmp.containment_b_in_a, cmp.jaccard), abs=1e-6)
    reworded = copytrace.compare(a, _embedded(REWORDED.read_text(encoding="utf-8"), seed=12))
    assert reworded.similarity > cmp.similarity


def test_worth_aligning_keeps_what_the_capped_evidence_can_bring_to_the_threshold():
    """find and the index align a pair below the word gate when its word containment reaches the
    threshold (the capped evidence could make it a copy), and not otherwise: compare agrees."""
    from copytrace.stages.fingerprint import shingles
    from copytrace.stages.normalize import TokenBatch
    from copytrace.stages.verify import VerifiedPairs, set_stats

    a = _embedded(ORIGINAL.read_text(encoding="utf-8"), seed=11)
    b = _embedded(REWORDED.read_text(encoding="utf-8"), seed=12)
    ta, tb = tokenize(a), tokenize(b)
    wc = rule.word_containment(ta, tb)
    jac, cab, cba = set_stats(shingles(ta, 5), shingles(tb, 5))
    shared = int(np.intersect1d(shingles(ta, 5), shingles(tb, 5)).shape[0])
    batch = TokenBatch(np.concatenate([ta.starts, tb.starts]), np.concatenate([ta.ends, tb.ends]),
                       np.concatenate([ta.hashes, tb.hashes]), np.array([0, len(ta), len(ta) + len(tb)]))
    v = VerifiedPairs(np.array([0]), np.array([1]), np.array([jac]), np.array([cab]), np.array([cba]),
                      np.array([shared]))
    for threshold in (round(wc, 3) - 0.01, round(wc, 3) + 0.01, 0.5):
        kept = bool(rule.worth_aligning(v, batch, threshold, 5)[0])
        assert kept == (threshold <= wc)
        if not kept:  # dropped before alignment: compare must not call it a copy either
            assert not copytrace.compare(a, b, threshold=threshold).is_copy()


def test_passage_bar_scales_with_the_shorter_text():
    """A pair only the passage channel proposed is aligned when it shares 3 % of the shorter text's
    distinct shingles, at least 8 and at most --reuse-min-shingles: a short story sharing 15
    shingles with a page is aligned, two long pages sharing 15 are not."""
    from copytrace.stages.fingerprint import shingle_sets_batch
    from copytrace.stages.normalize import tokenize_batch
    from copytrace.stages.verify import score_pairs

    rng = np.random.default_rng(5)

    def words(n):
        return [f"w{i}" for i in rng.integers(0, 50_000, n)]

    passage = words(19)  # 15 distinct 5-grams
    short = " ".join(words(150) + passage)  # ~170 shingles: bar 8
    page = " ".join(words(1500) + passage + words(1500))  # ~3,000 shingles: bar 25
    page2 = " ".join(words(2000) + passage + words(1000))
    toks = tokenize_batch([short, page, page2])
    vals, starts, sizes = shingle_sets_batch(toks, 5)
    v = score_pairs(np.array([[0, 1], [1, 2]]), vals, starts, sizes)
    assert v.shared.tolist() == [15, 15]
    assert rule.passage_bar(v, 25).tolist() == [8, 25]
    assert rule.passage_bar(v, 5).tolist() == [5, 5]  # never above --reuse-min-shingles
    only = np.array([True, True])
    assert rule.worth_aligning(v, toks, 0.5, 5, 25, only).tolist() == [True, False]
    assert rule.worth_aligning(v, toks, 0.5, 5, 12, only).tolist() == [True, True]
    assert rule.worth_aligning(v, toks, 0.5, 5, 0, only).tolist() == [False, False]  # channel off


def test_evidence_kernel_matches_anchor_agreement_and_word_counts() -> None:
    """aligned_evidence's one kernel gives anchor_agreement's value (spans in any order, starts
    shared) and the numpy count of tokens inside each passage."""
    a, b = ORIGINAL.read_text(encoding="utf-8"), REWORDED.read_text(encoding="utf-8")
    ta, tb = tokenize(a), tokenize(b)
    aa, ab = rule.anchors(a, ta), rule.anchors(b, tb)
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(200):
        k = int(rng.integers(1, 6))
        sa = np.sort(rng.integers(0, len(a), size=(k, 2)), axis=1)
        sb = np.sort(rng.integers(0, len(b), size=(k, 2)), axis=1)
        if k > 1 and rng.random() < 0.3:
            sa[1, 0] = sa[0, 0]  # two spans starting together
        spans = np.concatenate([sa, sb], axis=1).astype(np.int64)
        want = rule.anchor_agreement(a, ta, [tuple(r) for r in sa.tolist()], b, tb, [tuple(r) for r in sb.tolist()],
                                     prepared=(aa, ab))
        for side_a, tok in ((True, ta), (False, tb)):
            agree, words = rule._evidence_kernel(aa.starts, aa.ends, aa.hashes, ab.starts, ab.ends, ab.hashes, spans,
                                                 tok.starts, tok.ends, side_a, False, rule.MIN_ANCHORS)
            lo, hi = (sa if side_a else sb).T
            inside = np.searchsorted(tok.ends, hi, side="right") - np.searchsorted(tok.starts, lo, side="left")
            assert agree == want
            assert words.tolist() == np.maximum(inside, 0).astype(np.float64).tolist()
            checked += 1
    assert checked == 400
