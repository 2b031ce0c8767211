"""normalize: offsets into the text as read, folding, scripts."""

import numpy as np

from copytrace.stages.normalize import normalize_token, tokenize, tokenize_batch


def words(text):
    t = tokenize(text)
    return [text[s:e] for s, e in zip(t.starts, t.ends)]


def test_offsets_point_into_original_text():
    text = "  Hello,   WORLD — it’s “quoted”\r\nnext"
    t = tokenize(text)
    assert [text[s:e] for s, e in zip(t.starts, t.ends)] == ["Hello", "WORLD", "it", "s", "quoted", "next"]
    assert t.starts.dtype == np.int32 and t.hashes.dtype == np.uint64


def test_case_quotes_and_compatibility_forms_fold_to_same_hash():
    a = tokenize("Moscow’s “very serious support” ﬁnal Ｆｕｌｌ")
    b = tokenize("moscow's \"VERY serious support\" final full")
    assert np.array_equal(a.hashes, b.hashes)


def test_accents_precomposed_and_decomposed_are_equal():
    a = tokenize("café été")
    b = tokenize("cafe\u0301 e\u0301te\u0301")
    assert np.array_equal(a.hashes, b.hashes)
    # the decomposed token span includes its combining mark
    assert words("cafe\u0301 x") == ["cafe\u0301", "x"]


def test_cjk_is_one_token_per_character():
    assert words("東京タワーへ行く") == list("東京タワーへ行く")
    assert words("abc東京def") == ["abc", "東", "京", "def"]


def test_astral_characters_keep_python_offsets():
    text = "😀 hello 𠀋𠀌 world"
    t = tokenize(text)
    got = [text[s:e] for s, e in zip(t.starts, t.ends)]
    assert got == ["hello", "𠀋", "𠀌", "world"]


def test_batch_equals_single_and_handles_empty():
    texts = ["one two", "", "three", "!!!"]
    b = tokenize_batch(texts)
    assert len(b) == 4
    for i, t in enumerate(texts):
        single = tokenize(t)
        d = b.doc(i)
        assert np.array_equal(d.starts, single.starts)
        assert np.array_equal(d.hashes, single.hashes)
    assert len(b.doc(1)) == 0 and len(b.doc(3)) == 0
    assert len(tokenize_batch([])) == 0


def test_normalize_token_is_readable():
    assert normalize_token("Ｆｕｌｌ") == "full"
    assert normalize_token("Café") == "cafe"
    assert normalize_token("ﬁnal") == "final"
