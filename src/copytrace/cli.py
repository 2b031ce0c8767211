"""The `copytrace` command line."""

from __future__ import annotations

import copytrace.clock  # noqa: F401  # first: its fallback for the process start is this moment
import json
from pathlib import Path
from typing import Any

import click

from copytrace._version import __version__

from copytrace.cli_common import arrow_without_pandas, plural, run_command, click_options, reader_options  # noqa: E402
from copytrace.config import FingerprintConfig, check_value, help_of
from copytrace.options import FindOptions


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="copytrace")
def main() -> None:
    """copytrace — find every copy of a text in a collection.

    \b
    copytrace find DIR_OR_FILES... --out OUT   group the copies in a collection
    copytrace compare A B                      align what two texts share
    copytrace align --pairs FILE ...           align listed pairs (PAN evaluation format)
    copytrace index create|add|query|...  DB   a persistent index: has this been published before?
    copytrace serve DB                         the index over HTTP (API, page, docs)

    `copytrace COMMAND --help` tells more.
    """


@main.command("find")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click_options(FindOptions)  # every FindOptions field, in field order (config.py: how to add one)
@reader_options(on_error_help="skip and count them in summary.json, or stop at the first")
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "spark"]),
              help="Where the pipeline runs: this machine, or Apache Spark (pip install 'copytrace[spark]').")
@click.option("--spark-master", default=None,
              help="Spark master URL for --engine spark (default: the spark-submit session, else local[*]).")
@click.option("--spark-partitions", default=None, type=int,
              help="Shuffle partitions for --engine spark (default: 4 x the cores Spark has).")
@click.option("--against", "against", multiple=True, help=help_of(FindOptions, "against"))
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, no closing summary.")
def find_cmd(inputs: tuple[str, ...], out: str, engine: str, spark_master: str | None,
             spark_partitions: int | None, quiet: bool, fmt: str, **options: Any) -> None:
    """Find the copies in a collection and write the results to --out.

    INPUTS: directories of .txt/.html files, files (.txt, .jsonl, .jsonl.gz, .ndjson,
    .csv, .parquet, .html, .warc, .warc.gz, .wet), or - for JSONL on standard input.
    """

    def body() -> None:
        from copytrace.api import find
        from copytrace.clock import counting_from_process_start
        from copytrace.kernels import announce_compilation

        if engine == "local":
            announce_compilation(enabled=not quiet)
            arrow_without_pandas()
        # the FindOptions and ReadOptions fields by name (reader_options calls --format's parameter fmt);
        # summary.json's "startup" timing: from the process's start
        with counting_from_process_start():
            res = find(list(inputs), out, engine=engine, spark_master=spark_master,
                       spark_partitions=spark_partitions, progress=not quiet, format=fmt, **options)
        for w in res.summary.get("warnings", []) + res.summary["read"].get("warnings", []):
            click.echo(f"copytrace: warning: {w}", err=True)
        if not quiet:
            c = res.summary["counts"]
            skipped = res.summary["read"].get("skipped", {})
            n_skipped = sum(skipped.values())
            click.echo(
                f"{plural(c['documents'], 'document')} read"
                + (f" ({n_skipped} skipped: {', '.join(f'{k} {v}' for k, v in sorted(skipped.items()))})"
                   if n_skipped else "")
                + f"; {plural(c['clusters'], 'cluster')} of copies holding {plural(c['documents_in_clusters'], 'document')};"
                f" {plural(c['verified_pairs'], 'pair')}; {plural(c['passages'], 'aligned passage')};"
                f" {plural(c['deduplicated_documents'], 'document')} after deduplication."
            )
            if res.summary.get("resumed_stages"):
                click.echo(f"Resumed after: {', '.join(res.summary['resumed_stages'])}")
            files = ", ".join(Path(f).name for f in res.summary.get("outputs", {}).values())
            click.echo(f"Output written to {Path(out).resolve()}/ ({files})")

    run_command(body)


@main.command("compare")
@click.argument("file_a", required=False, type=click.Path(dir_okay=False))
@click.argument("file_b", required=False, type=click.Path(dir_okay=False))
@click.option("--text-a", default=None, help="Text A given inline instead of FILE_A.")
@click.option("--text-b", default=None, help="Text B given inline instead of FILE_B.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click_options(FingerprintConfig, only=("ngram",))
@click.option("--threshold", default=FingerprintConfig.threshold, show_default=True, type=float,
              help="Similarity at which the rule (stages/rule.py) says COPIES, as in find and index query.")
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False),
              help="Also write a side-by-side HTML view of the pair to this file.")
