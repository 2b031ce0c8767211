"""`copytrace align --pairs`: document names from the pairs file never lead a detection XML
outside --out (nor a read outside --susp-dir/--src-dir)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from copytrace.cli import main
from copytrace.evaluation.pan import align_pairs_file, read_detections

TEXT = ("The quick brown fox jumps over the lazy dog near the river bank while the farmer watches "
        "the sheep graze quietly in the green field behind the old stone barn.")


@pytest.fixture
def layout(tmp_path):
    susp, src, out = tmp_path / "susp", tmp_path / "src", tmp_path / "out"
    susp.mkdir()
    src.mkdir()
    (susp / "s1.txt").write_text(TEXT, encoding="utf-8")
    (src / "r1.txt").write_text("Prefix words. " + TEXT, encoding="utf-8")
    (tmp_path / "outside.txt").write_text(TEXT, encoding="utf-8")  # a real file a '..' name reaches
    return tmp_path, susp, src, out


@pytest.mark.parametrize("line, why", [
    ("../outside.txt r1.txt", "leads out of its folder ('..')"),
    ("s1.txt ../outside.txt", "leads out of its folder ('..')"),
    ("s1.txt sub/../../outside.txt", "leads out of its folder ('..')"),
    ("{abs} r1.txt", "is an absolute path"),
])
def test_names_leading_outside_are_refused_with_the_line(layout, line, why):
    root, susp, src, out = layout
    line = line.format(abs=root / "outside.txt")
    pairs = root / "pairs"
    pairs.write_text("s1.txt r1.txt\n" + line + "\n", encoding="utf-8")
    before = sorted(p.name for p in root.iterdir())
    r = CliRunner().invoke(main, ["align", "--pairs", str(pairs), "--susp-dir", str(susp), "--src-dir", str(src),
                                  "--out", str(out), "--jobs", "1", "-q"])
    assert r.exit_code == 2, r.output
    name = next(f for f in line.split() if f != "r1.txt" and f != "s1.txt")
    assert r.stderr.startswith(f"copytrace: error: {pairs}:2: document name {name!r} {why}: ")
    assert r.stderr.count("\n") == 1
    assert sorted(p.name for p in root.iterdir()) == before  # nothing written anywhere, --out not even created
    assert not list(root.rglob("*.xml"))


def test_names_in_subfolders_stay_inside_out(layout):
    root, susp, src, out = layout
    (susp / "sub").mkdir()
    (susp / "sub" / "s2.txt").write_text(TEXT, encoding="utf-8")
    pairs = root / "pairs"
    pairs.write_text("sub/s2.txt r1.txt\ns1.txt r1.txt\n", encoding="utf-8")
    assert align_pairs_file(pairs, susp, src, out, jobs=1) == 2
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.xml"))
    assert written == ["s1-r1.xml", "sub/s2-r1.xml"]
    assert read_detections(out / "sub" / "s2-r1.xml") == read_detections(out / "s1-r1.xml") != []
    assert sorted(p.name for p in root.rglob("*.xml") if out not in p.parents) == []
