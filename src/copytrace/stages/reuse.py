"""Stage 7b — reuse: aligned passages → clusters of reused passages, and the
rule that keeps document clusters from chaining.

A document may hold many stories (a newspaper page, a digest, a front page);
document-level clustering would tie every story it holds into one cluster.
This stage groups *passages* instead.

Data contract
-------------
Input (the engines' arrays, documents numbered 0..n-1 in doc-id order):

* ``pair_a``, ``pair_b`` (int64, per verified pair): the two documents;
* ``pas``: the align results of :func:`copytrace.engines.common.align_arrays`
  — per passage ``pair``, ``a_start``, ``a_end``, ``b_start``, ``b_end``,
  ``kind`` (0 verbatim, 1 reworded); per pair ``original`` (0 unknown, 1 a,
  2 b) and ``confidence``, ``coverage_a``, ``coverage_b``.

:func:`reuse_clusters` → :class:`Reuse`: one row per *occurrence* (the
overlapping aligned spans of one cluster in one document; its bounds are
the latest start and the median end of its spans when two or more vote,
else the span's own, see :func:`_occurrence_bounds`):
``cluster`` (dense 0..k-1, in order of each cluster's smallest
``(doc, start)``), ``doc``, ``start``, ``end`` (characters, end exclusive,
into the text as read), ``n_docs``, ``is_original``, ``confidence``,
``verbatim``; rows sorted by (cluster, doc, start).

The graph
    Nodes are aligned spans ``(doc, start, end)`` — both sides of every row
    of ``passages`` that is verbatim, or reworded with a score of at least
    ``rule.SCORE_HIGH`` (0.7; two stories written from one template align
    as reworded passages scoring 0.4–0.65) — ``COPY_MIN_SCORE`` (0.5) in a
    pair the rule judged a copy — and not lopsided
    (``MAX_SIDE_RATIO``); identical spans are one node.  Edges:

    * every alignment joins its two spans;
    * passages of one pair that follow each other on both sides, at most
      ``JOIN_GAP`` characters apart (a headline aligned verbatim, its body
      reworded), are one text;
    * two spans of one document join when their overlap is at least
      ``SHORT_SHARE`` (80%) of the shorter span *and* ``LONG_SHARE`` (40%)
      of the longer one — a truncated copy's span joins the full story's, a
      quoted sentence does not pull in the story that quotes it;
    * except that a span which holds two mostly disjoint shorter spans (two
      stories side by side, aligned as one passage against a page that
      printed them together) joins neither: it would chain two stories.
      It still joins spans it nearly equals (overlap ≥ 80% of the longer).
      Such passages (the alignments of that span) are then left out and
      the graph is built once more without them: a story they hold is found
      through its other alignments, and they do not form a cluster of their
      own (an occurrence straddling two stories).  The span aligned with it
      stays when it has other alignments: flagging it too (the alignment
      spans two stories there as well, or a story cut short) dropped every
      alignment of a story printed in full whenever one cut reprint of it
      was aligned in two pieces.

    A reworded passage scoring under ``BRIDGE_SCORE`` (0.8) that alone
    would join two groups of printings — the components of the graph built
    without such passages, each holding ``BRIDGE_MIN_DOCS`` (3) documents or
    more — is left out and the graph built once more: two stories on one
    deal, or written from one template, each reprinted, align with each
    other at 0.70–0.76, while the printings of one story align higher among
    themselves.  A weak passage bringing one or two printings to their story
    stays (a group of two heavily reworded reprints of one story is common
    in the syndication corpus).  Page corpus: ARI 0.9398 → 0.9455 on 1,400
    pages, 0.9418 → 0.9465 on 400; syndication agreement unchanged.

    A lopsided passage (a reprint cut short against the full story, or an
    alignment running over a second story) passing the score bar is then
    admitted, and the graph built once more, when the nodes its two sides
    touch (overlap ≥ 20% of the node) are all of one cluster, one of them
    covering ``LOPSIDED_COVER`` (70%) of each side it touches — the cut
    reprint joins its story — or, touching none, when its sides are within
    ``LOPSIDED_NEW_RATIO`` (2.5) of each other; a lopsided passage touching
    two clusters joins neither.

    Clusters are the connected components (union-find), except that a
    cluster whose occurrences lie (≥ 80%) inside occurrences of one other
    cluster in at least ``NESTED_DOCS`` (2) documents, and inside no third
    cluster's anywhere, joins that cluster: it is a cut version of the same
    text (a reprint keeping the opening paragraphs aligns only with the
    opening of the full printings, too short a part of them to join by
    overlap), while a sentence quoted in two different stories stays apart.
    Where such occurrences merge, the merged occurrence spans the bounds
    both had.  A document can be
    in any number of clusters, and an occurrence may overlap occurrences of
    other clusters.

Direction
    The original is printed first: when dates are given, only the
    cluster's earliest-dated occurrences are candidates.  Among them each
    alignment votes as its pair's direction does (``explain.direction``:
    dates, wire credits, containment, insertions): +confidence for the side
    judged original, -confidence for the other; the highest total wins —
    the same vote as ``cluster_originals`` for documents, by the same
    function; ties go to the smallest ``(doc, start)``.
    ``confidence`` of a row: the mean vote of its alignments in the
    direction of its role (for the original, that it is the source; for a
    copy, that it is a copy), clipped to [0, 1].

``verbatim``: the occurrence is found word for word in another occurrence
(one of its alignments is verbatim); otherwise every match is reworded.

Document clusters (:func:`whole_copy_mask`)
    Two documents join a document cluster only when they are copies of one
    another as wholes.  Each side's coverage is the share of it inside the
    pair's passages (the aligner's, less lopsided passages, see
    ``MAX_SIDE_RATIO``; or its shingle containment when larger).  A pair
    joins when

    * both sides are well over half covered (``> WHOLE_SHARE``, 60%, a
      margin for imprecise passage ends): no document has two disjoint parts
      each over half of it, so two such neighbours of a document share part
      of its main text; or
    * one side is over half covered (``ONE_STORY_SHARE``, a truncated or
      shortened copy), and the other holds no
      reused passage besides the ones this pair shares — it is in no reuse
      cluster the pair's passages are not in: it holds one story.

    A page holding several reused stories thus joins no copy of any one of
    them, and a page holding one copied story among original ones joins the
    story's copies only as their longer version.  Without alignment
    (``--no-align``) there is no coverage and every verified pair joins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from copytrace import schemas
from copytrace.kernels import njit
from copytrace.stages.cluster import Clusters, connected_components, find_root
from copytrace.stages.rule import SCORE_HIGH
from copytrace.stages.verify import VerifiedPairs

__all__ = ["Reuse", "reuse_clusters", "reuse_table", "reuse_counts", "whole_copy_mask", "SHORT_SHARE", "LONG_SHARE", "WHOLE_SHARE"]

# a passage whose one side is this many times longer than the other is not a
# reprint of one text (rewording and cuts inside a passage change lengths far
# less): it is left out of the reuse graph and of the whole-copy coverage
MAX_SIDE_RATIO = 1.5

SHORT_SHARE = 0.8
LONG_SHARE = 0.4
WHOLE_SHARE = 0.6  # both sides: well over half, a margin for passage ends
ONE_STORY_SHARE = 0.5  # one side, the other holding no second story
# passages of one pair that follow each other on both sides with at most this
# many characters between them (a headline aligned verbatim, its body reworded)
# are one reused text
JOIN_GAP = 3
# a reworded passage of a pair the rule judged a copy links from this score (others: rule.SCORE_HIGH)
COPY_MIN_SCORE = 0.5
# a lopsided passage touching no cluster forms one when its sides are within this ratio
LOPSIDED_NEW_RATIO = 2.5
# ... and joins a cluster when one node of it covers this share of each side touching it
LOPSIDED_COVER = 0.7
NESTED_DOCS = 2
# a reworded passage scoring under this that alone joins two groups of printings of at least
# BRIDGE_MIN_DOCS documents each is left out (see _weak_bridges and the module doc)
BRIDGE_SCORE = 0.8
BRIDGE_MIN_DOCS = 3
# an occurrence of another cluster at the head or tail of an occurrence (inside it by SHORT_SHARE,
# at most EDGE_SHARE of its length, its gap to that end under EDGE_GAP of its own length) is cut off
EDGE_SHARE = 0.5
EDGE_GAP = 0.5


@dataclass(frozen=True)
class Reuse:
    """Occurrences of reused passages, one row each (see the module doc)."""

    cluster: np.ndarray  # int64, dense 0..k-1
    doc: np.ndarray  # int64 document index
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    n_docs: np.ndarray  # int64, documents in the row's cluster
    is_original: np.ndarray  # bool
    confidence: np.ndarray  # float64
    verbatim: np.ndarray  # bool
    # per passage of the input (index into ``pas``): its cluster, -1 when left out
    passage_cluster: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.doc.shape[0])

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1 if len(self) else 0

    @staticmethod
    def empty() -> "Reuse":
        z = np.zeros(0, dtype=np.int64)
        return Reuse(z, z, z, z, z, np.zeros(0, bool), np.zeros(0, np.float64), np.zeros(0, bool), z)


# --------------------------------------------------------------------------
# the span graph
# --------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _link_spans(doc, start, end, ea, eb, short_share, long_share):
    """Union-find over spans sorted by (doc, start, -end): same-document
    overlap links (with the two-stories exception) and alignment edges."""
    m = doc.shape[0]
    big = np.int64(1) << 62
    min_end = np.full(m, big, np.int64)  # of the contained spans
    min_end_len = np.zeros(m, np.int64)
    max_start = np.full(m, -1, np.int64)
    max_start_len = np.zeros(m, np.int64)
    for i in range(m):
        j = i + 1
        while j < m and doc[j] == doc[i] and start[j] < end[i]:
            ov = min(end[i], end[j]) - start[j]
            li = end[i] - start[i]
            lj = end[j] - start[j]
            lo, hi = min(li, lj), max(li, lj)
            if ov >= short_share * lo and ov < short_share * hi:
                c, x = (i, j) if li >= lj else (j, i)  # container, contained
                if end[x] < min_end[c]:
                    min_end[c] = end[x]
                    min_end_len[c] = end[x] - start[x]
                if start[x] > max_start[c]:
                    max_start[c] = start[x]
                    max_start_len[c] = end[x] - start[x]
            j += 1
    multi = np.zeros(m, np.bool_)
    for c in range(m):
        if max_start[c] >= 0:
            lo = min(min_end_len[c], max_start_len[c])
            multi[c] = (min_end[c] - max_start[c]) < (1.0 - short_share) * lo
    parent = np.arange(m)
    for i in range(m):
        j = i + 1
        while j < m and doc[j] == doc[i] and start[j] < end[i]:
            ov = min(end[i], end[j]) - start[j]
            li = end[i] - start[i]
            lj = end[j] - start[j]
            lo, hi = min(li, lj), max(li, lj)
            if ov >= short_share * lo and ov >= long_share * hi:
                c = i if li >= lj else j
                if ov >= short_share * hi or not multi[c]:
                    ra = find_root(parent, i)
                    rb = find_root(parent, j)
                    if ra < rb:
                        parent[rb] = ra
                    elif rb < ra:
                        parent[ra] = rb
            j += 1
    for t in range(ea.shape[0]):
        ra = find_root(parent, ea[t])
        rb = find_root(parent, eb[t])
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    for x in range(m):
        parent[x] = find_root(parent, x)
    return parent, multi


@njit(cache=True, nogil=True)
def _merge_occurrences(key, start, end):
    """Rows sorted by (key, start): the row index of the occurrence each
    belongs to (overlapping or touching spans of one key merge)."""
    m = key.shape[0]
    occ = np.empty(m, np.int64)
    k = -1
    cur_end = np.int64(0)
    for i in range(m):
        if i == 0 or key[i] != key[i - 1] or start[i] > cur_end:
            k += 1
            cur_end = end[i]
        elif end[i] > cur_end:
            cur_end = end[i]
        occ[i] = k
    return occ


def _occurrence_bounds(occ: np.ndarray, st: np.ndarray, en: np.ndarray, n_occ: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each occurrence from its spans (``occ`` sorted; spans
    by start within it; one span per alignment, so a span aligned with
    several documents votes several times).  One span: its bounds.  Two or
    more: the latest start and the median end (the lower one of two) — an
    alignment that runs over the masthead or the story above starts early
    (two printings under similar mastheads align from the masthead on), one
    that runs over the story below ends late, while copies are cut from the
    bottom, so ends vary and starts do not.  Where these cross (spans that
    barely overlap), the union."""
    first = np.flatnonzero(np.r_[True, occ[1:] != occ[:-1]])
    cnt = np.diff(np.r_[first, occ.shape[0]])
    u_end = np.zeros(n_occ, dtype=np.int64)
    np.maximum.at(u_end, occ, en)
    u_start = st[first]
    m_start = np.zeros(n_occ, dtype=np.int64)
    np.maximum.at(m_start, occ, st)
    eo = np.lexsort((en, occ))
    m_end = en[eo][first + (cnt - 1) // 2]
    union = (cnt < 2) | (m_end <= m_start)
    return np.where(union, u_start, m_start), np.where(union, u_end, m_end)


def _graph(pair_a: np.ndarray, pair_b: np.ndarray, pas: dict[str, np.ndarray], link: np.ndarray) -> dict[str, Any]:
    """The span graph over the passages where ``link`` is set (see the module
    doc): nodes (``ndoc``, ``nst``, ``nen``, sorted by (doc, start, -end)),
    per linked passage its two nodes (``ea``, ``eb``) and sides (``doc``,
    ``st``, ``en``: a-sides then b-sides, ``node_of``), the component root of
    each node and the two-stories flag (``multi``)."""
    sel = np.flatnonzero(link)
    pair = np.asarray(pas["pair"], np.int64)[sel]
    cols = {k: np.asarray(pas[k])[sel].astype(np.int64) for k in ("a_start", "a_end", "b_start", "b_end")}
    n_pas = pair.shape[0]
    # both sides of every passage, as (doc, start, end)
    doc = np.concatenate([pair_a[pair], pair_b[pair]]).astype(np.int64)
    st = np.concatenate([cols["a_start"], cols["b_start"]])
    en = np.concatenate([cols["a_end"], cols["b_end"]])
    en = np.maximum(en, st)
    # identical spans are one node; nodes sorted by (doc, start, -end)
    order = np.lexsort((-en, st, doc))
    d_s, s_s, e_s = doc[order], st[order], en[order]
    new = np.ones(order.shape[0], dtype=bool)
    new[1:] = (d_s[1:] != d_s[:-1]) | (s_s[1:] != s_s[:-1]) | (e_s[1:] != e_s[:-1])
    node_sorted = np.cumsum(new) - 1
    node_of = np.empty_like(node_sorted)
    node_of[order] = node_sorted  # side-row -> node
    ndoc, nst, nen = d_s[new], s_s[new], e_s[new]
    ea, eb = node_of[:n_pas], node_of[n_pas:]
    # consecutive passages of one pair, adjacent on both sides
    po = np.lexsort((cols["a_start"], pair))
    nxt = (pair[po][1:] == pair[po][:-1])
    ga = cols["a_start"][po][1:] - cols["a_end"][po][:-1]
    gb = cols["b_start"][po][1:] - cols["b_end"][po][:-1]
    adj = nxt & (ga >= 0) & (ga <= JOIN_GAP) & (gb >= 0) & (gb <= JOIN_GAP)
    link_a = np.concatenate([ea, ea[po][:-1][adj]])
    link_b = np.concatenate([eb, ea[po][1:][adj]])
    root, multi = _link_spans(ndoc, nst, nen, link_a, link_b, SHORT_SHARE, LONG_SHARE)
    return {"sel": sel, "pair": pair, "doc": doc, "st": st, "en": en, "node_of": node_of, "ndoc": ndoc, "nst": nst,
            "nen": nen, "ea": ea, "eb": eb, "root": root, "multi": multi}


def reuse_clusters(
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    pas: dict[str, np.ndarray],
    dates: list[str | None] | None = None,
    copies: np.ndarray | None = None,
) -> Reuse:
    """Reuse clusters from the aligned passages (see the module doc).

    ``dates``: each document's date (doc-index order) or ``None``; used only
    to break direction ties in favour of the earliest occurrence.
    ``copies``: per pair, whether the rule judged it a copy (its reworded
    passages link from ``COPY_MIN_SCORE``, see :func:`linking_passages`)."""
    pair = np.asarray(pas.get("pair", np.zeros(0, np.int64)), dtype=np.int64)
    n_all = pair.shape[0]
    sym = linking_passages(pas, copies) if n_all else np.zeros(0, bool)
    if not sym.any():
        return dataclasses.replace(Reuse.empty(), passage_cluster=np.full(n_all, -1, np.int64))
    g = _graph(pair_a, pair_b, pas, sym)
    if g["multi"].any():
        # a span holding two stories, and the span aligned with it, are left out
        # (the stories are found through their other alignments): graph rebuilt once
        two = g["multi"][g["ea"]] | g["multi"][g["eb"]]
        sym = sym.copy()
        sym[g["sel"][two]] = False
        if not sym.any():
            return dataclasses.replace(Reuse.empty(), passage_cluster=np.full(n_all, -1, np.int64))
        g = _graph(pair_a, pair_b, pas, sym)
    bridges = _weak_bridges(pair_a, pair_b, pas, sym)
    if bridges.any():
        # a weakly reworded alignment joining two groups of printings that hold two documents
        # each without it: two stories written alike, not one story (graph rebuilt once)
        sym = sym & ~bridges
        g = _graph(pair_a, pair_b, pas, sym)
    lop = lopsided_candidates(pas, copies) & ~sym
    if lop.any():
        # a lopsided passage (a reprint cut short) joins the one cluster its sides touch
        cand = np.flatnonzero(lop)
        ok = _admit_lopsided(
            g["ndoc"], g["nst"], g["nen"], g["root"],
            np.asarray(pair_a, np.int64)[pair[cand]], np.asarray(pas["a_start"], np.int64)[cand],
            np.asarray(pas["a_end"], np.int64)[cand],
            np.asarray(pair_b, np.int64)[pair[cand]], np.asarray(pas["b_start"], np.int64)[cand],
            np.asarray(pas["b_end"], np.int64)[cand], 1.0 - SHORT_SHARE, LOPSIDED_NEW_RATIO, LOPSIDED_COVER,
        )
        if ok.any():
            sym = sym.copy()
            sym[cand[ok]] = True
            g = _graph(pair_a, pair_b, pas, sym)
    if NESTED_DOCS > 0:
        root = _absorb_nested(g)
        if not np.array_equal(root, g["root"]):
            g = g | {"root": root, "root_before": g["root"]}
    return _occurrences(g, pas, dates, n_all)


@njit(cache=True, nogil=True)
def _side_roots(ndoc, nst, nen, root, d, s, e, share):
    """Per span (``d``, ``s``, ``e``): the root of the node of its document
    overlapping it most, when that overlap is at least ``share`` of the span;
    else -1."""
    m = d.shape[0]
    out = np.full(m, -1, np.int64)
    for t in range(m):
        lo = np.searchsorted(ndoc, d[t])
        hi = np.searchsorted(ndoc, d[t] + 1)
        best = -1
        best_ov = 0
        for i in range(lo, hi):
            if nst[i] >= e[t]:
                break
            ov = min(e[t], nen[i]) - max(s[t], nst[i])
            if ov > best_ov:
                best = i
                best_ov = ov
        if best >= 0 and best_ov >= share * (e[t] - s[t]):
            out[t] = root[best]
    return out


def _weak_bridges(pair_a: np.ndarray, pair_b: np.ndarray, pas: dict[str, np.ndarray], link: np.ndarray) -> np.ndarray:
    """Linked reworded passages scoring under ``BRIDGE_SCORE`` whose two sides
    lie (by ``SHORT_SHARE``) in two different components of the graph built
    without them, each holding at least ``BRIDGE_MIN_DOCS`` documents: two
    groups of printings that a weak alignment alone would join (two stories on
    one deal or from one template align at 0.70–0.76).  A weak alignment that
    brings one printing to its story (a group of one document) stays."""
    out = np.zeros(link.shape[0], bool)
    if "score" not in pas or not link.any():
        return out
    weak = link & (np.asarray(pas["kind"], np.int64) == 1) & (np.asarray(pas["score"], np.float64) < BRIDGE_SCORE)
    strong = link & ~weak
    if not weak.any() or not strong.any():
        return out
    gs = _graph(pair_a, pair_b, pas, strong)
    docs_of = np.unique(np.stack([gs["root"], gs["ndoc"]], 1), axis=0)[:, 0]
    n_docs = np.bincount(docs_of, minlength=gs["root"].shape[0])
    k = np.flatnonzero(weak)
    pair = np.asarray(pas["pair"], np.int64)[k]
    roots = [
        _side_roots(gs["ndoc"], gs["nst"], gs["nen"], gs["root"], np.asarray(side_doc, np.int64)[pair],
                    np.asarray(pas[f"{x}_start"], np.int64)[k], np.asarray(pas[f"{x}_end"], np.int64)[k], SHORT_SHARE)
        for x, side_doc in (("a", pair_a), ("b", pair_b))
    ]
    ra, rb = roots
    ok = (ra >= 0) & (rb >= 0)
    cut = np.zeros(k.shape[0], bool)
    cut[ok] = (ra[ok] != rb[ok]) & (np.minimum(n_docs[ra[ok]], n_docs[rb[ok]]) >= BRIDGE_MIN_DOCS)
    out[k[cut]] = True
    return out


@njit(cache=True, nogil=True)
def _touching_roots(ndoc, nst, nen, root, d, s, e, share, out, n_out):
    """Adds to ``out[:n_out]`` the roots of the nodes of document ``d`` that
    overlap ``[s, e)`` by at least ``share`` of their length (at most two
    distinct roots are kept: more is as good as two); returns the new count
    and the largest share of ``[s, e)`` one such node covers."""
    lo = np.searchsorted(ndoc, d)
    hi = np.searchsorted(ndoc, d + 1)
    cover = 0.0
    for i in range(lo, hi):
        if nst[i] >= e:
            break
        ov = min(e, nen[i]) - max(s, nst[i])
        if ov > 0 and ov >= share * (nen[i] - nst[i]):
            cover = max(cover, ov / max(e - s, 1))
            r = root[i]
            seen = False
            for k in range(n_out):
                if out[k] == r:
                    seen = True
            if not seen:
                if n_out == 2:
                    return n_out, cover
                out[n_out] = r
                n_out += 1
    return n_out, cover


@njit(cache=True, nogil=True)
def _admit_lopsided(ndoc, nst, nen, root, da, sa, ea, db, sb, eb, share, new_ratio, min_cover):
    """Per lopsided passage ((``da``, ``sa``, ``ea``) against (``db``, ``sb``,
    ``eb``)): whether the nodes its two sides touch (overlap of at least
    ``share`` of the node) are all of one component, and on each side that
    touches one, one node covers ``min_cover`` of the side; or — none
    touched — whether its sides are within ``new_ratio`` of each other."""
    m = da.shape[0]
    ok = np.zeros(m, np.bool_)
    out = np.empty(2, np.int64)
    for t in range(m):
        n_a, cov_a = _touching_roots(ndoc, nst, nen, root, da[t], sa[t], ea[t], share, out, 0)
        n_out, cov_b = _touching_roots(ndoc, nst, nen, root, db[t], sb[t], eb[t], share, out, n_a)
        if n_out == 1:
            ok[t] = (cov_a == 0.0 or cov_a >= min_cover) and (cov_b == 0.0 or cov_b >= min_cover)
        elif n_out == 0:
            la, lb = ea[t] - sa[t], eb[t] - sb[t]
            ok[t] = max(la, lb) <= new_ratio * min(la, lb)
    return ok


def _occurrence_spans(g: dict[str, Any]) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Occurrences of the graph ``g``: the node spans of one cluster in one
    document, merged where they overlap, bounded by :func:`_occurrence_bounds`
    — (occurrence of each node, count, and per occurrence its root, doc,
    start and end; occurrences in order of (root, doc, start))."""
    ndoc, nst, nen, root, node_of, st, en = g["ndoc"], g["nst"], g["nen"], g["root"], g["node_of"], g["st"], g["en"]
    o = np.lexsort((nst, ndoc, root))
    key = root[o] * (int(ndoc.max()) + 1) + ndoc[o]
    occ_sorted = _merge_occurrences(key, nst[o], nen[o])
    occ_of_node = np.empty(nst.shape[0], dtype=np.int64)
    occ_of_node[o] = occ_sorted
    n_occ = int(occ_sorted[-1]) + 1
    first = np.ones(o.shape[0], dtype=bool)
    first[1:] = occ_sorted[1:] != occ_sorted[:-1]
    # bounds from every passage side (a span aligned with several documents votes once per alignment)
    occ_side = occ_of_node[node_of]
    so = np.lexsort((st, occ_side))
    r_start, r_end = _occurrence_bounds(occ_side[so], st[so], en[so], n_occ)
    return occ_of_node, n_occ, root[o][first], ndoc[o][first], r_start, r_end


@njit(cache=True, nogil=True)
def _nested_pairs(doc, start, end, root, share):
    """Occurrences sorted by (doc, start, -end): (inner root, outer root) for
    every occurrence lying ``share`` inside a longer one of another cluster
    in its document."""
    m = doc.shape[0]
    inner = []
    outer = []
    for i in range(m):
        j = i + 1
        while j < m and doc[j] == doc[i] and start[j] < end[i]:
            ov = min(end[i], end[j]) - start[j]
            li = end[i] - start[i]
            lj = end[j] - start[j]
            if root[i] != root[j] and li != lj:
                x, c = (j, i) if lj < li else (i, j)
                if ov >= share * (end[x] - start[x]):
                    inner.append(root[x])
                    outer.append(root[c])
            j += 1
    return np.array(inner, np.int64), np.array(outer, np.int64)


def _absorb_nested(g: dict[str, Any]) -> np.ndarray:
    """Component roots after absorbing nested clusters: a cluster whose
    occurrences lie inside occurrences of one other cluster in at least
    ``NESTED_DOCS`` documents, and inside no other cluster's anywhere, is a
    cut version of that cluster's text (the first paragraphs of a story,
    reprinted short) and joins it."""
    _, _, r_root, r_doc, r_start, r_end = _occurrence_spans(g)
    o = np.lexsort((-r_end, r_start, r_doc))
    inner, outer = _nested_pairs(r_doc[o], r_start[o], r_end[o], r_root[o], SHORT_SHARE)
    root = g["root"]
    if inner.shape[0] == 0:
        return root
    # per (inner, outer): the number of such occurrences (one per document: occurrences of one cluster in one
    # document do not overlap one another, so two nested in one outer occurrence are rare); inner clusters
    # nested in two different clusters stay
    pairs, counts = np.unique(np.stack([inner, outer], 1), axis=0, return_counts=True)
    n_outer = np.unique(pairs[:, 0], return_counts=True)
    single = n_outer[0][n_outer[1] == 1]
    absorb = pairs[(counts >= NESTED_DOCS) & np.isin(pairs[:, 0], single)]
    if absorb.shape[0] == 0:
        return root
    # each component of the absorbed clusters takes its smallest root (uniq is sorted)
    uniq, inv = np.unique(root, return_inverse=True)
    comp = connected_components(uniq.shape[0], np.searchsorted(uniq, absorb[:, 0]), np.searchsorted(uniq, absorb[:, 1]))
    return uniq[comp][inv]


@njit(cache=True, nogil=True)
def _trim_edges(doc, start, end, root, share, edge_share, edge_gap):
    """Occurrences sorted by (doc, start, -end): new (start, end) of each, with
    any shorter occurrence of another cluster lying at its head or tail cut
    off (see :func:`_occurrences`)."""
    m = doc.shape[0]
    new_start = start.copy()
    new_end = end.copy()
    for i in range(m):
        j = i + 1
        while j < m and doc[j] == doc[i] and start[j] < end[i]:
            for x, y in ((i, j), (j, i)):  # x the longer, y at its edge
                lx = end[x] - start[x]
                ly = end[y] - start[y]
                if root[x] == root[y] or ly > edge_share * lx or ly <= 0:
                    continue
                ov = min(end[x], end[y]) - max(start[x], start[y])
                if ov < share * ly:
                    continue
                if start[y] - start[x] <= edge_gap * ly and end[y] < end[x]:
                    new_start[x] = max(new_start[x], end[y])
                elif end[x] - end[y] <= edge_gap * ly and start[y] > start[x]:
                    new_end[x] = min(new_end[x], start[y])
            j += 1
    for i in range(m):
        if new_end[i] <= new_start[i]:  # cut from both ends to nothing: keep it whole
            new_start[i] = start[i]
            new_end[i] = end[i]
    return new_start, new_end


def _occurrences(g: dict[str, Any], pas: dict[str, np.ndarray], dates: list[str | None] | None, n_all: int) -> Reuse:
    """The rows of the graph ``g`` (see :func:`_graph`): occurrences, their
    bounds, cluster numbers, originals and confidences."""
    ea, eb, pair = g["ea"], g["eb"], g["pair"]
    pas = {"kind": np.asarray(pas["kind"])[g["sel"]], "original": pas["original"], "confidence": pas["confidence"]}
    occ_of_node, n_occ, r_root, r_doc, r_start, r_end = _occurrence_spans(g)
    if "root_before" in g:
        # occurrences that absorbed a nested cluster's: the union of the bounds each had before
        pre_of_node, n_pre, _, _, pre_start, pre_end = _occurrence_spans(g | {"root": g["root_before"]})
        post = np.empty(n_pre, np.int64)
        post[pre_of_node] = occ_of_node
        r_start = np.full(n_occ, np.iinfo(np.int64).max, np.int64)
        r_end = np.zeros(n_occ, np.int64)
        np.minimum.at(r_start, post, pre_start)
        np.maximum.at(r_end, post, pre_end)
    # a passage is one story: an alignment run on over the story above or below (the aligner bridges
    # a short story one page holds and the other lacks) leaves an occurrence holding, at its head or
    # tail, an occurrence of another cluster; that part is cut off
    o = np.lexsort((-r_end, r_start, r_doc))
    t_start, t_end = _trim_edges(r_doc[o], r_start[o], r_end[o], r_root[o], SHORT_SHARE, EDGE_SHARE, EDGE_GAP)
    r_start, r_end = r_start.copy(), r_end.copy()
    r_start[o], r_end[o] = t_start, t_end
    # clusters numbered by their smallest (doc, start): rows are sorted by root, and a
    # root is its cluster's smallest node, i.e. its smallest (doc, start)
    _, r_cluster = np.unique(r_root, return_inverse=True)
    r_cluster = r_cluster.astype(np.int64)
    k = int(r_cluster.max()) + 1
    # documents per cluster
    dkey = np.unique(r_cluster * (int(r_doc.max()) + 1) + r_doc)
    n_docs_c = np.bincount(dkey // (int(r_doc.max()) + 1), minlength=k).astype(np.int64)

    # votes: each passage's alignment between its two occurrences
    occ_a, occ_b = occ_of_node[ea], occ_of_node[eb]
    pair_orig = np.asarray(pas["original"], dtype=np.int64)[pair]
    pair_conf = np.asarray(pas["confidence"], dtype=np.float64)[pair]
    same = occ_a == occ_b  # a passage within one occurrence (a document aligned to itself): no vote
    z = np.zeros(int(np.count_nonzero(~same)), dtype=np.float64)
    edges = VerifiedPairs(occ_a[~same], occ_b[~same], z, z, z)
    # ties: earliest date, then smallest (doc, start) — rows are in that order within a cluster
    if dates is not None:
        dkeys = np.array([dates[int(d)] or "\uffff" for d in r_doc], dtype=object)
        _, date_rank = np.unique(dkeys.astype(str), return_inverse=True)
    else:
        date_rank = np.zeros(n_occ, dtype=np.int64)
    # the vote runs among the cluster's earliest-dated occurrences (all of them
    # when no date is given): groups = (cluster, date); ties to the smallest (doc, start)
    gkey = np.unique(np.stack([r_cluster, date_rank], 1), axis=0, return_inverse=True)[1].reshape(-1)
    pref = np.lexsort((r_start, r_doc, gkey))
    first_g = np.r_[True, gkey[pref][1:] != gkey[pref][:-1]]
    rep_of_group = np.empty(int(gkey.max()) + 1, dtype=np.int64)
    rep_of_group[gkey[pref][first_g]] = pref[first_g]
    groups = Clusters(root=gkey.astype(np.int64), size=np.zeros(n_occ, np.int64), representative=rep_of_group[gkey])
    from copytrace.stages.direction import cluster_originals  # the document vote, reused

    best = cluster_originals(n_occ, edges, pair_orig[~same], pair_conf[~same], groups)
    earliest = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest, r_cluster, date_rank)
    is_orig = (best == np.arange(n_occ)) & (date_rank == earliest[r_cluster])
    # confidence of each row in its role
    sign = np.where(pair_orig == 1, 1.0, np.where(pair_orig == 2, -1.0, 0.0))[~same] * pair_conf[~same]
    vote = np.zeros(n_occ, dtype=np.float64)
    n_votes = np.zeros(n_occ, dtype=np.float64)
    np.add.at(vote, edges.a, sign)
    np.add.at(vote, edges.b, -sign)
    np.add.at(n_votes, edges.a, 1.0)
    np.add.at(n_votes, edges.b, 1.0)
    mean = np.divide(vote, n_votes, out=np.zeros(n_occ), where=n_votes > 0)
    conf = np.clip(np.where(is_orig, mean, -mean), 0.0, 1.0) + 0.0  # + 0.0: no -0.0
    verb = np.zeros(n_occ, dtype=bool)
    is_verb = np.asarray(pas["kind"], dtype=np.int64) == 0
    verb[occ_a[is_verb]] = True
    verb[occ_b[is_verb]] = True
    passage_cluster = np.full(n_all, -1, np.int64)
    passage_cluster[g["sel"]] = r_cluster[occ_a]
    # final order: (cluster, doc, start)
    fo = np.lexsort((r_start, r_doc, r_cluster))
    return Reuse(
        cluster=r_cluster[fo], doc=r_doc[fo], start=r_start[fo], end=r_end[fo],
        n_docs=n_docs_c[r_cluster[fo]], is_original=is_orig[fo], confidence=np.round(conf[fo], 6),
        verbatim=verb[fo], passage_cluster=passage_cluster,
    )


def reuse_table(
    reuse: Reuse,
    ids_sorted: pa.Array | pa.ChunkedArray,
    dates: pa.Array | pa.ChunkedArray | None,
    sources: pa.Array | pa.ChunkedArray | None,
) -> pa.Table:
    """``reuse.parquet`` (schema :data:`copytrace.schemas.REUSE`) from the
    rows; ``dates`` and ``sources`` per document in doc-index order."""
    n = len(reuse)
    if n == 0:
        return schemas.REUSE.empty_table()
    docs = pa.array(reuse.doc, pa.int64())
    doc_ids = ids_sorted.take(docs)
    firsts = np.flatnonzero(np.r_[True, reuse.cluster[1:] != reuse.cluster[:-1]])
    first_ids = doc_ids.take(pa.array(firsts, pa.int64())).to_pylist()
    names: list[str] = []
    seen: dict[str, int] = {}
    for d, s in zip(first_ids, reuse.start[firsts].tolist(), strict=True):
        name = f"{d}:{s}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    reuse_id = [names[c] for c in reuse.cluster.tolist()]
    row_dates = _column(dates, docs, n)
    row_sources = _column(sources, docs, n)
    first_date, src_lists = _per_cluster(reuse.cluster, row_dates, row_sources)
    cols: dict[str, Any] = {
        "reuse_id": pa.array(reuse_id, pa.string()),
        "doc_id": doc_ids,
        "start": pa.array(reuse.start, pa.int64()),
        "end": pa.array(reuse.end, pa.int64()),
        "n_docs": pa.array(reuse.n_docs, pa.int64()),
        "is_original": pa.array(reuse.is_original, pa.bool_()),
        "direction_confidence": pa.array(reuse.confidence, pa.float64()),
        "kind": pa.array(np.where(reuse.verbatim, "verbatim", "reworded").tolist(), pa.string()),
        "date": pa.array(row_dates, pa.string()),
        "source": pa.array(row_sources, pa.string()),
        "first_date": pa.array(first_date, pa.string()),
        "sources": pa.array(src_lists, pa.list_(pa.string())),
    }
    return pa.table(cols, schema=schemas.REUSE)


def reuse_counts(reuse: Reuse) -> dict[str, int]:
    """The reuse counts of summary.json."""
    return {
        "reuse_clusters": reuse.n_clusters,
        "reuse_occurrences": len(reuse),
        "documents_with_reuse": int(np.unique(reuse.doc).shape[0]),
        "largest_reuse_cluster": int(reuse.n_docs.max()) if len(reuse) else 0,
    }


def _column(col: pa.Array | pa.ChunkedArray | None, docs: pa.Array, n: int) -> list[str | None]:
    if col is None:
        return [None] * n
    return col.take(docs).to_pylist()


def _per_cluster(
    cluster: np.ndarray, dates: list[str | None], sources: list[str | None]
) -> tuple[list[str | None], list[list[str]]]:
    """Earliest date and sorted distinct sources of each row's cluster."""
    k = int(cluster.max()) + 1
    first: list[str | None] = [None] * k
    srcs: list[set[str]] = [set() for _ in range(k)]
    for c, d, s in zip(cluster.tolist(), dates, sources, strict=True):
        if d is not None and (first[c] is None or d < first[c]):
            first[c] = d
        if s is not None:
            srcs[c].add(s)
    lists = [sorted(x) for x in srcs]
    return [first[c] for c in cluster.tolist()], [lists[c] for c in cluster.tolist()]


