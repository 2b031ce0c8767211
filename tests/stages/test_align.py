"""Tests of the align stage (src/copytrace/stages/align.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from copytrace.stages.align import Alignment, AlignOptions, Passage, align, prepare, split_sentences
from copytrace.stages.normalize import tokenize

SEEDS = Path(__file__).resolve().parents[2] / "examples" / "seeds"

# the 11 segments of the short copy (001) and the start of their counterpart in 000
SEGMENTS_001 = [
    ("Putin hosts leader of Belarus for talks on closer ties", "Putin hosts leader of Belarus"),
    ("Russian President Vladimir Putin on Tuesday hosted", "MOSCOW (AP) — The authoritarian leader"),
    ("Belarusian President Alexander Lukashenko thanked Putin for a", "Belarusian President Alexander Lukashenko thanked"),
    ("Putin, in turn, praised Belarus", "Putin, in turn, praised Belarus"),
    ("The Belarusian economy, which suffered", "The Belarusian economy, which suffered"),
    ("Lukashenko has denounced the restrictions", "Lukashenko has denounced the economic sanctions"),
    ("Lithuania, a EU member", "Lithuania, a EU member"),
    ("The EU's border agency", "The EU's border control agency"),
    ("Belarus was rocked by months of protests, which", "Belarus was rocked by months of protests after"),
    ("The authorities responded to demonstrations", "Belarusian authorities responded to the protests"),
    ("Leading opposition figures have been either", "Leading opposition figures have been jailed"),
]
APPEAL = ("Your support helps us", "makes all the difference.")


def _seed_texts() -> tuple[str, str]:
    a = (SEEDS / "000_9c66197dbdb99078.txt").read_text(encoding="utf-8")
    b = (SEEDS / "001_c6b00abf72943f53.txt").read_text(encoding="utf-8")
    return a, b


def _sentence_at(text: str, prefix: str) -> tuple[int, int]:
    """The span of the segment of ``text`` that starts with ``prefix``."""
    start = text.index(prefix)
    spans = split_sentences(text, tokenize(text))
    for s, e in spans:
        if s == start:
            return int(s), int(e)
    raise AssertionError(f"no segment starts at {prefix!r}")


def _covered(p0: int, p1: int, s0: int, s1: int) -> float:
    return max(0, min(p1, s1) - max(p0, s0)) / (s1 - s0)


def _check_seed_alignment(passages, long_text, short_text, long_side, short_side) -> None:
    """Every segment of the short copy lies (≥ 80 %) in a passage whose span on
    the long side covers the counterpart; no passage touches the appeal."""
    for seg_prefix, counterpart_prefix in SEGMENTS_001:
        s0, s1 = _sentence_at(short_text, seg_prefix)
        c0, c1 = _sentence_at(long_text, counterpart_prefix)
        ok = False
        for p in passages:
            ss, se = getattr(p, f"{short_side}_start"), getattr(p, f"{short_side}_end")
            ls, le = getattr(p, f"{long_side}_start"), getattr(p, f"{long_side}_end")
            if _covered(ss, se, s0, s1) >= 0.8 and _covered(ls, le, c0, c1) >= 0.8:
                ok = True
                break
        assert ok, f"segment {seg_prefix!r} not aligned with {counterpart_prefix!r}"
    app0 = short_text.index(APPEAL[0])
    app1 = short_text.index(APPEAL[1]) + len(APPEAL[1])
    for p in passages:
        ss, se = getattr(p, f"{short_side}_start"), getattr(p, f"{short_side}_end")
        assert se <= app0 or ss >= app1, f"passage {p} overlaps the donation appeal"


def test_seed_pair() -> None:
    a, b = _seed_texts()
    al = align(a, b)
    assert isinstance(al, Alignment)
    assert all(isinstance(p, Passage) for p in al.passages)
    _check_seed_alignment(al.passages, a, b, "a", "b")
    # most of the shared story is reworded, not verbatim
    assert any(p.kind == "reworded" for p in al.passages)
    # the appeal is reported as only in b (spans end at the last token)
    app0 = b.index(APPEAL[0])
    app1 = b.index("difference.Russian") + len("difference")
    assert any(s <= app0 and e >= app1 for s, e in al.only_in_b)
    # "ThinkPol" on top of 000 is only in a
    assert any(a[s:e] == "ThinkPol" for s, e in al.only_in_a)
    assert al.passages == sorted(al.passages, key=lambda p: (p.a_start, p.b_start))


def test_seed_pair_swapped_is_mirrored() -> None:
    a, b = _seed_texts()
    fwd = align(a, b)
    rev = align(b, a)
    _check_seed_alignment(rev.passages, a, b, "b", "a")
    mirrored = sorted(
        (Passage(p.b_start, p.b_end, p.a_start, p.a_end, p.kind, p.score) for p in fwd.passages),
        key=lambda p: (p.a_start, p.b_start),
    )
    assert rev.passages == mirrored
    assert rev.only_in_a == fwd.only_in_b and rev.only_in_b == fwd.only_in_a
    assert rev.coverage_a == pytest.approx(fwd.coverage_b)


def test_split_sentences_seed() -> None:
    _, b = _seed_texts()
    spans = split_sentences(b, tokenize(b))
    texts = [b[s:e] for s, e in spans]
    # "difference.Russian" splits; "St. Petersburg" does not
    assert "Your support makes all the difference." in texts
    assert any(t.startswith("Russian President Vladimir Putin on Tuesday") for t in texts)
    assert any(t.endswith("during their talks in St. Petersburg.") for t in texts)
    assert all(t == t.strip() for t in texts)
    assert spans.shape[1] == 2 and np.all(spans[:, 0] < spans[:, 1])
    # initials and titles
    t = "Mr. J. R. Smith met Dr. Jones on Main St. in the morning. They talked."
    got = [t[s:e] for s, e in split_sentences(t, tokenize(t))]
    assert got == ["Mr. J. R. Smith met Dr. Jones on Main St. in the morning.", "They talked."]


STORY = (
    "The committee met on Monday to discuss the new budget for the regional hospital network. "
    "Members argued for hours about the cost of the planned cardiology wing and its staffing. "
    "The chairwoman said the proposal would be revised before the vote next month. "
    "Opponents warned that rural clinics would lose funding if the wing were built as planned. "
    "Supporters replied that waiting lists for heart surgery had doubled in three years. "
    "A compromise emerged late in the evening that would phase the construction over a decade. "
    "Local newspapers reported that several nurses attended the meeting to voice their concerns. "
    "The final decision is expected after an independent audit of the hospital accounts."
)
OTHER = (
    "Migrating birds rely on the magnetic field of the earth to find their way across oceans. "
    "Researchers fitted small transmitters to swallows and followed them from Europe to Africa. "
    "The birds flew at night and rested in reed beds during the hottest hours of the day. "
    "Storms over the desert forced many of them to take long detours to the west coast. "
    "Young birds made more mistakes than adults but corrected their course within days. "
    "The study suggests that experience matters as much as instinct for long journeys."
)


def test_identical_texts_one_verbatim_passage() -> None:
    al = align(STORY, STORY)
    assert len(al.passages) == 1
    p = al.passages[0]
    assert p.kind == "verbatim" and p.score == 1.0
    assert (p.a_start, p.a_end) == (0, len(STORY)) and (p.b_start, p.b_end) == (0, len(STORY))
    assert al.only_in_a == [] and al.only_in_b == []
    assert al.coverage_a == 1.0 and al.coverage_b == 1.0


def test_unrelated_texts_no_passage() -> None:
    al = align(STORY, OTHER)
    assert al.passages == []
    assert al.coverage_a == 0.0 and al.coverage_b == 0.0
    toks = tokenize(STORY)
    assert al.only_in_a == [(int(toks.starts[0]), int(toks.ends[-1]))]


def _paragraphs(text: str) -> list[str]:
    return [s + "." for s in text.split(". ") if s]


def test_moved_paragraph() -> None:
    sents = _paragraphs(STORY)
    first, second = " ".join(sents[:4]), " ".join(sents[4:])
    a = first + "\n\n" + second
    b = second + "\n\n" + first
    al = align(a, b)
    assert len(al.passages) == 2
    for part in (first, second):
        a0, b0 = a.index(part), b.index(part)
        assert any(
            p.a_start == a0 and p.a_end == a0 + len(part) and p.b_start == b0 and p.b_end == b0 + len(part)
            for p in al.passages
        ), part
    assert all(p.kind == "verbatim" for p in al.passages)
    assert al.coverage_a == 1.0 and al.coverage_b == 1.0


def test_containment_short_text_in_long_one() -> None:
    quote = _paragraphs(STORY)[2] + " " + _paragraphs(STORY)[3]
    long_text = OTHER + "\n\n" + quote + "\n\n" + OTHER.replace("birds", "geese")
    for al, (qs, ls) in ((align(quote, long_text), ("a", "b")), (align(long_text, quote), ("b", "a"))):
        assert len(al.passages) == 1
        p = al.passages[0]
        i = long_text.index(quote)
        assert (getattr(p, f"{qs}_start"), getattr(p, f"{qs}_end")) == (0, len(quote))
        assert (getattr(p, f"{ls}_start"), getattr(p, f"{ls}_end")) == (i, i + len(quote))
        assert p.kind == "verbatim"
    al = align(quote, long_text)
    assert al.coverage_a == 1.0 and 0.0 < al.coverage_b < 0.5


def test_reworded_copy_is_found() -> None:
    b = (
        STORY.replace("met on Monday", "gathered on Monday")
        .replace("argued for hours", "debated for a long time")
        .replace("would be revised", "will be reworked")
        .replace("lose funding", "lose money")
        .replace("had doubled", "have doubled")
    )
    al = align(STORY, b)
    assert len(al.passages) == 1
    p = al.passages[0]
    assert p.kind == "reworded" and 0.5 < p.score < 1.0
    assert al.coverage_a == 1.0 and al.coverage_b == 1.0


@pytest.mark.parametrize("a,b", [("", ""), ("", STORY), ("word", STORY), ("  \n ", "...")])
def test_empty_and_tiny_texts(a: str, b: str) -> None:
    for x, y in ((a, b), (b, a)):
        al = align(x, y)
        assert isinstance(al, Alignment)
        assert al.passages == []
        assert 0.0 <= al.coverage_a <= 1.0 and 0.0 <= al.coverage_b <= 1.0
    assert split_sentences("", tokenize("")).shape == (0, 2)


def test_offsets_with_cjk_and_emoji() -> None:
    prefix = "🎉🎉 Breaking 😀 news 東京\n"
    a = prefix + STORY + " 🚀 終わり"
    b = "👍 " + STORY.replace("hospital", "hôpital 🏥")
    al = align(a, b)
    assert len(al.passages) == 1
    p = al.passages[0]
    assert a[p.a_start : p.a_end].startswith("The committee met")
    assert a[p.a_start : p.a_end].endswith("hospital accounts.")
    assert b[p.b_start : p.b_end].startswith("The committee met")
    assert b[p.b_start : p.b_end].endswith("accounts.")
    for s, e in al.only_in_a:
        assert 0 <= s < e <= len(a)
    assert any(a[s:e] == "Breaking 😀 news 東京" for s, e in al.only_in_a)
    # CJK text aligns with itself (one token per ideograph)
    cjk = "東京で会議が開かれた。予算について長い議論が続いた。委員長は来月までに修正すると述べた。" * 3
    al = align(cjk, "前文。" + cjk)
    assert len(al.passages) == 1
    p = al.passages[0]
    assert (p.a_start, p.a_end) == (0, len(cjk))
    assert (p.b_start, p.b_end) == (3, 3 + len(cjk))


def test_deterministic_and_options() -> None:
    a, b = _seed_texts()
    r1 = align(a, b)
    r2 = align(a, b, AlignOptions())
    r3 = align(a, b, tokens_a=tokenize(a), tokens_b=tokenize(b))
    assert r1 == r2 == r3
    # the summary mode can be switched off; the seed pair does not need it
    assert align(a, b, AlignOptions(summary=False)).passages == r1.passages


def test_verbatim_core_ignores_stray_runs() -> None:
    from copytrace.stages.align import _verbatim_core

    cov = np.zeros(200, dtype=bool)
    cov[11:21] = True  # a stray shared phrase
    cov[120:184] = True  # the copied core
    assert _verbatim_core(cov, 8, 0.9) is None
    assert _verbatim_core(cov, 8, 0.9, gap=8) == (120, 184)
    assert _verbatim_core(cov[:40], 8, 0.9, gap=8) == (11, 21)
    assert _verbatim_core(cov[:15], 8, 0.9, gap=8) is None


def test_verbatim_core_kernel_matches_the_reference() -> None:
    """The compiled core (_finish's kernel) finds the extent _verbatim_core finds, on random run masks."""
    from copytrace.stages.align import _core_kernel, _verbatim_core

    rng = np.random.default_rng(7)
    checked = found = 0
    for _ in range(400):
        n = int(rng.integers(1, 120))
        # runs of shared tokens with gaps of varying length
        cov = np.zeros(n, dtype=bool)
        t = int(rng.integers(0, 6))
        while t < n:
            run = int(rng.integers(1, 30))
            cov[t : t + run] = True
            t += run + int(rng.integers(1, 25))
        for min_tokens, fraction, gap in ((8, 0.9, 0), (8, 0.9, 8), (3, 0.5, 2), (1, 0.0, 0)):
            want = _verbatim_core(cov, min_tokens, fraction, gap)
            ok, lo, hi = _core_kernel(cov, min_tokens, fraction, gap)
            assert (want is not None) == ok, (cov.nonzero(), min_tokens, fraction, gap)
            if ok:
                assert (lo, hi) == want
                found += 1
            checked += 1
    assert found > 200 and checked == 1600


def test_short_weak_passages_need_a_higher_cosine() -> None:
    opts = AlignOptions()
    assert opts.short_chars > opts.min_passage_chars
    assert opts.short_cosine > opts.validate_cosine
    assert opts.merge_gap >= 0 and opts.merge_long >= opts.merge_gap


def test_a_prepared_side_aligns_as_the_raw_text():
    """prepare() once, align with many: the same alignments as from the raw texts, either side."""
    a, b = _seed_texts()
    others = [b, b[: len(b) // 2], a[200:], "Nothing at all in common with the story here."]
    pa = prepare(a)
    for o in others:
        assert align(pa, o) == align(a, o)
        assert align(o, pa) == align(o, a)
        assert align(pa, prepare(o)) == align(a, o)
    opt = AlignOptions(stem=False)
    assert align(prepare(a, opt), b, opt) == align(a, b, opt)
    with pytest.raises(ValueError, match="other AlignOptions"):
        align(pa, b, opt)


# -- texts of any length ---------------------------------------------------

_WORDS = (
    "river harbour council budget school bridge market winter garden railway doctor teacher "
    "village island museum library factory farmer engine station letter window mountain forest"
).split()


def _random_text(n_words: int, seed: int) -> str:
    """Sentences of random words (no repeated n-grams to speak of)."""
    rng = np.random.default_rng(seed)
    words = rng.choice(_WORDS, size=n_words)
    out, k = [], 0
    while k < n_words:
        n = int(rng.integers(8, 20))
        out.append(" ".join(words[k : k + n]).capitalize() + ".")
        k += n
    return " ".join(out)


def _one_verbatim(al: Alignment, a: str, b: str) -> None:
    assert len(al.passages) == 1, al.passages
    p = al.passages[0]
    assert p.kind == "verbatim" and p.score == 1.0
    assert (p.a_start, p.a_end) == (len(a) - len(a.lstrip()), len(a.rstrip()))
    assert (p.b_start, p.b_end) == (len(b) - len(b.lstrip()), len(b.rstrip()))
    assert al.only_in_a == [] and al.only_in_b == [] and al.coverage_a == al.coverage_b == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "word",
        "five words in a row",
        "The committee met on Monday to discuss the budget, and after hours of argument "
        "agreed that spending on roads would be cut while schools would receive more money.",
        STORY[: STORY.index("hospital")].rsplit(". ", 1)[0] + ".",  # one paragraph
        (STORY + "\n\n") * 12,  # about 5 KB, repeated paragraphs
    ],
    ids=["1-word", "5-words", "1-sentence", "1-paragraph", "5KB"],
)
def test_identical_texts_of_any_length_one_verbatim_passage(text: str) -> None:
    _one_verbatim(align(text, text), text, text)
    # the same text with other surrounding whitespace is still one passage
    _one_verbatim(align(text, "  " + text + "\n"), text, "  " + text + "\n")


@pytest.mark.parametrize("n_sent", [1, 3])
def test_short_shared_text_under_different_headers(n_sent: int) -> None:
    """A shared sentence or paragraph after different one-line headers: one
    verbatim passage exactly on the shared text (no fixed 150-char floor)."""
    shared = " ".join(_random_text(40, seed=s).split(". ")[0].rstrip(".") + "." for s in range(n_sent))
    a = "Morning edition\n\n" + shared
    b = "Special report\n\n" + shared + "\n"
    al = align(a, b)
    assert [(p.a_start, p.a_end, p.b_start, p.b_end, p.kind) for p in al.passages] == [
        (a.index(shared), a.index(shared) + len(shared), b.index(shared), b.index(shared) + len(shared), "verbatim")
    ]


def test_tweet_length_near_copy() -> None:
    a = "Breaking: the city council votes to close the old harbour bridge for repairs next month, officials said."
    b = "BREAKING - City council votes to shut the old harbour bridge for repairs next month, officials say"
    for x, y in ((a, b), (b, a)):
        al = align(x, y)
        assert [(p.a_start, p.a_end, p.b_start, p.b_end) for p in al.passages] == [(0, len(x), 0, len(y))]
        assert al.passages[0].kind == "reworded" and al.passages[0].score >= AlignOptions().short_cosine
    # an unrelated tweet gives nothing
    assert align(a, "Weather: sunny spells in the morning, showers spreading from the west later on.").passages == []


def test_huge_text_against_a_tiny_one_is_fast() -> None:
    import time

    big = _random_text(900_000, seed=1)  # about 5 MB
    assert len(big) > 5_000_000
    tiny = "Garden railway museum near the old river harbour."[:50]
    t = time.perf_counter()
    for x, y in ((big, tiny), (tiny, big)):
        al = align(x, y)
        assert isinstance(al, Alignment)
        for p in al.passages:
            assert 0 <= p.a_start < p.a_end <= len(x) and 0 <= p.b_start < p.b_end <= len(y)
    assert time.perf_counter() - t < 30


# -- bounded work ------------------------------------------------------------


def test_one_word_repeated_a_million_times_is_bounded() -> None:
    import time

    from copytrace.api import compare

    rep = "word " * 1_000_000
    t = time.perf_counter()
    c = compare(rep, "word " * 500_000 + "and then something else entirely. " + "word " * 100)
    assert isinstance(c.similarity, float)
    # identical repetitive texts: one passage, found without quadratic work
    c = compare(rep, rep)
    assert len(c.passages) == 1 and c.passages[0].kind == "verbatim"
    # many repeated sentences: the work bound holds
    sent = "The cat sat on the mat. " * 50_000
    al = align(sent, sent[: len(sent) // 2] + "A dog barked.")
    assert isinstance(al, Alignment)
    assert time.perf_counter() - t < 30


# -- offsets in other scripts ----------------------------------------------


def _script_text(letters: str, n: int, seed: int, stop: str = "") -> str:
    """Pseudo-text in one script: random letters, a space every few, a
    script full stop (if any) at the end of each sentence."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = ["".join(rng.choice(list(letters), size=int(rng.integers(3, 9)))) for _ in range(int(rng.integers(4, 9)))]
        out.append(" ".join(words) + stop)
    return " ".join(out)


_ZH = "东京周一召开了关于明年预算的会议。委员们争论了好几个小时，最后同意削减道路开支，同时增加学校经费。委员长表示，修改后的计划将于下月公布。"
_AR = (
    "اجتمعت اللجنة يوم الاثنين لمناقشة ميزانية العام المقبل. وبعد ساعات من النقاش اتفق الأعضاء على خفض "
    "الإنفاق على الطرق وزيادة تمويل المدارس. وقال رئيس اللجنة إن الخطة المعدلة ستنشر الشهر المقبل."
)
_TH = (
    "คณะกรรมการประชุมกันเมื่อวันจันทร์เพื่อหารือเรื่องงบประมาณปีหน้า หลังจากถกเถียงกันหลายชั่วโมง "
    "สมาชิกตกลงที่จะลดการใช้จ่ายด้านถนนและเพิ่มเงินทุนให้โรงเรียน ประธานกล่าวว่าแผนที่แก้ไขแล้วจะเผยแพร่ในเดือนหน้า"
)
_SCRIPTS = {
    # name: (shared text, header only in b, another text only in a)
    "chinese": (_ZH, "（独家报道）", "反对派议员批评这一决定过于仓促，并要求重新表决。"),
    "arabic": (_AR, "تقرير خاص:", "وانتقد نواب المعارضة القرار ووصفوه بأنه متسرع."),
    "thai": (_TH, "รายงานพิเศษ", "ฝ่ายค้านวิจารณ์ว่าการตัดสินใจครั้งนี้เร่งรีบเกินไป"),
    "lao": (_script_text("ກຂຄງຈສຊຍດຕຖທນບປຜຝພຟມຢຣລວຫອຮະາິີຶືຸູເແໂໃໄ", 4, 1), "ຂ່າວພິເສດ", _script_text("ກຂຄງຈສຊຍດຕ", 1, 2)),
    "khmer": (_script_text("កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអាិីឹឺុូួើឿៀេែៃោៅ", 4, 3, "។"), "ព័ត៌មានពិសេស",
              _script_text("កខគឃងចឆជ", 1, 4, "។")),
    "myanmar": (_script_text("ကခဂဃငစဆဇဈညဋဌဍဎဏတထဒဓနပဖဗဘမယရလဝသဟဠအါိီုူေဲ", 4, 5, "။"), "သတင်းထူး",
                _script_text("ကခဂဃငစဆ", 1, 6, "။")),
}


@pytest.mark.parametrize("script", sorted(_SCRIPTS))
def test_offsets_exact_in_other_scripts(script: str) -> None:
    """A shared text under a b-only header line, followed in a by an a-only
    line: one verbatim passage, exactly the shared text on both sides."""
    shared, header, other = _SCRIPTS[script]
    a = shared + "\n" + other
    b = header + "\n" + shared
    a0, b0 = a.index(shared), b.index(shared)
    expect = [(a0, a0 + len(shared), b0, b0 + len(shared), "verbatim")]
    al = align(a, b)
    assert [(p.a_start, p.a_end, p.b_start, p.b_end, p.kind) for p in al.passages] == expect
    mirrored = align(b, a)
    assert [(p.b_start, p.b_end, p.a_start, p.a_end, p.kind) for p in mirrored.passages] == expect
    # the header on the same line as the shared text: an insertion, not a
    # reworded edge, so it stays out of the passage too
    b2 = header + " " + shared
    b20 = b2.index(shared)
    same_line = align(a, b2)
    assert [(p.a_start, p.a_end, p.b_start, p.b_end, p.kind) for p in same_line.passages] == [
        (a0, a0 + len(shared), b20, b20 + len(shared), "verbatim")
    ]
    # the header, and the other line, are all that is reported as only on their side
    assert len(al.only_in_b) == 1 and 0 <= al.only_in_b[0][0] < al.only_in_b[0][1] <= len(header)
    assert len(al.only_in_a) == 1 and a0 + len(shared) < al.only_in_a[0][0] < al.only_in_a[0][1] <= len(a)


def test_group_stats_kernel_matches_numpy() -> None:
    """The per-cluster stats the summary mode reads (first/last segment and
    distinct segments on each side), compiled and interpreted, against numpy."""
    from copytrace.stages.align import _group_stats_kernel

    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 30, size=200)
    ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    ga = rng.integers(0, 40, size=int(ptr[-1])).astype(np.int64)
    gb = rng.integers(0, 400, size=int(ptr[-1])).astype(np.int64)
    want = []
    for g in range(sizes.size):
        a, b = ga[ptr[g] : ptr[g + 1]], gb[ptr[g] : ptr[g + 1]]
        want.append([a.min(), a.max(), b.min(), b.max(), np.unique(a).size, np.unique(b).size])
    for run in (_group_stats_kernel, _group_stats_kernel.py_func):
        assert np.array_equal(run(ga, gb, ptr), np.array(want, dtype=np.int64))
    assert _group_stats_kernel(ga, gb, np.zeros(1, np.int64)).shape == (0, 6)


def test_summary_length_bound_changes_no_alignment(monkeypatch) -> None:
    """Pairs whose lengths rule out a summary skip summary mode; the
    alignment is the one summary mode gives when it runs anyway."""
    import random

    from copytrace.stages import align as align_mod

    from helpers import make_copy, make_story

    rng = random.Random(11)
    long_story = make_story(rng, n_sentences=30)
    digest = " ".join(s.split(". ")[0] + "." for s in long_story.split("\n\n"))  # a lead sentence per paragraph
    story, short = make_story(rng), make_story(rng, n_sentences=6)
    pairs = [(story, make_copy(rng, story, edit=0.1)), (short, make_copy(rng, short, edit=0.1)),
             (short, make_story(rng, n_sentences=6)), (story, make_story(rng)), (long_story, digest),
             (digest, long_story), (long_story, story), _seed_texts()]
    sides = [(align_mod._side(prepare(a))[0], align_mod._side(prepare(b))[0]) for a, b in pairs]
    opt = AlignOptions()
    bounds = [align_mod._summary_possible(sa, sb, long_side, opt) for sa, sb in sides for long_side in (0, 1)]
    assert not all(bounds) and any(bounds)  # the bound skips some orientations, not all
    bounded = [align(a, b) for a, b in pairs]
    monkeypatch.setattr(align_mod, "_summary_possible", lambda *args: True)
    assert bounded == [align(a, b) for a, b in pairs]
