"""copytrace on a web crawl: Reuters stories rendered as the pages of 5 fake
outlets, stored in a WARC file, against the same stories as clean JSONL.

    python benchmarks/warc.py [--docs 5000] [--ngram 3] [--workers 2] [--extractors 300]

1. ``syndicate.py`` builds a corpus from Reuters-21578 (../shared/data) with
   known copies (30 % outlet copies of wire stories, edit strength 0.2).
2. Each document becomes an HTML page of one of 5 fake web outlets (picked
   from its source), each with its own navigation bar, "most read" sidebar,
   newsletter/donation appeal box and footer around an ``<article>`` with the
   text's paragraphs; the pages go into ``corpus.warc.gz`` as HTTP response
   records (warcio), URL ``https://www.<outlet>/news/<doc id>``.
3. After a small warm-up run (imports, compiled kernels), ``copytrace find
   corpus.jsonl`` (the clean texts) and ``copytrace find corpus.warc.gz
   --id-field url`` (extraction included: pages are extracted in
   ``--workers`` processes), both ``--no-align --no-report``; ARI of each
   against the generator's truth (``quality.py``); pages/s of the WARC run
   (pages / wall seconds), and pages per CPU second (this process's threads
   plus the extraction workers), times the cores: the rate with every core
   busy all along.
4. The extractor comparison: resiliparse's main-content extractor and
   trafilatura on ``--extractors`` pages: pages/s on one core, and the share
   of the outlets' chrome lines (nav, sidebar, appeal, footer) left in the
   extracted text, with the share of the story's words kept.

Last line: ``warc_ari=… jsonl_ari=… ari_ratio=… pages_per_s=…``.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import syndicate  # noqa: E402
from quality import adjusted_rand_index  # noqa: E402

OUTLETS = [
    dict(host="dailyharbor.com", name="The Daily Harbor",
         nav=["Home", "World", "Business", "Markets", "Tech", "Opinion", "Weather"],
         sidebar=["Most read", "Council approves new harbor budget", "Ten recipes for the long weekend",
                  "Local team clinches title in overtime"],
         appeal="Independent journalism needs you. Support The Daily Harbor from just $1 a month.",
         footer="© The Daily Harbor Media Group. All rights reserved. Privacy policy | Terms of use | Contact us"),
    dict(host="prairiewire.net", name="Prairie Wire",
         nav=["News", "Farm", "Energy", "Politics", "Sports", "Obituaries"],
         sidebar=["Trending now", "Wheat futures: what the drought means", "School board meeting recap",
                  "Photos: the county fair in pictures"],
         appeal="Sign up for the Prairie Wire morning briefing: the day's top stories in your inbox.",
         footer="Prairie Wire is published by Plains Media LLC. Copyright all rights reserved. Advertise with us"),
    dict(host="metrobiz.co.uk", name="Metro Business",
         nav=["Companies", "Markets", "Economy", "Property", "Careers", "Podcasts"],
         sidebar=["Editor's picks", "Five stocks analysts like this quarter", "Interview: the founder who said no",
                  "Why rates matter for your mortgage"],
         appeal="Subscribe to Metro Business for unlimited access to our market analysis. Cancel anytime.",
         footer="Metro Business Ltd, registered in England and Wales. Cookie settings | Accessibility | Sitemap"),
    dict(host="coastaltribune.org", name="Coastal Tribune",
         nav=["Local", "Nation", "World", "Environment", "Arts", "Letters"],
         sidebar=["Popular", "Beach erosion threatens homes", "The ferry timetable is changing",
                  "Opinion: our coast deserves better"],
         appeal="The Coastal Tribune is reader-funded. Your donation keeps our reporters on the story.",
         footer="Coastal Tribune, a nonprofit newsroom. Donate | Newsletters | Corrections | Ethics policy"),
    dict(host="sentinel-news.com", name="The Sentinel",
         nav=["Top stories", "US", "World", "Money", "Health", "Science", "Video"],
         sidebar=["Don't miss", "How the new tax rules affect you", "Watch: storm footage from the coast",
                  "Quiz: how well do you know this week's news?"],
         appeal="Get breaking news alerts from The Sentinel: download our app today.",
         footer="The Sentinel News Company. Terms of service | Privacy | Ad choices | Help"),
]


def chrome_lines(o: dict) -> list[str]:
    return [*o["nav"], *o["sidebar"], o["appeal"], o["footer"]]


def render(doc: dict, o: dict) -> str:
    paras = [p.strip() for p in re.split(r"\n\s*\n", doc["text"]) if p.strip()]
    title = paras[0][:120] if paras else doc["id"]
    body = "".join(f"<p>{_esc(p)}</p>" for p in paras)
    nav = "".join(f'<li><a href="/{w.lower()}">{_esc(w)}</a></li>' for w in o["nav"])
    side = "".join(f'<li><a href="/s/{i}">{_esc(s)}</a></li>' for i, s in enumerate(o["sidebar"][1:]))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)} | {o["name"]}</title>'
        f'<meta property="article:published_time" content="{doc.get("date") or ""}">'
        f'<link rel="stylesheet" href="/static/site.css"><script>window.dataLayer=[];</script></head><body>'
        f'<header class="masthead"><a class="logo" href="/">{o["name"]}</a><nav><ul>{nav}</ul></nav></header>'
        f'<div class="layout"><main><article><div class="body">{body}</div></article>'
        f'<div class="appeal"><p>{_esc(o["appeal"])}</p><a class="button" href="/support">Support us</a></div></main>'
        f'<aside class="sidebar"><h3>{_esc(o["sidebar"][0])}</h3><ul>{side}</ul></aside></div>'
        f'<footer><p>{_esc(o["footer"])}</p></footer></body></html>'
    )


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def outlet_of(doc: dict) -> dict:
    import zlib

    return OUTLETS[zlib.crc32((doc.get("source") or "").encode()) % len(OUTLETS)]


def write_warc(path: Path, docs: list[dict]) -> dict[str, str]:
    """The pages as a .warc.gz; returns url → doc id."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    url_to_id = {}
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for d in docs:
            o = outlet_of(d)
            url = f"https://www.{o['host']}/news/{d['id']}"
            url_to_id[url] = d["id"]
            body = render(d, o).encode("utf-8")
            hh = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=hh))
    return url_to_id