# --------------------------------------------------------------------------
# document clusters that do not chain
# --------------------------------------------------------------------------


def symmetric_passages(pas: dict[str, np.ndarray]) -> np.ndarray:
    """Passages whose two sides are of comparable length (``MAX_SIDE_RATIO``)."""
    la = np.asarray(pas["a_end"], np.int64) - np.asarray(pas["a_start"], np.int64)
    lb = np.asarray(pas["b_end"], np.int64) - np.asarray(pas["b_start"], np.int64)
    return (np.maximum(la, lb) <= MAX_SIDE_RATIO * np.minimum(la, lb)) & (np.minimum(la, lb) > 0)


def lopsided_candidates(pas: dict[str, np.ndarray], copies: np.ndarray | None = None) -> np.ndarray:
    """Passages that pass the score bar of :func:`linking_passages` but are
    lopsided (one side over ``MAX_SIDE_RATIO`` times the other, both sides
    non-empty): a reprint cut short, or an alignment running over a second
    story.  :func:`reuse_clusters` admits one only where both its sides touch
    one cluster (see the module doc)."""
    la = np.asarray(pas["a_end"], np.int64) - np.asarray(pas["a_start"], np.int64)
    lb = np.asarray(pas["b_end"], np.int64) - np.asarray(pas["b_start"], np.int64)
    return _score_ok(pas, copies) & (np.minimum(la, lb) > 0) & ~symmetric_passages(pas)


