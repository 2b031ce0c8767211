"""``report.html``: one self-contained page to look at the copies.

``write_report(path, documents, pairs, passages, texts, summary, *, boilerplate=None)``
    documents, pairs, passages: the Arrow tables of ``find`` (schemas in
    ``copytrace.schemas``; ``pairs`` may carry the optional columns
    ``original`` ("a" / "b" / "") and ``direction_confidence``).
    texts: ``{doc_id: text}`` or a callable ``doc_id -> text``; only the texts
    of documents in clusters of two or more are asked for and embedded.
    boilerplate: optional ``{doc_id: [(start, end), ...]}``.
    reuse: optional ``reuse.parquet`` table: the "Reused passages" list
    ("this story appears in 7 documents: first on DATE, at SOURCE"); opening
    one shows each occurrence side by side with the original (left: the
    original's span highlighted; right: the occurrence's document with every
    reuse cluster it holds in its own colour — ``<span class="story"
    data-reuse=ID data-start data-end>``, the current one outlined — so a
    multi-story page shows its stories apart).  The texts of their documents
    are embedded too.

``write_pair_report(path, comparison, name_a, name_b)``
    the same view for one pair (``copytrace compare A B --html FILE``).

The file needs no network: CSS and JS are inline, the charts are inline SVG
generated here, and the data is one ``<script type="application/json">``
block that the page's script renders lazily (the cluster list 100 rows a
page with a client-side filter; a cluster's texts only when it is opened),
so a report of 10,000 clusters opens at once.

Every highlighted span of the side-by-side view is a ``<span class="hl-span">``
with ``data-doc`` (doc id), ``data-start`` / ``data-end`` (code-point offsets
into the text as read, end exclusive — the offsets of passages.parquet),
``data-kind`` (verbatim, reworded, cut, added, boilerplate) and
``data-passage`` (index of the passage within its pair, in passages.parquet
order; -1 for spans that are no passage).

Below the side-by-side view, "What changed" lists the copy's sentences
relative to its source (:func:`copytrace.explain.changes`; the source is the
side the pair's ``original`` names, *a* when undecided): counts per kind,
each reworded or moved sentence with its word diff (``<del>`` / ``<ins>``),
the cut sentences and the added ones (boilerplate apart).  The changes are
computed here for the pairs of clusters with copies and embedded as
``changes`` (``{pair index: [[kind, source_span, copy_span, similarity,
diff, boilerplate], ...]}``, spans in code points, ``diff`` a list of
``[op, text]`` with op ``=``, ``-``, ``+``); the page renders them only when a
pair is opened.
"""

from __future__ import annotations

import html
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pyarrow as pa

from copytrace.stages.write import atomic_open

__all__ = ["write_report", "write_pair_report", "report_data", "pair_changes"]

Texts = Mapping[str, str] | Callable[[str], str]


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def _col(table: pa.Table, name: str, default: Any = None) -> list:
    if name in table.column_names:
        return table.column(name).to_pylist()
    return [default] * table.num_rows


class _Passage:
    __slots__ = ("a_start", "a_end", "b_start", "b_end")

    def __init__(self, a_start: int, a_end: int, b_start: int, b_end: int) -> None:
        self.a_start, self.a_end, self.b_start, self.b_end = a_start, a_end, b_start, b_end


class _Alignment:
    def __init__(self, passages: list[_Passage]) -> None:
        self.passages = passages


def pair_changes(
    text_a: str,
    text_b: str,
    passages: Sequence[Sequence[Any]],
    original: str = "",
    boilerplate_a: Sequence[Sequence[int]] = (),
    boilerplate_b: Sequence[Sequence[int]] = (),
) -> list[list]:
    """The changes of one pair as embedded in the page: the copy relative to
    the source (*b* when ``original == "b"``, else *a*).  ``passages``: rows
    ``[a_start, a_end, b_start, b_end, ...]``."""
    from copytrace.explain import changes

    if original == "b":
        src, cpy, bp = text_b, text_a, boilerplate_a
        al = _Alignment([_Passage(q[2], q[3], q[0], q[1]) for q in passages])
    else:
        src, cpy, bp = text_a, text_b, boilerplate_b
        al = _Alignment([_Passage(q[0], q[1], q[2], q[3]) for q in passages])
    out = []
    for ch in changes(src, cpy, al, [(int(s), int(e)) for s, e in bp]):
        out.append([
            ch.kind,
            list(ch.source_span) if ch.source_span else None,
            list(ch.copy_span) if ch.copy_span else None,
            round(float(ch.similarity), 3),
            [[op, t] for op, t in ch.diff],
            bool(ch.boilerplate),
        ])
    return out


