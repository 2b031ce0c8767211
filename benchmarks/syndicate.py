"""Syndication corpus generator: news copies with known ground truth.

A collection is built from base news stories (Reuters-21578 by default, read
with :mod:`reuters`; or any list of texts).  Some stories are *wire stories*:
their original is published by the wire (``source`` ``"reuters"``, or
``"wire"`` for a base that is not Reuters) and each is republished by one or
more of eight fictional outlets, edited the way outlets edit wire copy:

* truncation at a paragraph boundary (the tail of the story is cut);
* the headline restyled (Title Case, Sentence case …) and rewritten (synonym
  swaps, a word dropped, an outlet prefix/suffix), the lead sentence reworded;
* sentences reworded: synonym swaps from the small built-in table
  :data:`SYNONYM_GROUPS`, clauses reordered (``"X, Y said."`` →
  ``"Y said that x."``, or the two halves around a comma swapped), small
  words dropped;
* a paragraph cut, a paragraph moved;
* the wire's ``Reuter`` sign-off stripped (most outlets);
* site boilerplate: site name/section on top, a byline, a newsletter box in
  the middle, a donation appeal and a footer at the end; each outlet has its
  own set (see :data:`OUTLETS`), each document a random subset of it;
* light OCR-like noise (adjacent characters swapped, spaces dropped, look-alike
  characters such as ``rn``→``m``, ``l``→``1``) for the print-archive outlets
  and, rarely, others.

``edit_strength`` (0..1) scales every edit probability and amount; at 0 a copy
is the wire text, reflowed and restyled, plus boilerplate (and OCR noise for a
print-archive outlet).  The other stories stay unique: published by the wire,
or (``unique_outlet_share`` of them) by an outlet with its boilerplate but no
other edit, so that shared boilerplate alone never makes a copy.

More documents than the base provides
    Story ``s`` uses base story ``perm[s % B]`` (a seeded permutation of the
    ``B`` base stories).  Its first use (``s < B``) is the base text itself.
    Every later use builds a new story: the paragraphs of that base story are
    spliced with a run of paragraphs of another random base story, then every
    content word is replaced through a story-specific bijection of the base
    vocabulary within frequency bands (so frequent words stay frequent and the
    text keeps a news-like word distribution), and digits are permuted.  Only
    function words and the synonym-table words are kept, so two distinct
    stories share almost no word 5-grams even when built from the same base
    text (5 kept words in a row are rare).

Hard negatives (on by default)
    ``HARD_NEGATIVE_SHARE`` (10%) of the stories are written from a template —
    earnings briefs, weather reports, sports results — with other companies,
    figures, places and names each time: distinct stories that share their
    template's wording, which a copy detector must keep apart.

Ground truth
    Every document maps to a cluster id: a copy to the id of its wire
    original, every other document to its own id.

Distinct base stories
    Every kept base story is treated as a distinct story, so near-copies
    inside the base would be copies the truth does not know about.  Dropped:
    exact repeats (a body with the same words as an earlier one: 363 of the
    19,043 Reuters stories) and near-duplicates — a body sharing at least
    ``NEAR_DUPLICATE_SHARE`` (15%) of its distinct word 5-grams with one
    earlier kept story (updated or corrected items, templated earnings and
    dividend reports such as ``"Qtly div 41.5 cts vs 41.5 cts prior"``, daily
    market templates whose sentences recur day after day): 1,901 more
    Reuters stories, leaving 16,779.  A 5-gram is credited to the first kept
    story holding it, which keeps the check linear (about 4 s for Reuters).
    At 30% the remaining templates still made up most false pairs of a
    perfect copy detector, and their recurring sentences look like
    boilerplate.
    Boilerplate shared by an outlet's documents can also make two short
    distinct stories of the same outlet look alike; that is deliberate (real
    sites do it), and ``unique_outlet_share=0`` removes it from unique docs.

Determinism
    The output depends only on the arguments (and the base): every random
    choice comes from ``numpy.random.default_rng(seed)`` (the plan) or from a
    ``random.Random`` seeded with a string built from ``seed`` and the story
    or document number; no ``hash()`` of strings and no set iteration.

Speed
    Linear in the number of documents; documents are produced one at a time
    in output order (``iter_generate``) so that the CLI streams to disk in
    constant memory (~160 MB).  Measured on a busy 2-core machine: 100k
    documents in 19 s of CPU time, 1M documents in 3 min of CPU time (1.2 GB of JSONL).

CLI::

    python benchmarks/syndicate.py OUT.jsonl [--docs N] [--copy-rate 0.3]
        [--edit-strength 0.2] [--seed 0] [--reuters DIR] [--truth PATH]
        [--unique-outlet-share 0.5] [--hard-negatives 0.1]

writes ``OUT.jsonl`` (``id``, ``text``, ``source``, ``date``) and
``OUT.truth.jsonl`` (``{"id": ..., "cluster": ...}``, same order).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = [
    "OUTLETS",
    "SYNONYM_GROUPS",
    "Outlet",
    "default_reuters_dir",
    "load_reuters_base",
    "synthetic_base",
    "iter_generate",
    "generate",
    "generate_to_files",
    "generate_pages",
    "main",
]

# --------------------------------------------------------------------------------------
# Word tables
# --------------------------------------------------------------------------------------

#: Groups of interchangeable words (same inflection); a swap picks another word
#: of the word's group.  Multi-word entries are allowed.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("said", "stated", "noted", "added"),
    ("says", "states", "notes", "adds"),
    ("company", "firm", "group"),
    ("companies", "firms", "groups"),
    ("rose", "climbed", "increased", "gained"),
    ("fell", "dropped", "declined", "slipped"),
    ("rise", "increase", "gain"),
    ("rises", "increases", "gains", "climbs"),
    ("falls", "drops", "declines", "slips"),
    ("expected", "anticipated", "forecast"),
    ("shares", "stock"),
    ("government", "administration"),
    ("officials", "authorities"),
    ("pct", "percent", "per cent"),
    ("mln", "million"),
    ("billion", "bln"),
    ("dlrs", "dollars"),
    ("announced", "disclosed", "revealed"),
    ("plans", "intends", "aims"),
    ("agreed", "consented"),
    ("buy", "purchase", "acquire"),
    ("bought", "purchased", "acquired"),
    ("sell", "divest"),
    ("profit", "earnings"),
    ("profits", "earnings"),
    ("price", "cost"),
    ("prices", "costs"),
    ("bank", "lender"),
    ("banks", "lenders"),
    ("talks", "negotiations", "discussions"),
    ("strong", "robust", "solid"),
    ("weak", "soft", "sluggish"),
    ("major", "big", "large"),
    ("help", "assist", "support"),
    ("however", "but", "yet"),
    ("about", "around", "roughly", "some"),
    ("because", "as", "since"),
    ("higher", "greater", "increased"),
    ("lower", "reduced", "smaller"),
    ("earlier", "previously", "before"),
    ("spokesman", "spokesperson", "representative"),
    ("chairman", "chair", "head"),
    ("rate", "level"),
    ("reduce", "cut", "lower"),
    ("raise", "lift", "increase"),
    ("raised", "lifted", "increased"),
    ("sales", "revenue", "turnover"),
    ("meeting", "session", "gathering"),
    ("statement", "announcement", "release"),
    ("began", "started", "commenced"),
    ("important", "significant", "key"),
    ("showed", "indicated", "revealed"),
    ("shows", "indicates", "reveals"),
    ("total", "overall", "combined"),
    ("very", "highly", "extremely"),
    ("many", "numerous", "several"),
    ("small", "minor", "modest"),
    ("likely", "probable", "expected"),
    ("current", "present", "existing"),
    ("continued", "persisted", "went on"),
    ("country", "nation"),
    ("countries", "nations"),
    ("foreign", "overseas", "international"),
    ("exports", "shipments abroad", "overseas sales"),
    ("imports", "purchases abroad", "inbound shipments"),
    ("week", "seven days"),
    ("year", "twelve months"),
    ("told", "informed"),
    ("reported", "posted", "recorded"),
    ("net", "net income", "bottom line"),
    ("loss", "deficit", "shortfall"),
    ("offer", "bid", "proposal"),
    ("unit", "subsidiary", "division"),
    ("increase", "rise", "jump"),
    ("decline", "fall", "drop"),
    ("market", "marketplace"),
    ("trade", "commerce"),
    ("economy", "economic system"),
    ("output", "production"),
    ("quarter", "three-month period"),
    ("demand", "appetite"),
    ("sources", "insiders"),
    ("reuters", "wire service"),
)

#: Small words an edit may drop.
DROPPABLE: frozenset[str] = frozenset(
    "also still now just very about some however further currently recently already "
    "the that a an its their it".split()
)

#: Function words, never replaced when new stories are built from the base.
STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our out over own
    same she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your said says say vs mln dlrs pct cts shr reuter inc corp co ltd
    year years week month quarter qtr mths new one two three four five first second last""".split()
)