def ari_of(result, ids: list[str], truth: dict[str, str], id_map: dict[str, str] | None = None) -> float:
    cl = dict(zip(result.documents.column("doc_id").to_pylist(), result.documents.column("cluster_id").to_pylist(), strict=True))
    if id_map is not None:
        cl = {id_map[k]: id_map[v] for k, v in cl.items()}
    pred = [cl.get(i, f"<missing>{i}") for i in ids]
    return adjusted_rand_index([truth[i] for i in ids], pred)


def compare_extractors(docs: list[dict], n: int) -> list[dict]:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree
    import trafilatura

    sample = docs[:n]
    pages = [(render(d, outlet_of(d)), d, outlet_of(d)) for d in sample]

    def resili(html: str) -> str:
        return extract_plain_text(HTMLTree.parse(html), main_content=True, alt_texts=False, noscript=False,
                                  comments=False)

    def resili_all(html: str) -> str:
        return extract_plain_text(HTMLTree.parse(html), main_content=False, alt_texts=False, noscript=False,
                                  skip_elements=["script", "style", "noscript"])

    def trafi(html: str) -> str:
        return trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=False) or ""

    rows = []
    for name, fn in (("resiliparse (main content)", resili), ("trafilatura", trafi),
                     ("resiliparse, whole page (--no-extract)", resili_all)):
        t0 = time.process_time()
        outs = [fn(h) for h, _, _ in pages]
        dt = time.process_time() - t0
        left = total = 0
        kept_words = all_words = 0
        for out, (_, d, o) in zip(outs, pages, strict=True):
            for line in chrome_lines(o):
                total += 1
                left += line in out
            words = d["text"].split()
            outw = set(out.split())
            all_words += len(words)
            kept_words += sum(w in outw for w in words)
        rows.append(dict(extractor=name, pages_per_s=len(pages) / dt, chrome_left=left / total,
                         story_words_kept=kept_words / all_words))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--ngram", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--extractors", type=int, default=300, help="pages for the extractor comparison (0: skip)")
    ap.add_argument("--reuters", default=None)
    ap.add_argument("--keep", default=None, help="keep the corpus files in this directory")
    args = ap.parse_args(argv)

    import copytrace

    docs, truth = syndicate.generate(args.docs, reuters_dir=args.reuters)
    ids = [d["id"] for d in docs]
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="copytrace-warc-"))
    tmp.mkdir(parents=True, exist_ok=True)
    jsonl = tmp / "corpus.jsonl"
    syndicate_jsonl = [{"id": d["id"], "text": d["text"]} for d in docs]
    import json

    with open(jsonl, "w", encoding="utf-8") as f:
        for d in syndicate_jsonl:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    warc = tmp / "corpus.warc.gz"
    url_to_id = write_warc(warc, docs)
    print(f"{len(docs):,} documents; WARC {warc.stat().st_size / 1e6:.1f} MB (gzip), JSONL "
          f"{jsonl.stat().st_size / 1e6:.1f} MB; cores: {os.cpu_count()}, workers {args.workers}")

    opts = dict(align=False, report=False, progress=False, ngram=args.ngram, threshold=args.threshold,
                workers=args.workers)
    from copytrace.stages.web import extraction_worker_cpu_s

    # warm-up (imports, compiled kernels, the extractor), as for any run after the first
    warm = tmp / "warm"
    warm.mkdir(exist_ok=True)
    write_warc(warm / "w.warc.gz", docs[:50])
    copytrace.find(str(warm / "w.warc.gz"), id_field="url", **opts)
    with open(warm / "w.jsonl", "w", encoding="utf-8") as f:
        for d in syndicate_jsonl[:50]:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    copytrace.find(str(warm / "w.jsonl"), **opts)

    def cpu() -> float:  # this process (all threads) and its extraction workers
        return time.process_time() + extraction_worker_cpu_s()

    t0, c0 = time.perf_counter(), cpu()
    rj = copytrace.find(str(jsonl), **opts)
    t_jsonl, c_jsonl = time.perf_counter() - t0, cpu() - c0
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), cpu()
    rw = copytrace.find(str(warc), id_field="url", **opts)
    t_warc, c_warc = time.perf_counter() - t0, cpu() - c0
    ari_j = ari_of(rj, ids, truth)
    ari_w = ari_of(rw, ids, truth, url_to_id)
    skipped = rw.summary["read"]["skipped"]
    # wall time on a shared machine says little; CPU seconds (all threads of this process and of its
    # extraction workers) give pages per CPU second; x cores: the rate if every core were busy all along
    ncpu = os.cpu_count() or 1
    print(f"load average before the WARC run: {load:.2f} on {ncpu} cores")
    print(f"| input | docs read | wall s | CPU s | pages/s (wall) | pages per CPU s | x {ncpu} cores | ARI |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| clean JSONL | {rj.summary['counts']['documents']:,} | {t_jsonl:.2f} | {c_jsonl:.2f} | "
          f"{len(docs) / t_jsonl:,.0f} | {len(docs) / c_jsonl:,.0f} | {ncpu * len(docs) / c_jsonl:,.0f} | {ari_j:.4f} |")
    print(f"| WARC (.warc.gz, extracted) | {rw.summary['counts']['documents']:,} | {t_warc:.2f} | {c_warc:.2f} | "
          f"{len(docs) / t_warc:,.0f} | {len(docs) / c_warc:,.0f} | {ncpu * len(docs) / c_warc:,.0f} | {ari_w:.4f} |")
    if skipped:
        print(f"WARC skips: {skipped}")

    if args.extractors:
        rows = compare_extractors(docs, args.extractors)
        print()
        print(f"Extractors on {args.extractors} pages (one core, CPU time):")
        print("| extractor | pages/s | chrome lines left in | story words kept |")
        print("|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r['extractor']} | {r['pages_per_s']:,.0f} | {r['chrome_left']:.1%} | {r['story_words_kept']:.1%} |")
    print(f"warc_ari={ari_w:.4f} jsonl_ari={ari_j:.4f} ari_ratio={ari_w / ari_j:.4f} "
          f"pages_per_s={len(docs) / t_warc:.0f} pages_per_cpu_s={len(docs) / c_warc:.0f}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