def _score_ok(pas: dict[str, np.ndarray], copies: np.ndarray | None) -> np.ndarray:
    """Verbatim, or reworded with a score of at least the bar (see :func:`linking_passages`)."""
    kind = np.asarray(pas["kind"], np.int64)
    if "score" not in pas:
        return np.ones(kind.shape[0], bool)
    score = np.asarray(pas["score"], np.float64)
    bar = np.full(score.shape[0], SCORE_HIGH)
    if copies is not None and score.shape[0]:
        bar = np.where(np.asarray(copies, bool)[np.asarray(pas["pair"], np.int64)], COPY_MIN_SCORE, bar)
    return (kind == 0) | (score >= bar)


def linking_passages(pas: dict[str, np.ndarray], copies: np.ndarray | None = None) -> np.ndarray:
    """Passages that join the reuse graph: of comparable length on both sides
    (:func:`symmetric_passages`), and verbatim, or reworded with a score of
    at least ``rule.SCORE_HIGH`` — two stories written from one template (an
    earnings brief, a weather table) align as reworded passages with a low
    score, which the rule discounts too — or of at least
    ``COPY_MIN_SCORE`` in a pair the rule judged a copy (``copies``: bool
    per pair; a heavily reworded reprint).  Without a ``score`` column every
    symmetric passage links."""
    return symmetric_passages(pas) & _score_ok(pas, copies)