def reuse_data(reuse: pa.Table | None, get: Callable[[str], str], text_of: dict[str, str]) -> tuple[list, dict]:
    """Reuse clusters for the page: ``[[reuse_id, n_docs, first_date,
    first_source, label, occurrences], ...]`` (largest first; an occurrence is
    ``[doc_id, start, end, kind, is_original, date, source]``, the original
    first) and ``{doc_id: [[start, end, cluster index], ...]}``; the texts of
    their documents go into ``text_of``."""
    if reuse is None or reuse.num_rows == 0:
        return [], {}
    rows = reuse.select(["reuse_id", "doc_id", "start", "end", "n_docs", "is_original", "kind", "date",
                         "source", "first_date"]).to_pylist()
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_id[r["reuse_id"]].append(r)
    out = []
    for rid, occ in by_id.items():
        occ.sort(key=lambda r: (not r["is_original"], r["date"] or "\uffff", r["doc_id"], r["start"]))
        first = min(occ, key=lambda r: (r["date"] is None, r["date"] or "", not r["is_original"], r["doc_id"]))
        for r in occ:
            if r["doc_id"] not in text_of:
                text_of[r["doc_id"]] = get(r["doc_id"])
        o = occ[0]
        label = " ".join(text_of[o["doc_id"]][o["start"]:o["end"]].split())[:120]
        out.append([rid, int(o["n_docs"]), occ[0]["first_date"], first["source"] if first["date"] else None, label,
                    [[r["doc_id"], int(r["start"]), int(r["end"]), r["kind"], bool(r["is_original"]), r["date"],
                      r["source"]] for r in occ]])
    out.sort(key=lambda c: (-c[1], c[0]))
    by_doc: dict[str, list[list[int]]] = defaultdict(list)
    for k, c in enumerate(out):
        for d, s, e, *_ in c[5]:
            by_doc[d].append([s, e, k])
    return out, dict(by_doc)


def report_data(
    documents: pa.Table,
    pairs: pa.Table,
    passages: pa.Table,
    texts: Texts,
    summary: Mapping[str, Any] | None = None,
    boilerplate: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    title: str = "copytrace report",
    reuse: pa.Table | None = None,
) -> dict[str, Any]:
    """The JSON the page renders (see the module doc for the inputs)."""
    get = texts if callable(texts) else texts.__getitem__
    doc_ids = _col(documents, "doc_id")
    cids = _col(documents, "cluster_id")
    ncop = _col(documents, "n_copies", 1)
    reps = _col(documents, "is_representative", False)
    members: dict[str, list[str]] = defaultdict(list)
    rep_of: dict[str, str] = {}
    for d, c, n, r in zip(doc_ids, cids, ncop, reps, strict=True):
        if n > 1:
            members[c].append(d)
            if r:
                rep_of[c] = d
    cluster_of = {d: c for c, ds in members.items() for d in ds}

    # passages grouped by pair
    pas: dict[tuple[str, str], list[list]] = defaultdict(list)
    cols = [_col(passages, k) for k in ("doc_a", "doc_b", "a_start", "a_end", "b_start", "b_end", "kind", "score")]
    for a, b, s1, e1, s2, e2, kind, score in zip(*cols, strict=True):
        pas[(a, b)].append([s1, e1, s2, e2, kind, round(float(score), 4)])

    pair_rows: list[list] = []
    by_cluster: dict[str, list[int]] = defaultdict(list)
    for a, b, sim, orig, conf in zip(
        _col(pairs, "doc_a"), _col(pairs, "doc_b"), _col(pairs, "similarity", 0.0),
        _col(pairs, "original", ""), _col(pairs, "direction_confidence", 0.0), strict=True,
    ):
        c = cluster_of.get(a)
        if c is None:
            continue
        by_cluster[c].append(len(pair_rows))
        pair_rows.append([a, b, round(float(sim), 4), orig or "", round(float(conf or 0.0), 3), pas.get((a, b), [])])

    text_of: dict[str, str] = {}
    clusters: list[list] = []
    for c, ds in members.items():
        rep = rep_of.get(c, ds[0])
        for d in ds:
            text_of[d] = get(d)
        sims = [pair_rows[i][2] for i in by_cluster[c]]
        label = " ".join(text_of[rep].split())[:120]
        # representative first, then the others by id
        order = [rep] + sorted(d for d in ds if d != rep)
        clusters.append([c, len(ds), max(sims, default=0.0), label, order, by_cluster[c]])
    clusters.sort(key=lambda r: (-r[1], -r[2], r[0]))

    reuse_clusters, reuse_by_doc = reuse_data(reuse, get, text_of)
    n_docs = len(doc_ids)
    in_clusters = sum(len(ds) for ds in members.values())
    stats = {
        "documents": n_docs,
        "clusters": len(members),
        "documents_in_clusters": in_clusters,
        "pairs": pairs.num_rows,
        "passages": passages.num_rows,
        "reuse_clusters": len(reuse_clusters),
        "dedup_rate": round((in_clusters - len(members)) / n_docs, 4) if n_docs else 0.0,
    }
    bp = {}
    if boilerplate:
        bp = {d: [[int(s), int(e)] for s, e in sp] for d, sp in boilerplate.items() if d in text_of}
    # what changed, per pair of a cluster with copies (all pair_rows are)
    chg = {
        str(i): pair_changes(text_of[r[0]], text_of[r[1]], r[5], r[3], bp.get(r[0], ()), bp.get(r[1], ()))
        for i, r in enumerate(pair_rows)
        if r[0] in text_of and r[1] in text_of
    }
    return {
        "title": title,
        "stats": stats,
        "summary": dict(summary or {}),
        "clusters": clusters,
        "pairs": pair_rows,
        "texts": text_of,
        "boilerplate": bp,
        "changes": chg,
        "reuse": reuse_clusters,
        "reuse_by_doc": reuse_by_doc,
        "similarities": _col(pairs, "similarity", 0.0),
        "sizes": [len(ds) for ds in members.values()],
    }