_SYNONYMS: dict[str, tuple[str, ...]] = {}
for _group in SYNONYM_GROUPS:
    for _w in _group:
        if " " not in _w:
            _alts = tuple(x for x in _group if x != _w)
            _SYNONYMS[_w] = tuple(dict.fromkeys(_SYNONYMS.get(_w, ()) + _alts))
#: Words kept when a new story is built from a base story.
FIXED_WORDS: frozenset[str] = STOPWORDS | DROPPABLE | frozenset(_SYNONYMS)

_STRIP = ".,;:!?\"'()[]<>"
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(<])")
_WORDS_SPLIT = re.compile(r"([A-Za-z]+)")
_WORD_RE = re.compile(r"\w+")
_SAID = re.compile(
    r"^(?P<clause>.*\S),\s+(?P<attr>(?:[A-Z][\w.'&-]*\s+){1,5}(?:said|says|added|stated|noted)\b[^,]*?)"
    r"(?P<end>[.!?])$"
)
_LOWER_FIRST_OK = frozenset(
    "the a an it there this that these those its their he she they we in on at for by with "
    "as while when after before under some many most all".split()
)

# --------------------------------------------------------------------------------------
# Outlets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outlet:
    """A fictional outlet: its name (the ``source`` of its documents), house
    style and boilerplate blocks (``{author}`` and ``{section}`` are filled
    per document)."""

    name: str
    title_style: str  # "title", "upper", "sentence" or "keep"
    headers: tuple[str, ...]
    sections: tuple[str, ...]
    bylines: tuple[str, ...]
    authors: tuple[str, ...]
    newsletters: tuple[str, ...]
    appeals: tuple[str, ...]
    footers: tuple[str, ...]
    title_prefixes: tuple[str, ...] = ()
    title_suffix: str = ""
    strip_trailer: float = 0.9  # probability of removing the wire sign-off
    ocr: float = 0.02  # probability that a document carries OCR noise
    weight: float = 1.0  # share of the copies this outlet makes


OUTLETS: tuple[Outlet, ...] = (
    Outlet(
        name="Harbor City Ledger",
        title_style="title",
        headers=("HARBOR CITY LEDGER | {section}", "harborcityledger.com > {section}"),
        sections=("Business", "Markets", "World", "Economy"),
        bylines=("By {author}, Ledger Staff", "By {author} | Harbor City Ledger"),
        authors=("Maren Okafor", "Dale Whitcombe", "Priya Lindqvist", "Tomas Realto"),
        newsletters=(
            "Get the Ledger Morning Brief: the five business stories you need before the opening bell, free in your inbox every weekday.",
            "Sign up for Harbor Money, our weekly newsletter on markets, jobs and the port economy.",
        ),
        appeals=(
            "Independent local journalism costs money. If you value the reporting of the Harbor City Ledger, please consider a gift of any size to our newsroom fund today.",
            "The Ledger has covered Harbor City since 1911. Readers like you keep it going: become a supporting member for less than a coffee a week.",
        ),
        footers=("Copyright Harbor City Ledger. All rights reserved.", "Have a tip? Write to newsdesk@harborcityledger.com."),
        title_prefixes=("", "", "Markets: "),
        weight=1.4,
    ),
    Outlet(
        name="The Prairie Dispatch",
        title_style="sentence",
        headers=("The Prairie Dispatch", "THE PRAIRIE DISPATCH - {section} - Online Edition"),
        sections=("Farm & Ranch", "Money", "Nation"),
        bylines=("{author} / Dispatch wire desk", "Compiled by {author}"),
        authors=("Hollis Brandt", "June Kowalczyk", "Amos Redcloud"),
        newsletters=(
            "FARM REPORT IN YOUR INBOX - Grain prices, weather and auction results every Monday. Subscribe at prairiedispatch.net/farmreport.",
        ),
        appeals=(
            "Support rural news. The Prairie Dispatch is reader funded and free to read. Chip in five dollars a month and keep these pages open for your neighbors.",
        ),
        footers=("(c) The Prairie Dispatch Publishing Co.", "Comments are closed on this story."),
        title_suffix=" | Prairie Dispatch",
        weight=1.0,
    ),
    Outlet(
        name="Metro Business Daily",
        title_style="title",
        headers=("METRO BUSINESS DAILY", "Metro Business Daily :: {section}"),
        sections=("Deals", "Banking", "Energy", "Commodities"),
        bylines=("From wire reports", "By {author}, Metro Business Daily"),
        authors=("Sloane Ashdown", "Viktor Hale", "Renata Obi", "Chen Marlow"),
        newsletters=(
            "DEALBOOK DAILY: Mergers, IPOs and boardroom moves, delivered at 6 a.m. Join 40,000 executives who read it first.",
            "Want the numbers before everyone else? The MBD Closing Bell alert lands in your inbox as markets shut.",
        ),
        appeals=(
            "Our journalism is supported by subscribers. Unlock unlimited articles, the digital edition and market data tools with an MBD Premium subscription.",
        ),
        footers=("Metro Business Daily is a publication of Metro Media Holdings.", "Reprints and permissions: licensing@metrobizdaily.com"),
        title_prefixes=("", "", "", "UPDATE: ", "Breaking: "),
        weight=1.6,
    ),
    Outlet(
        name="Coastal Tribune Online",
        title_style="keep",
        headers=("coastaltribune.online | {section}", "COASTAL TRIBUNE ONLINE"),
        sections=("Top Stories", "Business", "International"),
        bylines=("Posted by {author}", "Tribune staff and wire services"),
        authors=("Beatriz Salgado", "Kofi Mensah-Ward", "Lena Brightwater"),
        newsletters=(
            "Never miss a story: turn on Tribune alerts or text NEWS to 55123 for the evening headlines.",
        ),
        appeals=(
            "The Coastal Tribune relies on readers, not billionaires. A monthly contribution of any amount protects independent coastal reporting for everyone.",
            "Before you go: our newsroom is member supported. Join the Tribune Circle and get ad-free reading plus invitations to reader events.",
        ),
        footers=("Share this article: Facebook | Twitter | Email", "Copyright Coastal Tribune Media."),
        weight=1.0,
    ),
    Outlet(
        name="The Evening Sentinel Archive",
        title_style="upper",
        headers=("THE EVENING SENTINEL", "Evening Sentinel - Digitized Print Archive - Page {section}"),
        sections=("A1", "B3", "C2", "D4"),
        bylines=("SENTINEL NEWS SERVICES", "By {author}, Sentinel Correspondent"),
        authors=("Harold Penwick", "Agnes Farrow", "Lucius Dunmore"),
        newsletters=(
            "CLASSIFIED: For home delivery of the Evening Sentinel call the circulation department, weekdays 8 to 5.",
        ),
        appeals=(
            "This page was digitized by the Sentinel Archive Project. Donations to the project fund the scanning of further years of the paper.",
        ),
        footers=("Scanned from microfilm; text recognized automatically and may contain errors.",),
        strip_trailer=0.3,
        ocr=0.85,
        weight=0.8,
    ),
    Outlet(
        name="Valley Gazette",
        title_style="sentence",
        headers=("Valley Gazette", "VALLEY GAZETTE - {section}"),
        sections=("Local Economy", "Business", "Region"),
        bylines=("By {author}", "{author} contributed to this report."),
        authors=("Wendell Ibarra", "Sasha Greenhalgh", "Noor Castellanos"),
        newsletters=(
            "The Gazette Weekender brings the best of the week in one email, with puzzles and events. Sign up free.",
        ),
        appeals=(
            "Local news is vanishing across the country. Help the Valley Gazette stay on the beat: subscribe today, or give a one-time donation to our reporting fund.",
        ),
        footers=("Valley Gazette, serving the valley since 1948.", "Corrections? Email editor@valleygazette.org."),
        title_prefixes=("", "", "Region: "),
        weight=0.9,
    ),
    Outlet(
        name="NorthStar News Network",
        title_style="title",
        headers=("NorthStar News Network", "NSNN | {section} | Live coverage"),
        sections=("World", "Money", "Politics"),
        bylines=("NorthStar News Network with Reuters", "Reporting by {author}; editing by the NSNN desk"),
        authors=("Ilse Varga", "Marcus Thornbury", "Ade Okonkwo", "Yuki Ferrante"),
        newsletters=(
            "Download the NorthStar app for breaking news alerts, live video and personalized market watchlists.",
            "NSNN Briefing: the day's top stories explained in five minutes. Subscribe now.",
        ),
        appeals=(
            "NorthStar is free for everyone, thanks to supporters. Your contribution funds reporters in 40 countries. Support NorthStar from just one dollar.",
        ),
        footers=("Related coverage: Markets live | Economy tracker | Earnings calendar", "NorthStar News Network. All rights reserved."),
        title_prefixes=("", "", "", "Exclusive: ", "Analysis: "),
        weight=1.3,
    ),
    Outlet(
        name="Granite State Observer",
        title_style="upper",
        headers=("GRANITE STATE OBSERVER", "Granite State Observer (print edition, {section})"),
        sections=("Business page", "Front page", "Second section"),
        bylines=("OBSERVER WIRE DESK", "By {author}, Observer Staff Writer"),
        authors=("Rupert Stanhill", "Mae Donnelly", "Oskar Lindgren"),
        newsletters=(
            "SUBSCRIBE to the Observer: 13 weeks of home delivery for the price of 8. Call our circulation office.",
        ),
        appeals=(
            "The Observer is an independent paper owned by its employees. Your subscription keeps statehouse and business reporting alive.",
        ),
        footers=("Observer microfilm edition. Optical character recognition errors are possible.",),
        strip_trailer=0.5,
        ocr=0.4,
        weight=0.8,
    ),
)