def whole_copy_mask(
    verified: VerifiedPairs, pas: dict[str, np.ndarray], aligned: bool, reuse: Reuse | None = None
) -> np.ndarray:
    """Which verified pairs join a document cluster: copies of one another as
    wholes (see the module doc).  Not ``aligned`` (``--no-align``): every pair."""
    n = len(verified)
    if not aligned or "coverage_a" not in pas:
        return np.ones(n, dtype=bool)
    # the aligner's coverages, less the share of each side in lopsided passages
    cov_a = np.asarray(pas["coverage_a"], np.float64).copy()
    cov_b = np.asarray(pas["coverage_b"], np.float64).copy()
    pair = np.asarray(pas["pair"], np.int64)
    if pair.shape[0]:
        sym = symmetric_passages(pas)
        for side, cov in (("a", cov_a), ("b", cov_b)):
            ln = (np.asarray(pas[f"{side}_end"], np.float64) - np.asarray(pas[f"{side}_start"], np.float64))
            tot = np.bincount(pair, weights=ln, minlength=n)
            good = np.bincount(pair, weights=np.where(sym, ln, 0.0), minlength=n)
            cov *= np.divide(good, tot, out=np.ones(n), where=tot > 0)
    ca = np.maximum(cov_a, verified.containment_a_in_b)
    cb = np.maximum(cov_b, verified.containment_b_in_a)
    both = np.minimum(ca, cb) > WHOLE_SHARE
    # a truncated copy: one side mostly covered, and the other holds no reused
    # passage besides the ones this pair shares (no second story)
    if reuse is None:
        return both
    n_docs = int(max(verified.a.max(initial=-1), verified.b.max(initial=-1), reuse.doc.max(initial=-1))) + 1
    doc_nc = np.bincount(np.unique(np.stack([reuse.doc, reuse.cluster], 1), axis=0)[:, 0], minlength=n_docs) \
        if len(reuse) else np.zeros(n_docs, np.int64)
    pc = reuse.passage_cluster
    ok = pc >= 0
    pair_nc = np.zeros(n, np.int64)
    if ok.any():
        up = np.unique(np.stack([pair[ok], pc[ok]], 1), axis=0)
        pair_nc = np.bincount(up[:, 0], minlength=n)
    other = np.where(ca >= cb, verified.b, verified.a)
    one_story = (np.maximum(ca, cb) > ONE_STORY_SHARE) & (doc_nc[other] <= pair_nc)
    return both | one_story