# --------------------------------------------------------------------------
# Charts (inline SVG)
# --------------------------------------------------------------------------


def _svg_bars(counts: Sequence[int], labels: Sequence[str], title: str, xlabel: str) -> str:
    w, h, pad_l, pad_b, pad_t = 420, 190, 40, 38, 22
    n = max(1, len(counts))
    top = max(max(counts, default=0), 1)
    bw = (w - pad_l - 10) / n
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{html.escape(title)}">',
        f'<text x="{w / 2}" y="14" text-anchor="middle" class="ct">{html.escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{h - pad_b}" x2="{w - 10}" y2="{h - pad_b}" class="ax"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 4}" text-anchor="end" class="tk">{top}</text>',
        f'<text x="{pad_l - 4}" y="{h - pad_b}" text-anchor="end" class="tk">0</text>',
    ]
    for i, c in enumerate(counts):
        bh = (h - pad_b - pad_t) * c / top
        x = pad_l + i * bw
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{h - pad_b - bh:.1f}" width="{max(bw - 2, 1):.1f}" '
            f'height="{bh:.1f}" class="bar"><title>{html.escape(labels[i])}: {c}</title></rect>'
        )
        step = max(1, n // 10)
        if i % step == 0:
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{h - pad_b + 13}" text-anchor="middle" class="tk">'
                f"{html.escape(labels[i])}</text>"
            )
    parts.append(f'<text x="{w / 2}" y="{h - 4}" text-anchor="middle" class="tk">{html.escape(xlabel)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def similarity_histogram(sims: Sequence[float], bins: int = 20) -> str:
    counts = [0] * bins
    for s in sims:
        counts[min(bins - 1, max(0, int(float(s) * bins)))] += 1
    labels = [f"{i / bins:.2f}" for i in range(bins)]
    return _svg_bars(counts, labels, "Pair similarity", "similarity")


SIZE_BINS = [(2, 2), (3, 3), (4, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, 10**12)]


def cluster_size_histogram(sizes: Sequence[int]) -> str:
    counts = [0] * len(SIZE_BINS)
    for s in sizes:
        for i, (lo, hi) in enumerate(SIZE_BINS):
            if lo <= s <= hi:
                counts[i] += 1
                break
    labels = [str(lo) if lo == hi else (f"{lo}+" if hi > 10**6 else f"{lo}–{hi}") for lo, hi in SIZE_BINS]
    return _svg_bars(counts, labels, "Cluster sizes", "documents per cluster")


# --------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 18px}header h1{font-size:18px;margin:0}
main{padding:12px 18px}section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px;margin-bottom:12px}
.stats{display:flex;gap:18px;flex-wrap:wrap}.stat b{display:block;font-size:20px}
.charts{display:flex;gap:12px;flex-wrap:wrap}.chart .bar{fill:#4c78a8}.chart .ax{stroke:#888}.chart .tk{font-size:10px;fill:#555}.chart .ct{font-size:12px;font-weight:600}
#filter{width:100%;padding:6px 8px;font-size:14px;border:1px solid #bbb;border-radius:4px}
#clusters{list-style:none;margin:8px 0;padding:0;max-height:320px;overflow:auto}
#clusters li{padding:4px 6px;border-bottom:1px solid #eee;cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#clusters li:hover,#clusters li.sel{background:#eef3fb}#clusters .n{display:inline-block;min-width:3.5em;font-weight:600}
#clusters .s{display:inline-block;min-width:4em;color:#555}.pager button{margin-right:6px}
#pairs button{margin:2px 4px 2px 0;font-size:12px}#pairs button.sel{background:#1d2330;color:#fff}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:12px}.col h3{font-size:13px;margin:4px 0;word-break:break-all}
.text{white-space:pre-wrap;font:13px/1.5 Georgia,serif;max-height:70vh;overflow:auto;border:1px solid #eee;padding:8px}
.hl-span{border-radius:2px;cursor:pointer}.k-verbatim{background:#b7e4c7}.k-reworded{background:#ffe8a3}
.k-added{background:#cfe3ff}.k-cut{background:#f8c9c9;text-decoration:line-through;text-decoration-color:#c66}
.k-boilerplate{background:#e2e2e2;color:#666}.hl-span.on{outline:2px solid #d9480f;background:#ffc078}
.legend span{padding:1px 6px;margin-right:6px;border-radius:2px}.reasons{font-size:12px;color:#444;margin:4px 0}
.muted{color:#777}
#changes h3{font-size:14px;margin:10px 0 4px}#changes h4{font-size:13px;margin:8px 0 2px}
#changes .counts span{display:inline-block;margin-right:10px;padding:1px 6px;border-radius:2px;background:#f0f2f5}
#changes ol{margin:2px 0;padding-left:1.6em;font:13px/1.5 Georgia,serif}#changes li{margin:2px 0}
#changes del{color:#b42318;background:#fde2e1;text-decoration:line-through}#changes ins{color:#106b2e;background:#d9f2df;text-decoration:none}
#changes .tag{font:11px system-ui,sans-serif;color:#555;background:#eee;border-radius:2px;padding:0 4px;margin-right:4px}
#changes .tag.moved{background:#e8dcff}#changes .tag.bp{background:#e2e2e2}
#reuse-filter{width:100%;padding:6px 8px;font-size:14px;border:1px solid #bbb;border-radius:4px}
#reuse-list{list-style:none;margin:8px 0;padding:0;max-height:320px;overflow:auto}
#reuse-list li{padding:4px 6px;border-bottom:1px solid #eee;cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#reuse-list li:hover,#reuse-list li.sel{background:#eef3fb}
.story{border-radius:2px;cursor:pointer}.story.cur{outline:2px solid #1d2330}
"""

_JS = r"""
(function(){
"use strict";
const D = JSON.parse(document.getElementById('copytrace-data').textContent);
const PAGE = 100;
let page = 0, shown = D.clusters, current = null;
const $ = (id) => document.getElementById(id);
const esc = (s) => s.replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
let hay = null;
function haystack(){
  if (!hay) hay = D.clusters.map(c => (c[0] + ' ' + c[3] + ' ' + c[4].join(' ')).toLowerCase());
  return hay;
}
function applyFilter(){
  const q = $('filter').value.trim().toLowerCase();
  if (!q) shown = D.clusters;
  else { const h = haystack(); shown = D.clusters.filter((c, i) => h[i].includes(q)); }
  page = 0; renderList();
}
function renderList(){
  const ul = $('clusters');
  const lo = page * PAGE, rows = shown.slice(lo, lo + PAGE);
  ul.innerHTML = rows.map(c => '<li class="cluster" data-cluster="' + esc(c[0]) + '"><span class="n">' + c[1] +
    '</span><span class="s">' + c[2].toFixed(2) + '</span>' + esc(c[0]) + ' — <span class="muted">' + esc(c[3]) + '</span></li>').join('');
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  $('pageinfo').textContent = shown.length + ' clusters, page ' + (page + 1) + ' of ' + pages;
  $('prev').disabled = page === 0; $('next').disabled = page >= pages - 1;
}
function clusterById(id){ return D.clusters.find(c => c[0] === id); }
function openCluster(id){
  const c = clusterById(id); if (!c) return;
  current = c;
  document.querySelectorAll('#clusters li').forEach(li => li.classList.toggle('sel', li.dataset.cluster === id));
  $('detail').hidden = false;
  $('detail-title').textContent = 'Cluster ' + c[0] + ' — ' + c[1] + ' documents';
  const rep = c[4][0];
  const pairs = c[5].map(i => [i, D.pairs[i]]);
  pairs.sort((x, y) => ((y[1][0] === rep || y[1][1] === rep) - (x[1][0] === rep || x[1][1] === rep)) || (y[1][2] - x[1][2]));
  $('pairs').innerHTML = pairs.map(([i, p]) => '<button class="pair" data-pair="' + i + '">' + esc(p[0]) + ' ↔ ' + esc(p[1]) +
    ' (' + p[2].toFixed(2) + ')</button>').join('') || '<span class="muted">no verified pair</span>';
  if (pairs.length) openPair(pairs[0][0]); else { $('side-a').innerHTML = ''; $('side-b').innerHTML = ''; }
}
function cps(text){ return Array.from(text); }
function renderText(doc, text, spans, gapKind){
  // spans: [{s, e, kind, passage}] on code points; gaps get gapKind, boilerplate inside gaps gets its own kind
  const ch = cps(text), n = ch.length;
  spans = spans.slice().sort((x, y) => x.s - y.s || x.e - y.e);
  const bp = (D.boilerplate[doc] || []).slice().sort((x, y) => x[0] - y[0]);
  const out = [];
  const piece = (s, e, kind, passage) => '<span class="hl-span k-' + kind + '" data-doc="' + esc(doc) + '" data-start="' + s +
    '" data-end="' + e + '" data-kind="' + kind + '" data-passage="' + passage + '">' + esc(ch.slice(s, e).join('')) + '</span>';
  const plain = (s, e) => { if (e > s) out.push(esc(ch.slice(s, e).join(''))); };
  const gapText = (s, e, kind) => {  // mark the words of [s, e), leave surrounding blanks plain
    let a = s, b = e;
    while (a < b && /\s/.test(ch[a])) a++;
    while (b > a && /\s/.test(ch[b - 1])) b--;
    plain(s, a); if (b > a) out.push(piece(a, b, kind, -1)); plain(b, e);
  };
  const gap = (s, e) => {
    let pos = s;
    for (const [bs, be] of bp) {
      const x = Math.max(bs, pos), y = Math.min(be, e);
      if (y <= x) continue;
      gapText(pos, x, gapKind); gapText(x, y, 'boilerplate'); pos = y;
    }
    gapText(pos, e, gapKind);
  };
  let pos = 0;
  for (const sp of spans) {
    const s = Math.max(sp.s, pos), e = Math.min(sp.e, n);
    if (e <= s) continue;
    gap(pos, s);
    out.push(piece(s, e, sp.kind, sp.passage));
    pos = e;
  }
  gap(pos, n);
  return out.join('');
}
function openPair(i){
  const p = D.pairs[i];
  document.querySelectorAll('#pairs button').forEach(b => b.classList.toggle('sel', +b.dataset.pair === i));
  const [a, b, sim, orig, conf, ps] = p;
  // the original (when known) goes left, as the source
  const flip = orig === 'b';
  const left = flip ? b : a, right = flip ? a : b;
  const la = ps.map((q, k) => ({s: q[0], e: q[1], kind: q[4], passage: k}));
  const lb = ps.map((q, k) => ({s: q[2], e: q[3], kind: q[4], passage: k}));
  const role = orig ? ['source', 'copy'] : ['', ''];
  $('head-a').textContent = (role[0] ? role[0] + ': ' : '') + left;
  $('head-b').textContent = (role[1] ? role[1] + ': ' : '') + right;
  $('side-a').dataset.doc = left; $('side-b').dataset.doc = right;
  $('side-a').innerHTML = renderText(left, D.texts[left] || '', flip ? lb : la, 'cut');
  $('side-b').innerHTML = renderText(right, D.texts[right] || '', flip ? la : lb, 'added');
  renderChanges(i, left, right);
  const r = D.reasons && D.reasons[i];
  $('reasons').textContent = 'similarity ' + sim.toFixed(3) + ' · ' + ps.length + ' passages' +
    (orig ? ' · original: ' + (flip ? b : a) + ' (confidence ' + conf.toFixed(2) + ')' : '') + (r ? ' · ' + r.join('; ') : '');
}
const KINDS = [['kept', 'kept verbatim'], ['reworded', 'reworded'], ['moved', 'moved'], ['cut', 'cut'],
               ['added', 'added'], ['boilerplate', 'added boilerplate']];
function renderChanges(i, src, cpy){
  const box = $('changes');
  const chg = D.changes && D.changes[i];
  if (!chg) { box.innerHTML = ''; return; }
  const sc = cps(D.texts[src] || ''), cc = cps(D.texts[cpy] || '');
  const sub = (ch, sp) => sp ? ch.slice(sp[0], sp[1]).join('') : '';
  const kindOf = c => c[0] === 'added' && c[5] ? 'boilerplate' : c[0];
  const n = {}; KINDS.forEach(([k]) => n[k] = 0);
  chg.forEach(c => n[kindOf(c)]++);
  const diffHtml = d => d.map(([op, t]) => op === '-' ? '<del>' + esc(t) + '</del>' :
    op === '+' ? '<ins>' + esc(t) + '</ins>' : esc(t)).join(' ');
  const item = (c, body, extra) => '<li class="chg" data-kind="' + kindOf(c) + '"' +
    (c[1] ? ' data-source-start="' + c[1][0] + '" data-source-end="' + c[1][1] + '"' : '') +
    (c[2] ? ' data-copy-start="' + c[2][0] + '" data-copy-end="' + c[2][1] + '"' : '') + '>' + (extra || '') + body + '</li>';
  const list = (title, rows) => rows.length ? '<h4>' + title + ' (' + rows.length + ')</h4><ol>' + rows.join('') + '</ol>' : '';
  const rew = chg.filter(c => c[0] === 'reworded' || c[0] === 'moved').map(c =>
    item(c, c[4].length ? diffHtml(c[4]) : esc(sub(cc, c[2])),
      (c[0] === 'moved' ? '<span class="tag moved">moved</span>' : '') + '<span class="tag">' + Math.round(c[3] * 100) + '% same words</span>'));
  const cut = chg.filter(c => c[0] === 'cut').map(c => item(c, esc(sub(sc, c[1]))));
  const add = chg.filter(c => c[0] === 'added' && !c[5]).map(c => item(c, esc(sub(cc, c[2]))));
  const bp = chg.filter(c => c[0] === 'added' && c[5]).map(c => item(c, esc(sub(cc, c[2])), '<span class="tag bp">boilerplate</span>'));
  box.innerHTML = '<h3>What changed</h3><div class="muted">' + esc(cpy) + ' relative to ' + esc(src) + ', sentence by sentence</div>' +
    '<div class="counts">' + KINDS.map(([k, label]) => '<span class="count" data-kind="' + k + '">' + label + ': <b>' + n[k] + '</b></span>').join('') + '</div>' +
    list('Reworded and moved', rew) + list('Cut', cut) + list('Added', add) + list('Added boilerplate', bp);
}
function partners(el){
  const k = el.dataset.passage;
  if (k === undefined || k === '-1') return [];
  return Array.from(document.querySelectorAll('#detail .hl-span[data-passage="' + k + '"]'));
}
document.addEventListener('mouseover', e => {
  const el = e.target.closest && e.target.closest('#detail .hl-span'); if (!el) return;
  partners(el).forEach(x => x.classList.add('on'));
});
document.addEventListener('mouseout', e => {
  const el = e.target.closest && e.target.closest('#detail .hl-span'); if (!el) return;
  partners(el).forEach(x => x.classList.remove('on'));
});
document.addEventListener('click', e => {
  const li = e.target.closest('#clusters li'); if (li) { openCluster(li.dataset.cluster); return; }
  const pb = e.target.closest('#pairs button.pair'); if (pb) { openPair(+pb.dataset.pair); return; }
  const el = e.target.closest('#detail .hl-span');
  if (el) {
    const other = partners(el).find(x => x.closest('.text') !== el.closest('.text'));
    if (other) { other.scrollIntoView({block: 'center'}); other.classList.add('on'); setTimeout(() => other.classList.remove('on'), 1200); }
  }
});
// ---- reuse clusters: "this story appears in N documents"
const R = D.reuse || [], RB = D.reuse_by_doc || {};
let rpage = 0, rshown = R;
const hue = k => 'hsl(' + ((k * 137.508) % 360).toFixed(1) + ',70%,80%)';
function storyLine(c){
  return 'this story appears in ' + c[1] + ' documents' + (c[2] ? ': first on ' + c[2] : '') +
    (c[3] ? ', at ' + c[3] : '');
}
function renderReuse(){
  const ul = $('reuse-list'); if (!ul) return;
  const lo = rpage * PAGE, rows = rshown.slice(lo, lo + PAGE);
  ul.innerHTML = rows.map(c => '<li class="reuse" data-reuse="' + esc(c[0]) + '"><span class="n">' + c[1] + '</span>' +
    esc(storyLine(c)) + ' — <span class="muted">' + esc(c[4]) + '</span></li>').join('');
  const pages = Math.max(1, Math.ceil(rshown.length / PAGE));
  $('reuse-pageinfo').textContent = rshown.length + ' reused passages, page ' + (rpage + 1) + ' of ' + pages;
  $('reuse-prev').disabled = rpage === 0; $('reuse-next').disabled = rpage >= pages - 1;
}
function pageView(doc, cur){
  // a document with each of its reuse clusters in its own colour; the current one outlined
  const ch = cps(D.texts[doc] || ''), spans = (RB[doc] || []).slice().sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  const out = []; let pos = 0;
  for (const [s0, e0, k] of spans) {
    const s = Math.max(s0, pos), e = Math.min(e0, ch.length); if (e <= s) continue;
    if (s > pos) out.push(esc(ch.slice(pos, s).join('')));
    out.push('<span class="story' + (k === cur ? ' cur' : '') + '" data-reuse="' + esc(R[k][0]) + '" data-start="' + s +
      '" data-end="' + e + '" title="' + esc(storyLine(R[k])) + '" style="background:' + hue(k) + '">' + esc(ch.slice(s, e).join('')) + '</span>');
    pos = e;
  }
  if (pos < ch.length) out.push(esc(ch.slice(pos).join('')));
  return out.join('');
}
function openReuse(id){
  const k = R.findIndex(c => c[0] === id); if (k < 0) return;
  const c = R[k]; current = null;
  document.querySelectorAll('#reuse-list li').forEach(li => li.classList.toggle('sel', li.dataset.reuse === id));
  $('detail').hidden = false; $('changes').innerHTML = '';
  $('detail-title').textContent = 'Story ' + c[0] + ' — ' + storyLine(c);
  $('pairs').innerHTML = c[5].map((o, j) => '<button class="occ" data-reuse="' + esc(c[0]) + '" data-occ="' + j + '">' +
    (o[4] ? 'original: ' : '') + esc(o[0]) + (o[5] ? ' (' + esc(o[5]) + ')' : '') + '</button>').join('');
  openOccurrence(k, c[5].length > 1 ? 1 : 0);
}
function openOccurrence(k, j){
  const c = R[k], orig = c[5][0], o = c[5][j];
  document.querySelectorAll('#pairs button.occ').forEach(b => b.classList.toggle('sel', +b.dataset.occ === j));
  $('head-a').textContent = 'original: ' + orig[0] + (orig[6] ? ' — ' + orig[6] : '') + (orig[5] ? ', ' + orig[5] : '');
  $('head-b').textContent = (j === 0 ? 'original: ' : 'occurrence: ') + o[0] + (o[6] ? ' — ' + o[6] : '') + (o[5] ? ', ' + o[5] : '');
  $('side-a').dataset.doc = orig[0]; $('side-b').dataset.doc = o[0];
  $('side-a').innerHTML = renderText(orig[0], D.texts[orig[0]] || '', [{s: orig[1], e: orig[2], kind: orig[3], passage: 0}], 'plain');
  $('side-b').innerHTML = pageView(o[0], k);
  $('reasons').textContent = storyLine(c) + ' · this occurrence: ' + o[3] + ' · ' + (RB[o[0]] || []).length +
    ' reused passage(s) in ' + o[0];
  const a = $('side-a').querySelector('.hl-span'), b = $('side-b').querySelector('.story.cur');
  if (a) a.scrollIntoView({block: 'nearest'}); if (b) b.scrollIntoView({block: 'nearest'});
}
document.addEventListener('click', e => {
  const li = e.target.closest('#reuse-list li'); if (li) { openReuse(li.dataset.reuse); return; }
  const ob = e.target.closest('#pairs button.occ');
  if (ob) { openOccurrence(R.findIndex(c => c[0] === ob.dataset.reuse), +ob.dataset.occ); return; }
  const st = e.target.closest('#side-b .story');
  if (st && st.dataset.reuse) openReuse(st.dataset.reuse);
});
if ($('reuse-filter')) {
  $('reuse-filter').addEventListener('input', () => {
    const q = $('reuse-filter').value.trim().toLowerCase();
    rshown = !q ? R : R.filter(c => (c[0] + ' ' + c[4] + ' ' + (c[3] || '') + ' ' + c[5].map(o => o[0] + ' ' + (o[6] || '')).join(' ')).toLowerCase().includes(q));
    rpage = 0; renderReuse();
  });
  $('reuse-prev').addEventListener('click', () => { rpage--; renderReuse(); });
  $('reuse-next').addEventListener('click', () => { rpage++; renderReuse(); });
  renderReuse();
}
window.copytraceReuse = {openReuse, openOccurrence};
$('filter').addEventListener('input', applyFilter);
$('prev').addEventListener('click', () => { page--; renderList(); });
$('next').addEventListener('click', () => { page++; renderList(); });
renderList();
if (D.open) openCluster(D.open);
window.copytrace = {data: D, openCluster, openPair};
document.body.dataset.ready = '1';
})();
"""


def _page(data: dict[str, Any], overview_html: str) -> str:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # keep "</script>" and "<!--" out of the script element; \u003c is still JSON
    payload = payload.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    title = html.escape(data.get("title", "copytrace report"))
    legend = "".join(
        f'<span class="k-{k}">{k}</span>' for k in ("verbatim", "reworded", "added", "cut", "boilerplate")
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_CSS}</style></head>
<body>
<header><h1>{title}</h1></header>
<main>
{overview_html}
<section id="list"{' hidden' if data.get('single') else ''}>
<input id="filter" type="search" placeholder="Filter clusters by id, document or text…" autocomplete="off">
<ul id="clusters"></ul>
<div class="pager"><button id="prev">‹ prev</button><button id="next">next ›</button><span id="pageinfo" class="muted"></span></div>
</section>
<section id="reuse"{' hidden' if not data.get('reuse') else ''}>
<h2 style="font-size:15px;margin:0 0 6px">Reused passages: stories that recur across documents</h2>
<input id="reuse-filter" type="search" placeholder="Filter stories by id, document, source or text…" autocomplete="off">
<ul id="reuse-list"></ul>
<div class="pager"><button id="reuse-prev">‹ prev</button><button id="reuse-next">next ›</button><span id="reuse-pageinfo" class="muted"></span></div>
</section>
<section id="detail" hidden>
<h2 id="detail-title" style="font-size:15px;margin:0 0 6px"></h2>
<div id="pairs"></div>
<div class="legend">{legend}<span class="muted">hover a passage to see its counterpart, click to jump to it</span></div>
<div id="reasons" class="reasons"></div>
<div class="cols"><div class="col"><h3 id="head-a"></h3><div id="side-a" class="text"></div></div>
<div class="col"><h3 id="head-b"></h3><div id="side-b" class="text"></div></div></div>
<div id="changes"></div>
</section>
</main>
<script type="application/json" id="copytrace-data">{payload}</script>
<script>{_JS}</script>
</body></html>
"""


def _write(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def write_report(
    path: str | os.PathLike,
    documents: pa.Table,
    pairs: pa.Table,
    passages: pa.Table,
    texts: Texts,
    summary: Mapping[str, Any] | None = None,
    *,
    boilerplate: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    title: str = "copytrace report",
    reuse: pa.Table | None = None,
    totals: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> Path:
    """Write the report (one self-contained HTML file) and return its path.
    ``path`` may be a directory: the file is then ``path/report.html``.
    ``reuse``: reuse.parquet's table, for the reused-passage view.  ``totals``: the
    corpus's numbers (documents, clusters, documents_in_clusters, dedup_rate) when
    ``documents`` holds only the clusters shown (a bounded report), and ``note`` a line
    saying what was left out."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.html"
    data = report_data(documents, pairs, passages, texts, summary, boilerplate, title, reuse)
    if totals:  # ``documents`` holds the clusters shown only (a bounded report): the corpus's numbers
        data["stats"].update(totals)
    st = data["stats"]
    overview = (
        '<section id="overview"><div class="stats">'
        + "".join(
            f'<div class="stat"><b>{v}</b>{html.escape(k)}</div>'
            for k, v in (
                ("documents", f"{st['documents']:,}"),
                ("clusters with copies", f"{st['clusters']:,}"),
                ("documents in clusters", f"{st['documents_in_clusters']:,}"),
                ("verified pairs", f"{st['pairs']:,}"),
                ("reused passages", f"{st['reuse_clusters']:,}"),
                ("dedup rate", f"{st['dedup_rate']:.1%}"),
            )
        )
        + '</div><div class="charts">'
        + similarity_histogram(data.pop("similarities"))
        + cluster_size_histogram(data.pop("sizes"))
        + "</div>"
        + (f'<p class="note" id="report-note">{html.escape(note)}</p>' if note else "")
        + "</section>"
    )
    return _write(p, _page(data, overview))


def write_pair_report(
    path: str | os.PathLike,
    comparison: Any,
    name_a: str = "A",
    name_b: str = "B",
    *,
    boilerplate_a: Sequence[tuple[int, int]] = (),
    boilerplate_b: Sequence[tuple[int, int]] = (),
) -> Path:
    """The side-by-side view of one :class:`~copytrace.api.Comparison`."""
    from copytrace.stages.direction import direction

    if name_a == name_b:
        name_a, name_b = f"A: {name_a}", f"B: {name_b}"
    d = direction(comparison.text_a, comparison.text_b, comparison)
    ps = [[p.a_start, p.a_end, p.b_start, p.b_end, p.kind, round(float(p.score), 4)] for p in comparison.passages]
    data = {
        "title": f"copytrace compare — {name_a} ↔ {name_b}",
        "single": True,
        "stats": {},
        "summary": comparison.to_dict() if hasattr(comparison, "to_dict") else {},
        "clusters": [[name_a, 2, round(float(comparison.similarity), 4), "", [name_a, name_b], [0]]],
        "pairs": [[name_a, name_b, round(float(comparison.similarity), 4), d.original or "", d.confidence, ps]],
        "reasons": [d.reasons],
        "texts": {name_a: comparison.text_a, name_b: comparison.text_b},
        "boilerplate": {
            k: [[int(s), int(e)] for s, e in v]
            for k, v in ((name_a, boilerplate_a), (name_b, boilerplate_b))
            if v
        },
        "open": name_a,
    }
    data["changes"] = {
        "0": pair_changes(comparison.text_a, comparison.text_b, ps, d.original or "", boilerplate_a, boilerplate_b)
    }
    data["summary"].pop("passages", None)
    overview = (
        '<section id="overview"><div class="stats">'
        f'<div class="stat"><b>{comparison.similarity:.3f}</b>similarity</div>'
        f'<div class="stat"><b>{comparison.jaccard:.3f}</b>Jaccard</div>'
        f'<div class="stat"><b>{comparison.containment_a_in_b:.3f}</b>A in B</div>'
        f'<div class="stat"><b>{comparison.containment_b_in_a:.3f}</b>B in A</div>'
        f'<div class="stat"><b>{len(ps)}</b>passages</div>'
        "</div></section>"
    )
    return _write(path, _page(data, overview))
