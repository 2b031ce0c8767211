#!/usr/bin/env python
"""Speed of the passage aligner per pair, before vs after a change.

    python benchmarks/align_speed.py [--baseline REV] [--pairs 1000] [--pan 500]
                                     [--pan-dir DIR] [--reuters-dir DIR] [--seed 0]

Pair sets (each aligned from raw strings, ``align(a, b)``, as ``find`` does):

* ``seed``       the two stories of ``examples/seeds`` (repeated 50 times);
* ``copies``     ``--pairs`` (copy, original) pairs of a ``syndicate.py``
                 corpus (Reuters base when present, else the synthetic base);
* ``unrelated``  ``--pairs`` random pairs of distinct stories of that corpus;
* ``pan``        ``--pan`` random PAN 2013 training pairs (all folders), when
                 the corpus is present.

``--baseline REV`` loads ``stages/align.py`` and ``stages/normalize.py`` as
they were at git revision ``REV`` (default ``HEAD``; ``none``: skip) into
private modules, and times them on the same pairs: the "before" columns.  The
``same`` column counts the pairs whose passages (offsets, kind, score) are
identical before and after.  One warm-up alignment per set precedes timing;
times are CPU time of the process (all its threads, so a kernel that fans out
to a thread pool pays for every thread), which stays meaningful on a loaded
machine.

The last line is ``speedup_copies=X.XX speedup_unrelated=X.XX`` (before /
after time per pair; ``nan`` without a baseline).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

Pair = tuple[str, str]


def _load_baseline(rev: str, tmp: Path) -> Callable[..., Any]:
    """``align`` as it was at git revision ``rev`` (with that revision's tokenizer)."""

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True, text=True
        ).stdout

    norm = show("src/copytrace/stages/normalize.py")
    (tmp / "_ct_base_normalize.py").write_text(norm, encoding="utf-8")
    src = show("src/copytrace/stages/align.py").replace(
        "from copytrace.stages.normalize import", "from _ct_base_normalize import"
    )
    (tmp / "_ct_base_align.py").write_text(src, encoding="utf-8")
    sys.path.insert(0, str(tmp))
    spec = importlib.util.spec_from_file_location("_ct_base_align", tmp / "_ct_base_align.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_ct_base_align"] = mod
    spec.loader.exec_module(mod)
    return mod.align


def _syndicate_pairs(n: int, seed: int, reuters_dir: str | None) -> tuple[list[Pair], list[Pair], str]:
    import syndicate

    base: Any = None
    label = "reuters"
    try:
        base = syndicate.load_reuters_base(reuters_dir)
    except Exception:  # noqa: BLE001 - any failure: fall back to the synthetic base
        base = syndicate.synthetic_base(400, seed=seed)
        label = "synthetic"
    n_docs = int(n / 0.3 * 1.25) + 50
    docs, truth = syndicate.generate(n_docs, copy_rate=0.3, edit_strength=0.2, seed=seed, base=base)
    text = {d["id"]: d["text"] for d in docs}
    copies = [(text[i], text[c]) for i, c in truth.items() if c != i and c in text][:n]
    rng = random.Random(seed)
    ids = sorted(text)
    unrelated: list[Pair] = []
    while len(unrelated) < n:
        x, y = rng.sample(ids, 2)
        if truth[x] != truth[y]:
            unrelated.append((text[x], text[y]))
    return copies, unrelated, label


def _pan_pairs(pan_dir: Path, n: int, seed: int) -> list[Pair]:
    from copytrace.evaluation.pan import load_corpus

    pairs = load_corpus(pan_dir)
    random.Random(seed).shuffle(pairs)
    return [
        ((pan_dir / "susp" / p.susp).read_text(encoding="utf-8"), (pan_dir / "src" / p.src).read_text(encoding="utf-8"))
        for p in pairs[:n]
    ]


def _run(fn: Callable[..., Any], pairs: list[Pair]) -> tuple[float, list[list[tuple]]]:
    fn(*pairs[0])
    out = []
    t = time.process_time()
    for a, b in pairs:
        al = fn(a, b)
        out.append([(p.a_start, p.a_end, p.b_start, p.b_end, p.kind, p.score) for p in al.passages])
    return (time.process_time() - t) / len(pairs), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default="HEAD", help="git revision for the 'before' columns ('none': skip)")
    ap.add_argument("--pairs", type=int, default=1000, help="syndicate copy / unrelated pairs (default 1000)")
    ap.add_argument("--pan", type=int, default=500, help="PAN pairs (default 500; 0: skip)")
    ap.add_argument("--pan-dir", default=str(ROOT.parent / "shared" / "data" / "pan13-text-alignment-train"))
    ap.add_argument("--reuters-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from copytrace.stages.align import align

    seeds = sorted((ROOT / "examples" / "seeds").glob("*.txt"))
    seed_pair = (seeds[0].read_text(encoding="utf-8"), seeds[1].read_text(encoding="utf-8"))
    copies, unrelated, label = _syndicate_pairs(args.pairs, args.seed, args.reuters_dir)
    sets: list[tuple[str, list[Pair]]] = [
        ("seed", [seed_pair] * 50),
        (f"copies ({label})", copies),
        (f"unrelated ({label})", unrelated),
    ]
    pan_dir = Path(args.pan_dir)
    if args.pan and pan_dir.is_dir():
        sets.append(("pan13 train", _pan_pairs(pan_dir, args.pan, args.seed)))
    else:
        print(f"# pan13: skipped ({pan_dir} absent or --pan 0)")

    with tempfile.TemporaryDirectory() as tmp:
        before = None if args.baseline == "none" else _load_baseline(args.baseline, Path(tmp))
        head = f"{'set':<22} {'pairs':>6} {'before µs':>10} {'before/s':>9} {'after µs':>9} {'after/s':>8} {'speedup':>8} {'same':>6}"
        print(head)
        print("-" * len(head))
        speed: dict[str, float] = {}
        for name, pairs in sets:
            t1, out1 = _run(align, pairs)
            if before is not None:
                t0, out0 = _run(before, pairs)
                same = sum([q[:5] for q in x] == [q[:5] for q in y] for x, y in zip(out0, out1, strict=True))
                b_us, b_ps, sp = f"{t0 * 1e6:10.0f}", f"{1 / t0:9.0f}", t0 / t1
                same_s = f"{same:6d}"
            else:
                b_us, b_ps, sp, same_s = f"{'-':>10}", f"{'-':>9}", float("nan"), f"{'-':>6}"
            speed[name.split()[0]] = sp
            print(f"{name:<22} {len(pairs):6d} {b_us} {b_ps} {t1 * 1e6:9.0f} {1 / t1:8.0f} {sp:8.2f} {same_s}", flush=True)
    print(f"speedup_copies={speed['copies']:.2f} speedup_unrelated={speed['unrelated']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