# --------------------------------------------------------------------------
# sub-document deduplication (--dedup-passages)
# --------------------------------------------------------------------------


def removed_spans(reuse: pa.Table) -> dict[str, list[tuple[int, int]]]:
    """The occurrences to remove, by document: every row of ``reuse.parquet``
    but its cluster's original (``is_original``: an earliest-dated occurrence,
    the one the direction votes favour, else the smallest ``(doc_id, start)``)."""
    out: dict[str, list[tuple[int, int]]] = {}
    if reuse.num_rows == 0:
        return out
    cols = reuse.select(["doc_id", "start", "end", "is_original"]).to_pydict()
    for d, s, e, o in zip(cols["doc_id"], cols["start"], cols["end"], cols["is_original"], strict=True):
        if not o:
            out.setdefault(d, []).append((int(s), int(e)))
    return out


def snap_to_sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cuts for the reused ``spans`` of ``text``, on sentence boundaries: every
    segment (sentence, capitalised line, paragraph; ``align.split_sentences``)
    at least half inside the spans is cut, with the whitespace that follows
    it; consecutive cuts merge.  Sorted, disjoint ``(start, end)``."""
    from copytrace.stages.align import split_sentences

    if not spans or not text:
        return []
    segs = split_sentences(text)
    if segs.shape[0] == 0:
        return []
    n = len(text)
    delta = np.zeros(n + 1, np.int64)
    for s, e in spans:
        s, e = max(0, min(n, s)), max(0, min(n, e))
        if e > s:
            delta[s] += 1
            delta[e] -= 1
    inside = np.concatenate([[0], np.cumsum(np.cumsum(delta)[:n] > 0)])  # prefix counts of covered chars
    covered = inside[segs[:, 1]] - inside[segs[:, 0]]
    cut = 2 * covered >= (segs[:, 1] - segs[:, 0])
    # each cut segment runs to the next segment's start (its trailing whitespace)
    nxt = np.r_[segs[1:, 0], n]
    out: list[tuple[int, int]] = []
    for i in np.flatnonzero(cut).tolist():
        s, e = int(segs[i, 0]), int(nxt[i])
        if out and out[-1][1] >= s:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def cut_text(text: str, cuts: list[tuple[int, int]]) -> str:
    """``text`` without the ``cuts`` (sorted, disjoint)."""
    parts, pos = [], 0
    for s, e in cuts:
        parts.append(text[pos:s])
        pos = e
    parts.append(text[pos:])
    return "".join(parts)
