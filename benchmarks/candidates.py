"""Recall of candidate generation against the generator's truth, per edit strength.

    python benchmarks/candidates.py [--docs 5000] [--strengths 0,0.1,0.2,0.3,0.4,0.5]
                                    [--fractions 0.25,0.1,0.05] [--seed 0]

For each edit strength one ``syndicate.py`` corpus (hard negatives included) is
fingerprinted as ``find`` does at its defaults (word 5-grams, 128 permutations,
LSH bands for threshold 0.5, the 1-in-8 containment sample, ``max_df`` 64) and
the candidate pairs are formed with each containment-sample *fraction* (a pair
is a candidate when it shares at least that share of the smaller document's
sample; ``find`` uses ``candidates.candidate_fraction(threshold)``, 0.1 at
0.5).  The sample holds 1-in-8 shingles and the word channel
(``fingerprint.word_sample``); ``--no-words`` leaves the words out.  Printed per strength
and fraction: candidate recall of the (original, copy) pairs and of all true
pairs, and candidates per document.  The rule (``stages.rule``) then judges
the candidates: recall lost here is lost for good, candidates that are not
copies cost alignment time.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--strengths", default="0,0.1,0.2,0.3,0.4,0.5")
    ap.add_argument("--fractions", default="0.25,0.1")
    ap.add_argument("--no-words", dest="words", action="store_false",
                    help="leave the word channel out of the sample (shingles only, as before)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from syndicate import generate, load_reuters_base

    from copytrace.stages import candidates as cand
    from copytrace.stages.fingerprint import FingerprintParams, fingerprint_batch, word_sample
    from copytrace.stages.normalize import tokenize_batch

    base = load_reuters_base()
    fractions = [float(x) for x in args.fractions.split(",")]
    print(f"{args.docs} documents per corpus (hard negatives on), word 5-grams, threshold 0.5, "
          f"word channel {'on' if args.words else 'off'}; "
          "cells: recall of (original, copy) pairs / of all true pairs, candidates per document")
    head = f"{'edit strength':>13}" + "".join(f" | {'sample fraction ' + str(f):^30}" for f in fractions)
    print(head)
    print("-" * len(head))
    for strength in [float(x) for x in args.strengths.split(",")]:
        docs, truth = generate(args.docs, 0.3, strength, args.seed, base)
        docs = sorted(docs, key=lambda d: d["id"])
        ids = [d["id"] for d in docs]
        index = {d: i for i, d in enumerate(ids)}
        toks = tokenize_batch([d["text"] for d in docs])
        fps = fingerprint_batch(toks, FingerprintParams(5, 128, 42), 8)
        s_hash, s_doc = fps.sample_hashes, fps.sample_docs
        if not args.words:  # the shingle sample alone
            wh, wd = word_sample(toks)
            drop = np.isin(s_hash, wh)
            s_hash, s_doc = s_hash[~drop], s_doc[~drop]
        active = fps.n_tokens > 0
        exact, is_head = cand.exact_groups(fps.content_hash, active)
        lsh = cand.lsh_pairs(fps.signatures, cand.optimal_params(0.5, 128), is_head, 64)
        members: dict[str, list[int]] = defaultdict(list)
        for d, c in truth.items():
            members[c].append(index[d])
        orig_pairs, all_pairs = set(), set()
        for c, m in members.items():
            m = sorted(m)
            for x in range(len(m)):
                for y in range(x + 1, len(m)):
                    all_pairs.add((m[x], m[y]))
            o = index[c]
            for x in m:
                if x != o:
                    orig_pairs.add((min(o, x), max(o, x)))
        cells = []
        for f in fractions:
            cont = cand.containment_pairs(s_hash, s_doc, len(docs), is_head, f * cand.CANDIDATE_DIVISOR, max_df=64)
            pairs = cand.merge_pairs(exact, lsh, cont)
            got = set(map(tuple, pairs.tolist()))
            r_o = len(orig_pairs & got) / max(1, len(orig_pairs))
            r_a = len(all_pairs & got) / max(1, len(all_pairs))
            cells.append(f"{r_o:.3f} / {r_a:.3f}, {pairs.shape[0] / len(docs):5.2f}/doc")
        print(f"{strength:>13}" + "".join(f" | {c:^30}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
