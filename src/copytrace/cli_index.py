"""`copytrace index ...` and `copytrace serve`: click commands for the persistent index.

Attach to the main group with one line each::

    from copytrace.cli_index import index_group, serve_cmd
    main.add_command(index_group)
    main.add_command(serve_cmd)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from copytrace.cli_common import _run, reader_options

__all__ = ["index_group", "serve_cmd"]


@click.group("index", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def index_group() -> None:
    """A persistent index (one DuckDB file): has this text been published before, and where?

    \b
    copytrace index create DB                 a new, empty index
    copytrace index add DB INPUTS...          add documents (one transaction per call)
    copytrace index query DB FILE|--text T    near-duplicates of a text, with passages
    copytrace index stats DB                  size and parameters
    copytrace index remove DB --id ID ...     remove documents
    """


@index_group.command("create")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--threshold", default=0.5, show_default=True, type=float,
              help="Default query threshold; also chooses the LSH bands/rows.")
@click.option("--ngram", default=5, show_default=True, type=int, help="Words per shingle.")
@click.option("--num-perm", default=128, show_default=True, type=int, help="MinHash permutations.")
@click.option("--seed", default=42, show_default=True, type=int, help="Seed of the MinHash permutations.")
@click.option("--sample-rate", default=8, show_default=True, type=int,
              help="1-in-N shingle sample for containment candidates.")
@click.option("--max-df", default=64, show_default=True, type=int,
              help="Ignore sampled shingles found in more documents than this.")
def create_cmd(db: str, threshold: float, ngram: int, num_perm: int, seed: int, sample_rate: int,
               max_df: int) -> None:
    """Create a new, empty index file DB."""

    def body() -> None:
        from copytrace.index import Index

        with Index.create(db, threshold=threshold, ngram=ngram, num_perm=num_perm, seed=seed,
                          sample_rate=sample_rate, max_df=max_df) as idx:
            p = idx.params
            click.echo(f"Created {db} (threshold {p['threshold']}, ngram {p['ngram']}, num_perm {p['num_perm']},"
                       f" LSH {p['bands']}×{p['rows']})")

    _run(body)


@index_group.command("add")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("inputs", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Replace stored documents with the same id (default: skip them).")
@reader_options(on_error_help="skip and count them, or stop at the first")
def add_cmd(db: str, inputs: tuple[str, ...], replace: bool, id_field: str, text_field: str,
            date_field: str | None, source_field: str | None, fmt: str, on_error: str, encoding: str) -> None:
    """Add the documents of INPUTS (same inputs and readers as `find`) to DB.

    The whole call is one transaction: if it fails or is interrupted, the
    index is left as it was.
    """

    def body() -> None:
        from copytrace.index import Index
        from copytrace.stages.read import ReadOptions, ReadStats, iter_batches

        ropts = ReadOptions(id_field=id_field, text_field=text_field, date_field=date_field,
                            source_field=source_field, format=fmt, on_error=on_error, encoding=encoding)
        stats = ReadStats()
        with Index(db) as idx:
            docs = (d for batch in iter_batches(list(inputs), ropts, stats) for d in batch)
            res = idx.add(docs, on_duplicate="replace" if replace else "skip")
            n = len(idx)
        read_skipped = stats.to_dict().get("skipped", {})
        parts = [f"{res.added} documents added"]
        if res.replaced:
            parts.append(f"{res.replaced} replaced")
        skipped = {**read_skipped}
        for k, v in res.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
        if skipped:
            parts.append("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
        click.echo("; ".join(parts) + f"; {n} documents in {db}")

    _run(body)


@index_group.command("query")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--text", default=None, help="The query text inline instead of FILE.")
@click.option("--threshold", default=None, type=float, help="Minimum similarity, the same rule as find and compare (default: the index's).")
@click.option("--limit", default=10, show_default=True, type=int, help="At most this many matches.")
@click.option("--no-passages", is_flag=True, help="Leave the passages out of the answer (the alignment still runs: the rule decides on it, "
                   "so the similarity is the same).")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def query_cmd(db: str, file: str | None, text: str | None, threshold: float | None, limit: int,
              no_passages: bool, as_json: bool) -> None:
    """Near-duplicates of a text (FILE, - for stdin, or --text) in DB, with aligned passages.

    Passage offsets: a = the query text, b = the indexed document (characters).
    """

    def body() -> None:
        import sys

        from copytrace.errors import OptionError
        from copytrace.index import Index
        from copytrace.stages.read import read_text_file

        if (file is None) == (text is None):
            raise OptionError("give the query as FILE or with --text (one of them)")
        if text is not None:
            q = text
        elif file == "-":
            q = sys.stdin.read()
        else:
            q = read_text_file(file)
        with Index(db, read_only=True) as idx:
            matches = idx.query(q, threshold=threshold, limit=limit, with_passages=not no_passages)
            if as_json:
                click.echo(json.dumps({"matches": [m.to_dict() for m in matches]}, ensure_ascii=False))
                return
            if not matches:
                click.echo("No match.")
                return
            for m in matches:
                extra = "".join(f"  {k} {v}" for k, v in (("source", m.source), ("date", m.date)) if v)
                click.echo(f"{m.doc_id}  similarity {m.similarity:.3f}  jaccard {m.jaccard:.3f}  "
                           f"query-in-doc {m.containment_query_in_doc:.3f}  doc-in-query "
                           f"{m.containment_doc_in_query:.3f}  passages {len(m.passages)}{extra}")
                if m.passages:
                    for p in m.passages:
                        excerpt = " ".join(q[p.a_start:p.a_end].split())
                        if len(excerpt) > 100:
                            excerpt = excerpt[:97] + "..."
                        click.echo(f"    [{p.kind} {p.score:.2f}] query {p.a_start}-{p.a_end} ↔ doc "
                                   f"{p.b_start}-{p.b_end}: {excerpt}")

    _run(body)


@index_group.command("stats")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats_cmd(db: str, as_json: bool) -> None:
    """Documents, size on disk and parameters of DB."""

    def body() -> None:
        from copytrace.index import Index

        with Index(db, read_only=True) as idx:
            s = idx.stats()
        if as_json:
            click.echo(json.dumps(s))
            return
        p = s["parameters"]
        bpd = f"{s['bytes_per_document']:.0f}" if s["bytes_per_document"] else "-"
        click.echo(f"{s['path']}: {s['documents']} documents, {s['characters']} characters, "
                   f"{s['file_bytes']} bytes on disk ({bpd} per document)\n"
                   f"threshold {p['threshold']}, ngram {p['ngram']}, num_perm {p['num_perm']}, seed {p['seed']}, "
                   f"LSH {p['bands']}×{p['rows']}, sample 1/{p['sample_rate']}, max_df {p['max_df']}")

    _run(body)


@index_group.command("remove")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--id", "ids", multiple=True, required=True, help="Id of a document to remove (repeatable).")
def remove_cmd(db: str, ids: tuple[str, ...]) -> None:
    """Remove documents from DB by id (one transaction)."""

    def body() -> None:
        from copytrace.index import Index

        with Index(db) as idx:
            n = idx.remove(ids)
        click.echo(f"{n} of {len(set(ids))} documents removed")

    _run(body)


@click.command("serve", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--api-key", default=None, envvar="COPYTRACE_API_KEY", show_envvar=True,
              help="Require this key for writes (X-API-Key or Authorization: Bearer).")
@click.option("--create", is_flag=True, help="Create DB (default parameters) when it does not exist.")
@click.option("--query-threads", default=None, type=click.IntRange(min=1), envvar="COPYTRACE_QUERY_THREADS",
              show_envvar=True, help="Queries looked up at once; others wait in arrival order (default: 2).")
@click.option("--query-processes", default=None, type=click.IntRange(min=0), envvar="COPYTRACE_QUERY_PROCESSES",
              show_envvar=True,
              help="Worker processes that verify and align queries (default: one per CPU; 0: in the server).")
@click.option("--text-cache-mb", default=256, show_default=True, type=click.IntRange(min=0),
              envvar="COPYTRACE_TEXT_CACHE_MB", show_envvar=True,
              help="MiB of document texts kept in memory (queries read the others from DB; 0: none).")
def serve_cmd(db: str, host: str, port: int, api_key: str | None, create: bool,
              query_threads: int | None, query_processes: int | None, text_cache_mb: int) -> None:
    """Serve DB over HTTP: POST /documents, POST /query, GET /documents/{id}, a page at /, docs at /docs."""

    def body() -> None:
        from copytrace.index import Index
        from copytrace.service.app import serve

        if create and not Path(db).exists():
            Index.create(db).close()
        click.echo(f"copytrace: serving {os.path.abspath(db)} on http://{host}:{port}/ "
                   f"(writes {'need the API key' if api_key else 'are open'})", err=True)
        serve(db, host=host, port=port, api_key=api_key, query_threads=query_threads,
              query_processes=query_processes, text_cache_bytes=text_cache_mb * 2**20)

    _run(body)
