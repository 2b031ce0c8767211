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
from typing import Any

import click

from copytrace.cli_common import plural, run_command, click_options, reader_options
from copytrace.config import PORT, FingerprintConfig

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
    copytrace index compact DB                give back the free space that writes leave
    """


@index_group.command("create")
@click.argument("db", type=click.Path(dir_okay=False))
@click_options(FingerprintConfig, extra_help={"threshold": "In the index: the default query threshold; it also "
                                                            "chooses the LSH bands/rows."})
def create_cmd(db: str, **params: Any) -> None:
    """Create a new, empty index file DB."""

    def body() -> None:
        from copytrace.index import Index

        with Index.create(db, **params) as idx:
            p = idx.params
            click.echo(f"Created {db} (threshold {p['threshold']}, ngram {p['ngram']}, num_perm {p['num_perm']},"
                       f" LSH {p['bands']}×{p['rows']})")

    run_command(body)


@index_group.command("add")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("inputs", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Replace stored documents with the same id (default: skip them).")
@reader_options(on_error_help="skip and count them, or stop at the first")
def add_cmd(db: str, inputs: tuple[str, ...], replace: bool, id_field: str, text_field: str,
            date_field: str | None, source_field: str | None, fmt: str, on_error: str, encoding: str,
            html_field: str | None = None, extract: bool = True) -> None:
    """Add the documents of INPUTS (same inputs and readers as `find`) to DB.

    The whole call is one transaction: if it fails or is interrupted, the
    index is left as it was.
    """

    def body() -> None:
        from copytrace.index import Index
        from copytrace.stages.read import ReadOptions, ReadStats, iter_batches

        ropts = ReadOptions(id_field=id_field, text_field=text_field, date_field=date_field,
                            source_field=source_field, format=fmt, on_error=on_error, encoding=encoding,
                            html_field=html_field, extract=extract)
        stats = ReadStats()
        with Index(db) as idx:
            docs = (d for batch in iter_batches(list(inputs), ropts, stats) for d in batch)
            res = idx.add(docs, on_duplicate="replace" if replace else "skip")
            n = len(idx)
        for w in stats.warnings:  # files not read, encodings detected
            click.echo(f"copytrace: warning: {w}", err=True)
        read_skipped = stats.to_dict().get("skipped", {})
        parts = [f"{plural(res.added, 'document')} added"]
        if res.replaced:
            parts.append(f"{res.replaced} replaced")
        skipped = {**read_skipped}
        for k, v in res.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
        if skipped:
            parts.append("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
        click.echo("; ".join(parts) + f"; {plural(n, 'document')} in {db}")

    run_command(body)


@index_group.command("query")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--text", default=None, help="The query text inline instead of FILE.")
@click.option("--threshold", default=None, type=float, help="Minimum similarity, the same rule as find and compare (default: the index's).")
@click.option("--limit", default=10, show_default=True, type=int, help="At most this many matches.")
@click.option("--no-passages", is_flag=True, help="Leave the passages out of the answer (the alignment still runs: the rule decides on it, "
                   "so the similarity is the same).")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
@click.option("--date", "q_date", default=None, help="The query's date (for --pairs-within).")
@click.option("--source", "q_source", default=None, help="The query's source/site (for --pairs).")
@click.option("--pairs-within", "pairs_within", default=None, type=float,
              help="Only documents dated at most this many days from --date.")
@click.option("--pairs", "pairs", default="all", show_default=True,
              type=click.Choice(["all", "across-sources", "within-sources"]),
              help="Only documents of another source than --source, or of the same.")
def query_cmd(db: str, file: str | None, text: str | None, threshold: float | None, limit: int,
              no_passages: bool, as_json: bool, q_date: str | None = None, q_source: str | None = None,
              pairs_within: float | None = None, pairs: str = "all") -> None:
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
            assert file is not None  # exactly one of FILE and --text, checked above
            q = read_text_file(file)
        with Index(db, read_only=True) as idx:
            matches = idx.query(q, threshold=threshold, limit=limit, with_passages=not no_passages,
                                date=q_date, source=q_source, pairs_within=pairs_within, pairs=pairs)
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

    run_command(body)


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
        click.echo(f"{s['path']}: {plural(s['documents'], 'document')}, {plural(s['characters'], 'character')}, "
                   f"{s['file_bytes']} bytes on disk ({bpd} per document)\n"
                   f"threshold {p['threshold']}, ngram {p['ngram']}, num_perm {p['num_perm']}, seed {p['seed']}, "
                   f"LSH {p['bands']}×{p['rows']}, sample 1/{p['sample_rate']}, max_df {p['max_df']}")

    run_command(body)


@index_group.command("remove")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--id", "ids", multiple=True, required=True, help="Id of a document to remove (repeatable).")
def remove_cmd(db: str, ids: tuple[str, ...]) -> None:
    """Remove documents from DB by id (one transaction).

    The ids that are stored are removed; if any id is not, it is named and
    the command exits with status 1.
    """

    def body() -> None:
        import sys

        from copytrace.index import Index

        wanted = list(dict.fromkeys(ids))
        with Index(db) as idx:
            unknown = [i for i in wanted if i not in idx]
            n = idx.remove(wanted)
        click.echo(f"{n} of {plural(len(wanted), 'document')} removed")
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:10]) + (f" and {len(unknown) - 10} more"
                                                               if len(unknown) > 10 else "")
            click.echo(f"copytrace: error: no document with id {shown} in {db}", err=True)
            sys.exit(1)

    run_command(body)


@index_group.command("compact")
@click.argument("db", type=click.Path(dir_okay=False))
def compact_cmd(db: str) -> None:
    """Rewrite DB into a fresh file without the free space that writes leave behind.

    Writes after a bulk load grow the file by about a third (DuckDB writes
    changed blocks anew and reuses the freed ones later, but never shrinks
    the file); this gives that space back.  The index must not be in use.
    """

    def body() -> None:
        from copytrace.index.compact import compact

        before, after = compact(db)
        click.echo(f"{db}: {before / 1e6:.1f} MB before, {after / 1e6:.1f} MB after")

    run_command(body)


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
@click.option("--query-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              envvar="COPYTRACE_QUERY_TIMEOUT", show_envvar=True,
              help="Seconds a query may take; past them it is stopped and answered with 503.")
def serve_cmd(db: str, host: str, port: int, api_key: str | None, create: bool,
              query_threads: int | None, query_processes: int | None, text_cache_mb: int,
              query_timeout: float) -> None:
    """Serve DB over HTTP: POST /documents, POST /query, GET /documents/{id}, a page at /, docs at /docs."""

    def body() -> None:
        from copytrace.errors import OptionError
        from copytrace.index import Index
        from copytrace.service.app import API_KEY_ENV, serve

        PORT("port", port)  # before --create makes a file (serve() checks it too)
        env_key = os.environ.get(API_KEY_ENV)
        if api_key is not None and not api_key.strip() or api_key is None and env_key is not None:
            # click ignores an empty environment variable: an empty key must not mean open writes
            raise OptionError(f"the API key (--api-key or {API_KEY_ENV}) is empty: give a key, or leave both "
                              "out for open writes")
        if create and not Path(db).exists():
            Index.create(db).close()
        click.echo(f"copytrace: serving {os.path.abspath(db)} on http://{host}:{port}/ "
                   f"(writes {'need the API key' if api_key else 'are open'})", err=True)
        serve(db, host=host, port=port, api_key=api_key, query_threads=query_threads,
              query_processes=query_processes, text_cache_bytes=text_cache_mb * 2**20, query_timeout=query_timeout)

    run_command(body)