# --------------------------------------------------------------------------------------
# Base stories
# --------------------------------------------------------------------------------------

Story = tuple[str, list[str]]  # (title, paragraphs)


def _split_story(text: str) -> Story:
    """Split a text into (title, paragraphs).

    The first block (up to a blank line) is the title when it is a single
    line of at most 150 characters and more blocks follow.  Paragraphs are
    separated by blank lines or, for a text without blank lines in its body,
    by lines starting with whitespace (the Reuters wire convention).  Lines
    inside a paragraph are joined with single spaces.
    """
    text = text.replace("\r\n", "\n").strip()
    blocks = re.split(r"\n[ \t]*\n", text)
    title = ""
    if len(blocks) > 1 and "\n" not in blocks[0].strip() and len(blocks[0].strip()) <= 150:
        title = " ".join(blocks[0].split())
        blocks = blocks[1:]
    if len(blocks) == 1:
        blocks = re.split(r"\n(?=[ \t]+\S)", blocks[0])
    paras = [" ".join(b.split()) for b in blocks]
    return title, [p for p in paras if p]


NEAR_DUPLICATE_SHARE = 0.15


def default_reuters_dir() -> Path:
    """``../shared/data/reuters21578`` relative to the repository root."""
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "reuters21578"


def load_reuters_base(data_dir: str | Path | None = None) -> list[dict]:
    """The Reuters-21578 stories with a body, as records (see :mod:`reuters`)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    from reuters import iter_reuters  # noqa: PLC0415 (sibling script module)

    data_dir = Path(data_dir) if data_dir is not None else default_reuters_dir()
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"Reuters-21578 not found at {data_dir}; pass --reuters DIR, or base=synthetic_base(...)"
        )
    return list(iter_reuters(data_dir))


_SYLLABLES = (
    "ba be bi bo bu ca co cu da de di do fa fe fi ga go ha he hi ka ke ko la le li lo lu ma me mi "
    "mo na ne ni no pa pe pi po ra re ri ro ru sa se si so ta te ti to tu va ve vi vo za zo "
    "bar ber dan del fen gar kel lan len mar mer nor pel ran ren sal sen tar ter val ven"
).split()


def synthetic_base(n_stories: int = 200, seed: int = 0) -> list[str]:
    """News-like stories from pseudo-words, function words and synonym-table
    words: a small base for tests, no data needed.

    Each text is ``TITLE\\n\\npara\\n\\npara…`` with 3–8 paragraphs of 1–3
    sentences; distinct stories share few word 5-grams.
    """
    rng = random.Random(f"synthetic-base:{seed}")
    vocab = sorted({"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(3000)})
    func = sorted(STOPWORDS - {"said", "says", "say"})
    syn = sorted(_SYNONYMS)
    names = [w.capitalize() for w in vocab[:300]]

    def sentence() -> str:
        n = rng.randint(8, 20)
        words = []
        for _ in range(n):
            u = rng.random()
            words.append(rng.choice(func) if u < 0.3 else rng.choice(syn) if u < 0.45 else rng.choice(vocab))
        if n > 10 and rng.random() < 0.4:
            words[n // 2] += ","
        s = " ".join(words)
        s = s[0].upper() + s[1:]
        if rng.random() < 0.35:
            s += f", {rng.choice(names)} {rng.choice(names)} said"
        return s + "."

    texts = []
    for _ in range(n_stories):
        title = " ".join(rng.choice(vocab) for _ in range(rng.randint(4, 8))).upper()
        paras = [" ".join(sentence() for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(3, 8))]
        texts.append(title + "\n\n" + "\n\n".join(paras))
    return texts


# --------------------------------------------------------------------------------------
# Text edits
# --------------------------------------------------------------------------------------


def _match_case(src: str, new: str) -> str:
    if len(src) > 1 and src.isupper():
        return new.upper()
    if src[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _lower_first(s: str) -> str:
    first = s.split(" ", 1)[0]
    if first.lower() in _LOWER_FIRST_OK and not (len(first) > 1 and first.isupper()):
        return s[:1].lower() + s[1:]
    return s


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def _reorder(sentence: str) -> str:
    """``"X, Y said."`` → ``"Y said that x."``; else swap the halves around a comma."""
    m = _SAID.match(sentence)
    if m:
        return f"{_upper_first(m['attr'])} that {_lower_first(m['clause'])}{m['end']}"
    parts = sentence.split(", ")
    if len(parts) == 2 and sentence[-1:] in ".!?":
        a, b = parts[0], parts[1][:-1]
        if a.count(" ") >= 2 and b.count(" ") >= 2:
            return f"{_upper_first(b)}, {_lower_first(a)}{sentence[-1]}"
    return sentence


def _reword(rng: random.Random, text: str, p_syn: float, p_drop: float) -> str:
    """Swap synonyms (each eligible word with probability ``p_syn``) and drop
    small words (``p_drop``) in a sentence or headline."""
    out = []
    for tok in text.split(" "):
        core = tok.strip(_STRIP)
        low = core.lower()
        alts = _SYNONYMS.get(low)
        if alts is not None and rng.random() < p_syn:
            i = tok.find(core)
            tok = tok[:i] + _match_case(core, rng.choice(alts)) + tok[i + len(core):]
        elif low in DROPPABLE and tok == core and out and rng.random() < p_drop:
            continue
        out.append(tok)
    res = " ".join(out)
    return _upper_first(res) if text[:1].isupper() else res


_OCR_LOOKALIKE = {"m": "rn", "l": "1", "O": "0", "e": "c", "i": "l", "S": "5", "B": "8", "h": "b", "a": "o"}


def _ocr_noise(rng: random.Random, text: str, rate: float) -> str:
    """Light OCR-like noise: about ``rate`` edits per character."""
    n = len(text)
    k = int(n * rate + rng.random())
    if k <= 0 or n < 4:
        return text
    chars = list(text)
    for pos in sorted(rng.sample(range(n - 1), min(k, n - 1)), reverse=True):
        c = chars[pos]
        u = rng.random()
        if c == " " and u < 0.6:
            chars[pos] = ""  # dropped space
        elif c in _OCR_LOOKALIKE and u < 0.7:
            chars[pos] = _OCR_LOOKALIKE[c]
        elif c.isalpha() and chars[pos + 1].isalpha():
            chars[pos], chars[pos + 1] = chars[pos + 1], c  # swapped characters
    return "".join(chars)


def _style_title(title: str, style: str) -> str:
    if style == "title":  # ticker symbols (<BOR>) and abbreviations (U.S.) stay as they are
        return " ".join(
            w if w.startswith("<") or "." in w else "-".join(p[:1].upper() + p[1:].lower() for p in w.split("-"))
            for w in title.split()
        )
    if style == "sentence":
        low = title.lower()
        return low[:1].upper() + low[1:]
    if style == "upper":
        return title.upper()
    return title


# --------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------


def _date_str(ordinal: int) -> str:
    return _dt.date.fromordinal(ordinal).isoformat()


# --------------------------------------------------------------------------------------
# Hard negatives: distinct stories written from one template
# --------------------------------------------------------------------------------------

#: Share of the stories (default) that are template stories: earnings briefs, weather
#: reports and sports results that share a template but differ in company, figures,
#: places and names.  They are distinct stories (the truth keeps them apart); a wire
#: template story may still be copied by outlets like any other story.
HARD_NEGATIVE_SHARE = 0.1

_SYL = ("ka", "lo", "mer", "tin", "var", "sol", "den", "ra", "bel", "cor", "nov", "ta", "zen", "mar",
        "pel", "ston", "gra", "vi", "dor", "lan", "hel", "qu", "bro", "sen", "fal", "ric", "mon", "tor")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_QUARTERS = ("first", "second", "third", "fourth")


def _name(rng: random.Random, k: int = 2) -> str:
    return "".join(rng.choice(_SYL) for _ in range(k)).capitalize()


def _num(rng: random.Random, lo: float, hi: float, nd: int = 1) -> str:
    return f"{rng.uniform(lo, hi):.{nd}f}"


def _earnings(rng: random.Random) -> tuple[str, list[str]]:
    co = f"{_name(rng, 3)} {rng.choice(('Corp', 'Inc', 'Industries', 'Holdings', 'Group'))}"
    ceo = f"{_name(rng)} {_name(rng, 3)}"
    q = rng.choice(_QUARTERS)
    up = rng.random() < 0.5
    verb = "rose" if up else "fell"
    city = _name(rng, 2)
    title = f"{co} {q}-quarter profit {verb}"
    paras = [
        f"{co} said on {rng.choice(_DAYS)} its {q}-quarter net income {verb} to {_num(rng, 1, 900)} mln dlrs, "
        f"or {rng.randint(2, 250)} cts a share, from {_num(rng, 1, 900)} mln dlrs, or {rng.randint(2, 250)} cts a "
        f"share, a year earlier.",
        f"Revenues {rng.choice(('rose', 'fell', 'were little changed'))} at {_num(rng, 10, 9000)} mln dlrs, against "
        f"{_num(rng, 10, 9000)} mln dlrs in the year-ago quarter, the {city}-based company said.",
        f"Chief executive {ceo} said the results reflected "
        f"{rng.choice(('higher sales in its', 'lower costs at its', 'weaker demand for its', 'price cuts in its'))} "
        f"{rng.choice(('chemicals', 'retail', 'software', 'steel', 'paper', 'shipping'))} unit, and that {co} "
        f"expected {rng.choice(('further gains', 'a weaker', 'a stronger', 'flat results'))} in the "
        f"{rng.choice(_QUARTERS)} quarter.",
        f"{co} shares closed at {_num(rng, 2, 120, 2)} dlrs on {rng.choice(_DAYS)}, "
        f"{rng.choice(('up', 'down'))} {rng.randint(1, 90)} cts, in trading of {rng.randint(10, 900)},000 shares.",
    ]
    if rng.random() < 0.5:
        paras.insert(3, f"The company also declared a quarterly dividend of {rng.randint(2, 60)} cts a share, "
                        f"payable {rng.choice(('April', 'May', 'June', 'July'))} {rng.randint(1, 28)} to holders "
                        f"of record {rng.choice(('March', 'April', 'May'))} {rng.randint(1, 28)}.")
    return title, paras


def _weather(rng: random.Random) -> tuple[str, list[str]]:
    city = _name(rng, 3)
    day = rng.choice(_DAYS)
    cond = ("sunny", "cloudy", "rain", "showers", "snow", "fog", "thunderstorms", "clear")
    title = f"Weather for {city} and the region, {day}"
    paras = [
        f"{city} will see {rng.choice(cond)} on {day} with a high of {rng.randint(-5, 38)} degrees and a low of "
        f"{rng.randint(-15, 25)} degrees, the {_name(rng)} weather service said.",
        f"Winds from the {rng.choice(('north', 'south', 'east', 'west'))} at {rng.randint(3, 40)} km per hour, "
        f"with a {rng.randint(0, 100)} percent chance of rain by evening.",
        "Regional forecast: " + "; ".join(
            f"{_name(rng, 3)} {rng.randint(-5, 38)} {rng.choice(cond)}" for _ in range(rng.randint(5, 9))) + ".",
        f"Outlook for {rng.choice(_DAYS)}: {rng.choice(cond)}, highs near {rng.randint(-5, 38)} degrees.",
    ]
    return title, paras


def _sports(rng: random.Random) -> tuple[str, list[str]]:
    t1, t2 = f"{_name(rng, 2)} {_name(rng, 2)}s", f"{_name(rng, 2)} {_name(rng, 2)}s"
    p1, p2 = f"{_name(rng)} {_name(rng, 3)}", f"{_name(rng)} {_name(rng, 3)}"
    s1 = rng.randint(70, 130)
    s2 = s1 - rng.randint(1, 25)
    title = f"{t1} beat {t2} {s1}-{s2}"
    paras = [
        f"{p1} scored {rng.randint(12, 45)} points and grabbed {rng.randint(2, 18)} rebounds as the {t1} beat the "
        f"{t2} {s1}-{s2} on {rng.choice(_DAYS)} night.",
        f"{p2} added {rng.randint(8, 30)} points for the {t1}, who have won {rng.randint(2, 9)} of their last "
        f"{rng.randint(10, 12)} games and improved to {rng.randint(10, 50)}-{rng.randint(10, 50)}.",
        f"{_name(rng)} {_name(rng, 3)} led the {t2} with {rng.randint(10, 40)} points. The {t2} have lost "
        f"{rng.randint(2, 7)} straight.",
        f"The {t1} led by {rng.randint(2, 20)} at halftime and were never headed in the "
        f"{rng.choice(('third', 'fourth'))} quarter before a crowd of {rng.randint(8, 20)},{rng.randint(100, 999)}.",
    ]
    return title, paras


_TEMPLATES = (_earnings, _weather, _sports)


class _Corpus:
    """Base stories, the plan of the collection, and the text makers."""

    def __init__(
        self,
        n_docs: int,
        copy_rate: float,
        edit_strength: float,
        seed: int,
        base: Sequence[str] | Sequence[dict],
        unique_outlet_share: float,
        hard_negative_share: float = HARD_NEGATIVE_SHARE,
    ) -> None:
        self.hard_negative_share = float(hard_negative_share)
        if n_docs < 1:
            raise ValueError("n_docs must be >= 1")
        if not 0.0 <= copy_rate < 1.0:
            raise ValueError("copy_rate must be in [0, 1)")
        if not 0.0 <= edit_strength <= 1.0:
            raise ValueError("edit_strength must be in [0, 1]")
        if not base:
            raise ValueError("empty base")
        self.seed = int(seed)
        self.s = float(edit_strength)
        # ---- base stories
        self.stories: list[Story] = []
        self.dates: list[int] = []
        wire = "wire"
        default_date = _dt.date(2020, 1, 1).toordinal()
        drng = random.Random(f"base-dates:{seed}")
        seen: set[str] = set()
        word_ids: dict[str, int] = {}
        gram_holder: dict[tuple[int, ...], int] = {}  # word 5-gram -> first kept story holding it
        self.near_duplicates_dropped = 0
        for item in base:
            if isinstance(item, dict):
                text, date = item["text"], item.get("date")
                if item.get("source") == "reuters":
                    wire = "reuters"
            else:
                text, date = item, None
            title, paras = _split_story(text)
            if not paras:
                continue
            words = _WORD_RE.findall(" ".join(paras).lower())
            key = " ".join(words)
            if key in seen:  # the same body again (Reuters re-sent items): keep the first
                continue
            seen.add(key)
            # a near-duplicate of a kept story (a corrected or updated item, a daily template)
            # would be a copy the truth does not know about: left out
            wids = [word_ids.setdefault(w, len(word_ids)) for w in words]
            grams = {tuple(wids[i:i + 5]) for i in range(len(wids) - 4)}
            if grams:
                hits: dict[int, int] = {}
                for g in grams:
                    holder = gram_holder.get(g)
                    if holder is not None:
                        hits[holder] = hits.get(holder, 0) + 1
                if hits and max(hits.values()) >= NEAR_DUPLICATE_SHARE * len(grams):
                    self.near_duplicates_dropped += 1
                    continue
                n_kept = len(self.stories)
                for g in grams:
                    gram_holder.setdefault(g, n_kept)
            self.stories.append((title, paras))
            try:
                self.dates.append(_dt.date.fromisoformat(date).toordinal() if date else default_date + drng.randrange(730))
            except ValueError:
                self.dates.append(default_date + drng.randrange(730))
        if not self.stories:
            raise ValueError("no base story has text")
        self.wire = wire
        self.n_base = len(self.stories)
        self._rank_of: dict[str, int] | None = None
        self._flat: list[str] = []
        self._last_size = 0
        self._key_of: dict[str, int] = {}
        trng = random.Random(f"digits:{seed}")
        self._digit_tables = [
            str.maketrans("0123456789", "".join(trng.sample("0123456789", 10))) for _ in range(1000)
        ]
        self._word_cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        # ---- plan
        rng = np.random.default_rng(self.seed)
        n_copy = min(int(round(copy_rate * n_docs)), n_docs - 1)
        n_story = n_docs - n_copy
        self.n_docs, self.n_copy, self.n_story = n_docs, n_copy, n_story
        self.base_perm = rng.permutation(self.n_base)
        # copies per wire story: 1 + geometric tail (mean ~2.9, a few large clusters)
        if n_copy:
            sizes = rng.geometric(0.35, size=n_copy)
            sizes = np.minimum(sizes, 60)
            cum = np.cumsum(sizes)
            n_wire = int(np.searchsorted(cum, n_copy) + 1)
            sizes = sizes[:n_wire].copy()
            sizes[-1] -= int(cum[n_wire - 1] - n_copy)
            if n_wire > n_story:  # very high copy rate: fold onto the stories there are
                folded = np.zeros(n_story, dtype=np.int64)
                np.add.at(folded, np.arange(n_wire) % n_story, sizes)
                sizes, n_wire = folded, n_story
            wires = rng.choice(n_story, size=n_wire, replace=False)
            self.copy_wire = np.repeat(wires, sizes)
        else:
            self.copy_wire = np.zeros(0, dtype=np.int64)
        weights = np.array([o.weight for o in OUTLETS], dtype=np.float64)
        self.copy_outlet = rng.choice(len(OUTLETS), size=n_copy, p=weights / weights.sum())
        is_wire = np.zeros(n_story, dtype=bool)
        is_wire[self.copy_wire] = True
        # unique stories: published by the wire, or by an outlet (with boilerplate)
        story_outlet = rng.choice(len(OUTLETS), size=n_story, p=weights / weights.sum())
        by_outlet = (rng.random(n_story) < unique_outlet_share) & ~is_wire
        self.story_outlet = np.where(by_outlet, story_outlet, -1)
        # items 0..n_story-1 are stories, n_story.. copies; slot = output position
        self.slot_of = rng.permutation(n_docs)
        self.item_at = np.empty(n_docs, dtype=np.int64)
        self.item_at[self.slot_of] = np.arange(n_docs)
        self.width = max(6, len(str(n_docs - 1)))

    # ---- ids
    def doc_id(self, item: int) -> str:
        return f"doc-{int(self.slot_of[item]):0{self.width}d}"

    # ---- stories
    def _vocab(self) -> dict[str, int]:
        """Content words of the base ranked by frequency (ties by the word),
        in bands of power-of-two sizes (64, 128, …; the last band may be
        shorter): word → rank.  Builds the per-rank arrays used by
        :meth:`story`."""
        if self._rank_of is None:
            counts: Counter[str] = Counter()
            for title, paras in self.stories:
                counts.update(_WORDS_SPLIT.findall(title.lower()))
                for p in paras:
                    counts.update(_WORDS_SPLIT.findall(p.lower()))
            ranked = sorted((w for w in counts if w not in FIXED_WORDS and len(w) > 1), key=lambda w: (-counts[w], w))
            v = len(ranked)
            lo_a = np.zeros(v, dtype=np.int64)
            size_a = np.ones(v, dtype=np.int64)
            pow2 = np.zeros(v, dtype=bool)
            lo, size = 0, 64
            while lo < v:
                hi = min(lo + size, v)
                lo_a[lo:hi], size_a[lo:hi], pow2[lo:hi] = lo, hi - lo, (hi - lo) == size
                lo, size = hi, size * 2
            self._lo, self._size, self._off, self._pow2 = lo_a, size_a, np.arange(v) - lo_a, pow2
            self._last_size = int(size_a[-1]) if v and not pow2[-1] else 0
            # every ranked word in its three case forms: lower, Capitalized, UPPER
            self._flat = ranked + [w[:1].upper() + w[1:] for w in ranked] + [w.upper() for w in ranked]
            self._rank_of = {w: k for k, w in enumerate(ranked)}
        return self._rank_of

    def _words(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cached word index of base story ``b``, over its blocks (title, if
        any, then paragraphs): (cumulative word count before each block and
        at the end, ordinals of its mappable words in the story, their keys
        ``case * V + rank``, index in those arrays where each block starts)."""
        hit = self._word_cache.get(b)
        if hit is not None:
            return hit
        rank_of = self._vocab()
        v = len(self._flat) // 3
        key_of = self._key_of
        title, paras = self.stories[b]
        blocks = [title, *paras] if title else paras
        words: list[str] = []
        cum = [0]
        for block in blocks:
            words.extend(_WORDS_SPLIT.findall(block))
            cum.append(len(words))
        for w in words:
            if w not in key_of:  # key = case * V + rank, -1 for a kept word
                r = rank_of.get(w.lower())
                case = 0 if w.islower() else 2 if len(w) > 1 and w.isupper() else 1
                key_of[w] = -1 if r is None else case * v + r
        all_keys = np.array([key_of[w] for w in words], dtype=np.int64)
        ords_np = np.flatnonzero(all_keys >= 0)
        ords, keys = ords_np, all_keys[ords_np]
        starts = np.searchsorted(ords_np, np.array(cum, dtype=np.int64))
        hit = (np.array(cum, dtype=np.int64), ords, keys, starts)
        self._word_cache[b] = hit
        return hit

    def story(self, s: int) -> tuple[str, list[str], int]:
        """(title, paragraphs, date ordinal) of story ``s``."""
        b = int(self.base_perm[s % self.n_base])
        if self.hard_negative_share > 0:
            trng = random.Random(f"template:{self.seed}:{s}")
            if trng.random() < self.hard_negative_share:
                title, paras = _TEMPLATES[trng.randrange(len(_TEMPLATES))](trng)
                return title, paras, self.dates[b] + trng.randrange(730)
        r = s // self.n_base
        title, paras = self.stories[b]
        if r == 0:
            return title, paras, self.dates[b]
        rng = random.Random(f"story:{self.seed}:{s}")
        # splice: title and a prefix of base story b, then a run of paragraphs
        # of another base story (blocks = title, if any, then paragraphs)
        b2 = int(self.base_perm[rng.randrange(self.n_base)])
        t2, paras2 = self.stories[b2]
        k = max(1, rng.randint((len(paras) + 1) // 2, len(paras)))
        j = rng.randrange(len(paras2))
        m = min(rng.randint(1, 3), len(paras2) - j)
        nt, nt2 = (1 if title else 0), (1 if t2 else 0)
        segments = [(b, 0, nt + k), (b2, nt2 + j, nt2 + j + m)]  # block ranges
        blocks = ([title] if title else []) + paras[:k] + paras2[j : j + m]
        # story-specific bijection of content words within frequency bands
        self._vocab()
        # x -> a*x + c (mod band size): with a = 3 (mod 4) and c odd it has no
        # fixed point on a power-of-two band; the shorter last band is shifted
        # by c, which must not be a multiple of its size
        a = 4 * rng.randrange(1 << 19) + 3
        c = 2 * rng.randrange(1 << 29) + 1
        while self._last_size > 1 and c % self._last_size == 0:
            c += 2
        digit_table = self._digit_tables[rng.randrange(len(self._digit_tables))]
        ords_l, keys_l = [], []
        base_ord = 0
        for sb, lo_blk, hi_blk in segments:
            cum, ords, keys, starts = self._words(sb)
            i0, i1 = starts[lo_blk], starts[hi_blk]
            ords_l.append(ords[i0:i1] - cum[lo_blk] + base_ord)
            keys_l.append(keys[i0:i1])
            base_ord += int(cum[hi_blk] - cum[lo_blk])
        ords_a = np.concatenate(ords_l)
        keys_a = np.concatenate(keys_l)
        v = len(self._flat) // 3
        case, rank = np.divmod(keys_a, v)
        mult = np.where(self._pow2[rank], a, 1)
        new = self._lo[rank] + (mult * self._off[rank] + c) % self._size[rank]
        text = "\n\n".join(blocks).translate(digit_table)
        parts = _WORDS_SPLIT.split(text)
        flat = self._flat
        for o, key in zip(ords_a.tolist(), (case * v + new).tolist()):
            parts[2 * o + 1] = flat[key]
        out = "".join(parts).split("\n\n")
        date = self.dates[b] + rng.randrange(1, 730)
        if title:
            return out[0], out[1:], date
        return "", out, date

    # ---- rendering
    def _boilerplate(self, rng: random.Random, outlet: Outlet, title: str, paras: list[str]) -> str:
        section = rng.choice(outlet.sections)
        blocks = [rng.choice(outlet.headers).format(section=section)]
        if title:
            blocks.append(title)
        if rng.random() < 0.8:
            blocks.append(rng.choice(outlet.bylines).format(author=rng.choice(outlet.authors)))
        body = list(paras)
        if rng.random() < 0.5:
            body.insert(min(2, len(body)), rng.choice(outlet.newsletters))
        blocks.extend(body)
        if rng.random() < 0.6:
            blocks.append(rng.choice(outlet.appeals))
        if rng.random() < 0.7:
            blocks.append(rng.choice(outlet.footers))
        return "\n\n".join(blocks)

    @staticmethod
    def _plain(title: str, paras: list[str]) -> str:
        return "\n\n".join([title, *paras] if title else paras)

    def _maybe_ocr(self, rng: random.Random, outlet: Outlet, text: str) -> str:
        if rng.random() < outlet.ocr:
            return _ocr_noise(rng, text, 0.002 + 0.015 * self.s)
        return text

    def story_doc(self, s: int) -> dict[str, Any]:
        title, paras, date = self.story(s)
        o = int(self.story_outlet[s])
        if o < 0:
            return {"id": self.doc_id(s), "text": self._plain(title, paras), "source": self.wire, "date": _date_str(date)}
        outlet = OUTLETS[o]
        rng = random.Random(f"unique:{self.seed}:{s}")
        text = self._boilerplate(rng, outlet, _style_title(title, outlet.title_style), paras)
        text = self._maybe_ocr(rng, outlet, text)
        return {"id": self.doc_id(s), "text": text, "source": outlet.name, "date": _date_str(date)}

    def copy_doc(self, j: int) -> tuple[dict[str, Any], str]:
        """Copy ``j`` (item ``n_story + j``) and the id of its wire original."""
        w = int(self.copy_wire[j])
        outlet = OUTLETS[int(self.copy_outlet[j])]
        item = self.n_story + j
        rng = random.Random(f"copy:{self.seed}:{item}")
        title, paras, date = self.story(w)
        paras = list(paras)
        s = self.s
        # the wire sign-off
        if len(paras) > 1 and paras[-1].strip(" .").lower() == "reuter" and rng.random() < outlet.strip_trailer:
            paras.pop()
        elif paras and paras[-1].endswith(("Reuter", "REUTER")) and rng.random() < outlet.strip_trailer:
            paras[-1] = paras[-1][:-6].rstrip()
            if not paras[-1]:
                paras.pop()
        # truncation at a paragraph boundary and a paragraph cut (not the lead),
        # together keeping at least ``min_keep`` of the characters
        total = sum(len(p) for p in paras)
        min_keep = max(0.15, 1.0 - 1.2 * s) * total
        if len(paras) > 1 and rng.random() < min(1.0, 0.15 + s):
            target = rng.uniform(min_keep, total)
            acc, k = 0, 0
            while k < len(paras) and acc < target:
                acc += len(paras[k])
                k += 1
            paras = paras[: max(1, k)]
        if len(paras) >= 3 and rng.random() < min(1.0, 1.2 * s):
            i = rng.randrange(1, len(paras))
            if sum(len(p) for p in paras) - len(paras[i]) >= min_keep:
                paras.pop(i)
        # a paragraph moved
        if len(paras) >= 3 and rng.random() < min(1.0, s):
            p = paras.pop(rng.randrange(1, len(paras)))
            paras.insert(rng.randrange(1, len(paras) + 1), p)
        # sentences reworded: a share of the sentences, lead sentence first
        if s > 0:
            sents = [_SENTENCE_SPLIT.split(p) for p in paras]
            flat = [(i, k) for i, ss in enumerate(sents) for k in range(len(ss))]
            n_rew = int(min(1.0, 0.05 + 1.5 * s) * len(flat) + rng.random())
            chosen = rng.sample(flat[1:], min(max(0, n_rew - 1), len(flat) - 1)) if len(flat) > 1 else []
            if n_rew and rng.random() < min(1.0, 0.5 + 1.5 * s):
                chosen.append(flat[0])  # the lead
            p_syn, p_drop, p_clause = min(1.0, 0.4 + s), min(0.8, 0.1 + s), min(1.0, 0.2 + s)
            for i, k in chosen:
                sent = sents[i][k]
                if rng.random() < p_clause:
                    sent = _reorder(sent)
                sents[i][k] = _reword(rng, sent, p_syn, p_drop)
            paras = [" ".join(ss) for ss in sents]
        # headline: house style, then rewritten
        if title:
            if s > 0 and rng.random() < min(1.0, 0.4 + 2 * s):
                title = _reword(rng, title, min(1.0, 0.5 + s), 0.3 * s)
            title = _style_title(title, outlet.title_style)
            if outlet.title_prefixes:
                title = rng.choice(outlet.title_prefixes) + title
            title += outlet.title_suffix
        text = self._boilerplate(rng, outlet, title, paras)
        text = self._maybe_ocr(rng, outlet, text)
        delay = 0 if rng.random() < 0.5 else min(60, 1 + int(rng.expovariate(1 / 4)))
        doc = {"id": self.doc_id(item), "text": text, "source": outlet.name, "date": _date_str(date + delay)}
        return doc, self.doc_id(w)

    def __iter__(self) -> Iterator[tuple[dict[str, Any], str]]:
        for slot in range(self.n_docs):
            item = int(self.item_at[slot])
            if item < self.n_story:
                doc = self.story_doc(item)
                yield doc, doc["id"]
            else:
                yield self.copy_doc(item - self.n_story)


def _resolve_base(base: Sequence[str] | Sequence[dict] | None, reuters_dir: str | Path | None) -> Sequence[Any]:
    return load_reuters_base(reuters_dir) if base is None else base


def iter_generate(
    n_docs: int,
    copy_rate: float = 0.3,
    edit_strength: float = 0.2,
    seed: int = 0,
    base: Sequence[str] | Sequence[dict] | None = None,
    *,
    reuters_dir: str | Path | None = None,
    unique_outlet_share: float = 0.5,
    hard_negative_share: float = HARD_NEGATIVE_SHARE,
) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield ``(doc, cluster_id)`` in output order; see :func:`generate`."""
    yield from _Corpus(n_docs, copy_rate, edit_strength, seed, _resolve_base(base, reuters_dir), unique_outlet_share,
                       hard_negative_share)


def generate(
    n_docs: int,
    copy_rate: float = 0.3,
    edit_strength: float = 0.2,
    seed: int = 0,
    base: Sequence[str] | Sequence[dict] | None = None,
    *,
    reuters_dir: str | Path | None = None,
    unique_outlet_share: float = 0.5,
    hard_negative_share: float = HARD_NEGATIVE_SHARE,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Generate a syndication collection in memory.

    ``n_docs``: documents in all; ``copy_rate``: share of them that are outlet
    copies of a wire story (in [0, 1)); ``edit_strength``: 0..1; ``seed``;
    ``base``: texts (``str``) or records (``{"text", "date"?, "source"?}``)
    to build from; ``None`` loads Reuters-21578 from ``reuters_dir`` (default
    :func:`default_reuters_dir`).  ``unique_outlet_share``: share of the unique
    stories published by an outlet (with its boilerplate) rather than the wire.
    ``hard_negative_share``: share of the stories written from a template
    (earnings briefs, weather reports, sports results: the same template,
    other companies, figures, places and names) — distinct stories a copy
    detector must keep apart (0: none).

    Returns ``(docs, truth)``: docs in output order (``id``, ``text``,
    ``source``, ``date``) and ``truth``: id → cluster id (the wire original's
    id for a copy, its own id otherwise).
    """
    docs: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    for doc, cluster in iter_generate(
        n_docs, copy_rate, edit_strength, seed, base, reuters_dir=reuters_dir, unique_outlet_share=unique_outlet_share,
        hard_negative_share=hard_negative_share,
    ):
        docs.append(doc)
        truth[doc["id"]] = cluster
    return docs, truth


# --------------------------------------------------------------------------------------
# Pages: documents holding several stories (``--pages``)
# --------------------------------------------------------------------------------------

_PAPERS = tuple(
    f"The {a} {b}" for a in ("Morning", "Evening", "Daily", "Weekly", "County", "Valley")
    for b in ("Herald", "Gazette", "Courier", "Tribune", "Journal")
)


def _edit_story(rng: random.Random, title: str, paras: list[str], s: float) -> str:
    """A reprint of a story: cut (tail truncated at a paragraph boundary, a
    paragraph dropped), reworded (synonyms, clauses reordered, small words
    dropped), headline rewritten."""
    paras = list(paras)
    if len(paras) > 1 and rng.random() < 0.5:
        keep = rng.randint(max(1, (len(paras) + 1) // 2), len(paras))
        paras = paras[:keep]
    if len(paras) >= 3 and rng.random() < s:
        paras.pop(rng.randrange(1, len(paras)))
    out = []
    for p in paras:
        sents = _SENTENCE_SPLIT.split(p)
        for k in range(len(sents)):
            if rng.random() < min(1.0, 0.05 + 1.5 * s):
                sent = _reorder(sents[k]) if rng.random() < 0.3 else sents[k]
                sents[k] = _reword(rng, sent, min(1.0, 0.4 + s), min(0.8, 0.1 + s))
        out.append(" ".join(sents))
    if title and rng.random() < 0.5:
        title = _reword(rng, title, 0.6, 0.2)
    return "\n\n".join(([title.upper()] if title else []) + out)


def generate_pages(
    n_pages: int,
    edit_strength: float = 0.2,
    seed: int = 0,
    base: Sequence[str] | Sequence[dict] | None = None,
    *,
    reuters_dir: str | Path | None = None,
    max_stories: int = 6,
    max_prints: int = 7,
    ocr_rate: float = 0.004,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A collection of *pages*, each holding 1..``max_stories`` stories.

    Every story is printed 1..``max_prints`` times (a quarter once, the rest
    spread evenly), each printing on a different page of a random paper and
    day: the first printing is the base text, the later ones reprints cut and
    reworded by :func:`_edit_story`.  A page is a masthead (paper, volume,
    date), its stories (headline and body), "Continued on page N" lines
    after some stories, and light OCR noise over the whole page.

    Returns ``(docs, truth)``: docs (``id``, ``text``, ``source``, ``date``)
    and one truth record per story occurrence: ``doc``, ``start``, ``end``
    (character span of the headline and body in the page, end exclusive) and
    ``story``."""
    if n_pages < 1:
        raise ValueError("n_pages must be >= 1")
    corpus = _Corpus(max(2, n_pages * 4), 0.0, edit_strength, seed, _resolve_base(base, reuters_dir), 0.0)
    rng = random.Random(f"pages:{seed}")
    per_page = [rng.randint(1, max_stories) for _ in range(n_pages)]
    slots = sum(per_page)
    prints: list[int] = []
    while sum(prints) < slots:
        prints.append(1 if rng.random() < 0.25 else rng.randint(2, max_prints))
    prints[-1] -= sum(prints) - slots
    if prints[-1] <= 0:
        prints.pop()
    # each story's printings on distinct pages: deal the story slots round the pages
    page_slots = [p for p, k in enumerate(per_page) for _ in range(k)]
    rng.shuffle(page_slots)
    story_of_slot: list[int] = [s for s, k in enumerate(prints) for _ in range(k)]
    pages: list[list[int]] = [[] for _ in range(n_pages)]
    for s, p in zip(story_of_slot, page_slots, strict=True):
        pages[p].append(s)
    day0 = _dt.date(1916, 6, 1).toordinal()
    page_day = [day0 + rng.randrange(30) for _ in range(n_pages)]
    page_paper = [rng.randrange(len(_PAPERS)) for _ in range(n_pages)]
    # the earliest page holding a story prints it first, as written
    first_page: dict[int, int] = {}
    for p in sorted(range(n_pages), key=lambda p: (page_day[p], p)):
        for s in pages[p]:
            first_page.setdefault(s, p)
    width = max(5, len(str(n_pages - 1)))
    docs: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    for p in range(n_pages):
        prng = random.Random(f"page:{seed}:{p}")
        doc_id = f"page{p:0{width}d}"
        date = _dt.date.fromordinal(page_day[p])
        paper = _PAPERS[page_paper[p]]
        head = (f"{paper.upper()}\n\nVOL. {prng.randint(10, 60)}, NO. {prng.randint(1, 300)}   "
                f"{date.strftime('%A, %B %d, %Y').upper()}   PRICE ONE CENT")
        text = head
        seen: set[int] = set()
        for s in pages[p]:
            if s in seen:  # the same story twice on a page: once is enough
                continue
            seen.add(s)
            title, paras, _ = corpus.story(s)
            if first_page[s] == p:
                body = "\n\n".join(([title.upper()] if title else []) + list(paras))
            else:
                body = _edit_story(random.Random(f"reprint:{seed}:{s}:{p}"), title, paras, corpus.s)
            body = _ocr_noise(prng, body, ocr_rate)
            text += "\n\n"
            start = len(text)
            text += body
            truth.append({"doc": doc_id, "start": start, "end": len(text), "story": f"story{s}"})
            if prng.random() < 0.3:
                text += f"\n\n(Continued on Page {prng.randint(2, 12)})"
        docs.append({"id": doc_id, "text": text, "source": paper, "date": date.isoformat()})
    return docs, truth


def default_truth_path(out: str | Path) -> Path:
    """``OUT.jsonl`` → ``OUT.truth.jsonl``."""
    out = Path(out)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(stem + ".truth.jsonl")


def generate_to_files(
    out: str | Path,
    n_docs: int,
    copy_rate: float = 0.3,
    edit_strength: float = 0.2,
    seed: int = 0,
    base: Sequence[str] | Sequence[dict] | None = None,
    *,
    truth: str | Path | None = None,
    reuters_dir: str | Path | None = None,
    unique_outlet_share: float = 0.5,
    hard_negative_share: float = HARD_NEGATIVE_SHARE,
) -> tuple[int, Path, Path]:
    """Stream a generated collection to ``out`` (JSONL) and its truth file
    (default ``OUT.truth.jsonl``); returns ``(n_docs, out, truth)``."""
    out = Path(out)
    truth_path = Path(truth) if truth is not None else default_truth_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    dumps = json.dumps
    with out.open("w", encoding="utf-8", newline="\n") as fd, truth_path.open("w", encoding="utf-8", newline="\n") as ft:
        for doc, cluster in iter_generate(
            n_docs, copy_rate, edit_strength, seed, base, reuters_dir=reuters_dir, unique_outlet_share=unique_outlet_share,
            hard_negative_share=hard_negative_share,
        ):
            fd.write(dumps(doc, ensure_ascii=False) + "\n")
            ft.write(dumps({"id": doc["id"], "cluster": cluster}, ensure_ascii=False) + "\n")
            n += 1
    return n, out, truth_path


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description="Generate a syndication corpus with known copies.")
    ap.add_argument("out", help="output JSONL")
    ap.add_argument("--docs", type=int, default=10_000, help="documents in all (default 10000)")
    ap.add_argument("--copy-rate", type=float, default=0.3, help="share of docs that are copies (default 0.3)")
    ap.add_argument("--edit-strength", type=float, default=0.2, help="0..1, how much copies are edited (default 0.2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuters", default=None, help=f"Reuters-21578 directory (default {default_reuters_dir()})")
    ap.add_argument("--truth", default=None, help="truth JSONL (default OUT.truth.jsonl)")
    ap.add_argument("--unique-outlet-share", type=float, default=0.5,
                    help="share of unique stories published by an outlet, with boilerplate (default 0.5)")
    ap.add_argument("--hard-negatives", type=float, default=HARD_NEGATIVE_SHARE,
                    help="share of stories written from a template: earnings briefs, weather, sports results "
                         f"that differ only in names and figures (default {HARD_NEGATIVE_SHARE}; 0: none)")
    ap.add_argument("--pages", action="store_true",
                    help="a page corpus: documents holding 1-6 stories, each printed 1-7 times (--docs pages); "
                         "truth per story occurrence (doc, start, end, story)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.pages:
        docs, occ = generate_pages(args.docs, args.edit_strength, args.seed, reuters_dir=args.reuters)
        out_p = Path(args.out)
        truth_p = Path(args.truth) if args.truth else default_truth_path(out_p)
        with out_p.open("w", encoding="utf-8", newline="\n") as fd:
            for d in docs:
                fd.write(json.dumps(d, ensure_ascii=False) + "\n")
        with truth_p.open("w", encoding="utf-8", newline="\n") as ft:
            for r in occ:
                ft.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"wrote {len(docs)} pages ({len(occ)} story occurrences) to {out_p} and truth to {truth_p} "
              f"in {time.perf_counter() - t0:.1f}s")
        return 0
    n, out, truth = generate_to_files(
        args.out, args.docs, args.copy_rate, args.edit_strength, args.seed,
        truth=args.truth, reuters_dir=args.reuters, unique_outlet_share=args.unique_outlet_share,
        hard_negative_share=args.hard_negatives,
    )
    print(f"wrote {n} documents to {out} and truth to {truth} in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
