"""The numba boundary scanner reproduces the reference regexes exactly."""

from __future__ import annotations

import random

import pytest

from helpers import SEEDS, make_copy, make_story
from copytrace.stages.align import _BOUNDARY
from copytrace.stages.normalize import to_codepoints
from copytrace.stages.segment import boundaries

PIECES = list("aAbZz .!?…。！？\r\n\t\u00a0\"'”’»)]」』）(•*#·–—-09_é\u2003\x1c\u0085ÀĀЁΩ") + [
    "Mr.", "Dr.", "e.g.", "i.e.", " etc.", "U.S.", "No.", "x.Y", "end.The", "\n\n", "\r\n", "  \n \r\n",
    "J. Smith", "St.Louis", "Corp.", "ca. 5", "1.5", "...", "?!", "“Quote.” Next",
    # letters of caseless scripts and full-width brackets at line starts
    "东", "ت", "ก", "ກ", "ក", "က", "한", "א", "（", "「", "\n东", "\nت", "\n（",
]


def _ref(text: str, mode: str) -> list[int]:
    return [m.end() for m in _BOUNDARY[mode].finditer(text)]


@pytest.mark.parametrize("mode", ["capital", "blank", "always"])
def test_random_strings_match_the_regex(mode):
    rng = random.Random(hash(mode) % 1000)
    for _ in range(4000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))
        assert boundaries(to_codepoints(text), mode).tolist() == _ref(text, mode), repr(text)


@pytest.mark.parametrize("mode", ["capital", "blank", "always"])
def test_real_texts_match_the_regex(mode):
    rng = random.Random(3)
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    texts += [make_copy(rng, make_story(rng)) for _ in range(50)]
    for text in texts:
        assert boundaries(to_codepoints(text), mode).tolist() == _ref(text, mode)
