"""`copytrace compare` and `copytrace align` end to end in a subprocess."""

from __future__ import annotations

import json

from copytrace.evaluation.pan import read_detections

from helpers import SEEDS, invoke_cli

A = SEEDS / "000_9c66197dbdb99078.txt"
B = SEEDS / "001_c6b00abf72943f53.txt"


def test_compare_json_on_the_seed_pair():
    r = invoke_cli("compare", str(A), str(B), "--json")
    assert r.returncode == 0, r.stderr.decode()
    out = json.loads(r.stdout)
    assert list(out) == [
        "similarity", "jaccard", "containment_a_in_b", "containment_b_in_a",
        "passages", "only_in_a", "only_in_b", "verdict", "threshold", "explanation",
    ]
    # the verdict comes from the rule and says why in one line: aligned evidence vs the threshold
    assert out["verdict"] == "copies" and out["threshold"] == 0.5
    assert "aligned passages" in out["explanation"] and "threshold 0.5" in out["explanation"]
    a, b = A.read_text(encoding="utf-8"), B.read_text(encoding="utf-8")
    assert out["similarity"] >= 0.5  # copies
    assert out["containment_b_in_a"] > out["containment_a_in_b"]
    for p in out["passages"]:
        assert list(p) == ["a_start", "a_end", "b_start", "b_end", "kind", "score"]
        assert 0 <= p["a_start"] < p["a_end"] <= len(a) and 0 <= p["b_start"] < p["b_end"] <= len(b)
    # the headline is aligned verbatim
    head = "Putin hosts leader of Belarus for talks on closer ties"
    assert any(
        p["kind"] == "verbatim" and a[p["a_start"] : p["a_end"]] == head and b[p["b_start"] : p["b_end"]] == head
        for p in out["passages"]
    )
    # the appeal is only in B, inside no passage
    lo = b.index("Your support helps us")
    hi = b.index("makes all the difference") + len("makes all the difference")
    assert any(s <= lo and hi <= e for s, e in out["only_in_b"])
    assert all(p["b_end"] <= lo or p["b_start"] >= hi for p in out["passages"])
    assert [0, len("ThinkPol")] in out["only_in_a"]


def test_compare_terminal_view_and_inline_texts():
    r = invoke_cli("compare", str(A), str(B))
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "COPIES" in out and "Only in B" in out and "Your support helps us" in out
    r = invoke_cli("compare", "--text-a", "the cat sat on the mat today", "--text-b", "a dog ran", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["passages"] == []


def test_compare_errors_are_one_line(tmp_path):
    r = invoke_cli("compare", str(A), str(tmp_path / "missing.txt"))
    assert r.returncode == 2 and b"missing.txt" in r.stderr and b"Traceback" not in r.stderr
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9")
    r = invoke_cli("compare", str(A), str(bad), "--encoding", "utf-8")
    assert r.returncode == 2 and b"bad.txt:1: not valid UTF-8" in r.stderr and b"Traceback" not in r.stderr
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 4)  # no encoding fits
    r = invoke_cli("compare", str(A), str(binary))
    assert r.returncode == 2 and b"binary.txt:2: not valid UTF-8" in r.stderr and b"Traceback" not in r.stderr
    r = invoke_cli("compare", str(A))
    assert r.returncode == 2 and b"text B" in r.stderr


def test_compare_a_windows_1252_file_with_no_flag(tmp_path):
    a = A.read_text(encoding="utf-8")
    legacy = tmp_path / "b-cp1252.txt"
    legacy.write_bytes(a.encode("cp1252"))  # curly quotes and dashes become single cp1252 bytes
    assert b"\x92" in legacy.read_bytes() or b"\x93" in legacy.read_bytes() or b"\x96" in legacy.read_bytes()
    r = invoke_cli("compare", str(A), str(legacy), "--json")
    assert r.returncode == 0, r.stderr.decode()
    assert f"{legacy} is not UTF-8; decoded as cp1252".encode() in r.stderr
    out = json.loads(r.stdout)
    assert out["similarity"] == 1.0
    # offsets are character offsets into the decoded text: the same as in the UTF-8 original
    assert any(p["a_start"] == p["b_start"] and p["a_end"] == p["b_end"] == len(a) for p in out["passages"])


def test_align_command_writes_pan_xml(tmp_path):
    susp, src = tmp_path / "susp", tmp_path / "src"
    susp.mkdir()
    src.mkdir()
    (susp / "s1.txt").write_text(B.read_text(encoding="utf-8"), encoding="utf-8")
    (src / "r1.txt").write_text(A.read_text(encoding="utf-8"), encoding="utf-8")
    (src / "r2.txt").write_text("Nothing in common with anything at all, just some words here.", encoding="utf-8")
    pairs = tmp_path / "pairs"
    pairs.write_text("s1.txt r1.txt\ns1.txt r2.txt\n", encoding="utf-8")
    out = tmp_path / "det"
    r = invoke_cli("align", "--pairs", str(pairs), "--susp-dir", str(susp), "--src-dir", str(src),
                "--out", str(out), "--jobs", "2", "-q")
    assert r.returncode == 0, r.stderr.decode()
    found = read_detections(out / "s1-r1.xml")
    assert found and all(s.this_length > 0 and s.source_length > 0 for s in found)
    assert read_detections(out / "s1-r2.xml") == []
    pairs.write_text("s1.txt nope.txt\n", encoding="utf-8")
    r = invoke_cli("align", "--pairs", str(pairs), "--susp-dir", str(susp), "--src-dir", str(src), "--out", str(out))
    assert r.returncode == 2 and b"pairs:1" in r.stderr and b"nope.txt" in r.stderr