@click.option("--encoding", default="auto", show_default=True,
              help="Encoding of the files: auto = UTF-8 when valid, else detected; or a codec name.")
def compare_cmd(file_a: str | None, file_b: str | None, text_a: str | None, text_b: str | None,
                as_json: bool, ngram: int, threshold: float, html_path: str | None, encoding: str) -> None:
    """Compare two texts: similarity, aligned passages, what each has alone.

    Offsets are character offsets into the files as decoded (UTF-8, or the
    encoding detected or given with --encoding).
    """

    def body() -> None:
        from copytrace.api import compare
        from copytrace.errors import OptionError, printable

        check_value(FingerprintConfig, "threshold", threshold)  # ngram: checked by compare()

        args = [file_a, file_b]
        texts: list[str | Path] = []
        names: list[str] = []
        inline = [text_a, text_b]
        for which in (0, 1):
            label = "AB"[which]
            if inline[which] is not None:
                texts.append(inline[which])  # type: ignore[arg-type]
                names.append(f"--text-{label.lower()}")
            else:
                # positional files fill in whichever side has no inline text
                if not args:
                    raise OptionError(f"give text {label} as a file or with --text-{label.lower()}")
                f = args.pop(0)
                while f is None and args:
                    f = args.pop(0)
                if f is None:
                    raise OptionError(f"give text {label} as a file or with --text-{label.lower()}")
                texts.append(Path(f))
                names.append(printable(f))
        if any(a is not None for a in args):
            raise OptionError("too many inputs: give two texts in all (files or --text-a/--text-b)")
        from copytrace.kernels import announce_compilation

        announce_compilation()
        cmp = compare(texts[0], texts[1], ngram=ngram, threshold=threshold, encoding=encoding)
        for name, enc in zip(names, cmp.encodings, strict=True):
            if enc not in (None, "utf-8"):
                click.echo(f"copytrace: note: {name} is not UTF-8; decoded as {enc} (detected)"
                           if encoding == "auto" else f"copytrace: note: {name} decoded as {enc}", err=True)
        if html_path:
            from copytrace.report.html import write_pair_report

            write_pair_report(html_path, cmp, names[0], names[1])
        if as_json:
            click.echo(json.dumps(cmp.to_dict(), ensure_ascii=False))
        else:
            from rich.console import Console

            from copytrace.report.terminal import render_comparison

            render_comparison(cmp, names[0], names[1], Console(), threshold=threshold)
        if html_path:  # on stderr with --json, so that stdout stays JSON
            click.echo(f"HTML view written to {Path(html_path).resolve()}", err=as_json)

    run_command(body)


@main.command("align")
@click.option("--pairs", "pairs_file", required=True, type=click.Path(dir_okay=False),
              help='File of pairs, one "susp.txt src.txt" per line.')
@click.option("--susp-dir", required=True, type=click.Path(file_okay=False), help="Suspicious documents.")
@click.option("--src-dir", required=True, type=click.Path(file_okay=False), help="Source documents.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory for one PAN detection XML per pair.")
@click.option("--jobs", default=0, show_default=True, type=int, help="Worker processes; 0 = all cores.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def align_cmd(pairs_file: str, susp_dir: str, src_dir: str, out: str, jobs: int, quiet: bool) -> None:
    """Align document pairs for corpus evaluation (PAN text-alignment format).

    Writes OUT/<susp>-<src>.xml with one <feature name="detected-plagiarism"
    this_offset this_length source_offset source_length/> per aligned passage.
    """

    def body() -> None:
        from copytrace.evaluation.pan import align_pairs_file
        from copytrace.kernels import announce_compilation
        from copytrace.progress import Reporter

        announce_compilation(enabled=not quiet)
        with Reporter(enabled=not quiet) as rep:
            with rep.stage("align", unit="pairs") as bar:
                n = align_pairs_file(pairs_file, susp_dir, src_dir, out, jobs=jobs or None,
                                     on_pair=bar.advance)
        if not quiet:
            click.echo(f"{plural(n, 'pair')} aligned in {rep.timings['align']:.1f}s; detections in {Path(out).resolve()}/")

    run_command(body)


def _attach_index_commands() -> None:
    from copytrace.cli_index import index_group, serve_cmd

    main.add_command(index_group)
    main.add_command(serve_cmd)


_attach_index_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
