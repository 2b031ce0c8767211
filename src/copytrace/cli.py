"""The `copytrace` command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from copytrace import __version__

from copytrace.cli_common import _n, _run, reader_options  # noqa: E402


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="copytrace")
def main() -> None:
    """copytrace — find every copy of a text in a collection.

    \b
    copytrace find DIR_OR_FILES... --out OUT   group the copies in a collection
    copytrace compare A B                      align what two texts share
    """


@main.command("find")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--threshold", default=0.5, show_default=True, type=float,
              help="Keep pairs whose Jaccard or containment (either way) of shingles reaches this.")
@click.option("--ngram", default=5, show_default=True, type=int, help="Words per shingle.")
@click.option("--num-perm", default=128, show_default=True, type=int, help="MinHash permutations.")
@click.option("--seed", default=42, show_default=True, type=int, help="Seed of the MinHash permutations.")
@click.option("--bands", type=int, default=None, help="LSH bands (default: chosen from --threshold).")
@click.option("--rows", type=int, default=None, help="LSH rows per band (with --bands).")
@click.option("--containment/--no-containment", default=True, show_default=True,
              help="Also find short copies inside long documents.")
@click.option("--sample-rate", default=8, show_default=True, type=int,
              help="1-in-N shingle sample for containment candidates.")
@click.option("--max-df", default=64, show_default=True, type=int,
              help="Ignore sampled shingles found in more documents than this.")
@click.option("--max-bucket", default=64, show_default=True, type=int,
              help="LSH buckets larger than this link their members to one member only.")
@click.option("--reuse-min-shingles", default=25, show_default=True, type=int,
              help="Also pair documents sharing this many shingles (a reused passage), however small a "
                   "share of either; 0 = off.")
@click.option("--dedup-passages", is_flag=True,
              help="Also write deduplicated-passages.jsonl: every document with each reused passage cut "
                   "from all but its original occurrence (for training corpora).")
@click.option("--align/--no-align", "do_align", default=True, show_default=True,
              help="Align the shared passages of every pair.")
@click.option("--boilerplate/--no-boilerplate", default=True, show_default=True,
              help="Detect passages the corpus repeats (appeals, newsletter boxes, bylines) and leave "
                   "them out of similarity and alignment.")
@click.option("--boilerplate-min-docs", default=5, show_default=True, type=int,
              help="Documents a segment must recur in to count as boilerplate.")
@click.option("--report/--no-report", default=True, show_default=True, help="Write report.html.")
@click.option("--workers", default=0, show_default=True, type=int, help="Threads/processes; 0 = all cores.")
@reader_options(on_error_help="skip and count them in summary.json, or stop at the first")
@click.option("--work-dir", default=None, type=click.Path(file_okay=False),
              help="Where to keep intermediate files (default: a temporary directory).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run in --work-dir from its last finished stage.")
@click.option("--memory-limit", default=None,
              help="Memory for the LSH stage, e.g. 4GB (default: half of RAM); beyond an eighth of it, "
                   "band buckets are formed out of core by DuckDB in --work-dir.")
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "spark"]),
              help="Where the pipeline runs: this machine, or Apache Spark (pip install 'copytrace[spark]').")
@click.option("--spark-master", default=None,
              help="Spark master URL for --engine spark (default: the spark-submit session, else local[*]).")
@click.option("--spark-partitions", default=None, type=int,
              help="Shuffle partitions for --engine spark (default: 4 x the cores Spark has).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars, no closing summary.")
def find_cmd(inputs: tuple[str, ...], out: str, threshold: float, ngram: int, num_perm: int, seed: int,
             bands: int | None, rows: int | None, containment: bool, sample_rate: int, max_df: int,
             max_bucket: int, reuse_min_shingles: int, dedup_passages: bool, do_align: bool, boilerplate: bool, boilerplate_min_docs: int, report: bool,
             workers: int, id_field: str, text_field: str,
             date_field: str | None, source_field: str | None, fmt: str, on_error: str, encoding: str,
             work_dir: str | None, resume: bool, memory_limit: str | None, engine: str, spark_master: str | None,
             spark_partitions: int | None, quiet: bool) -> None:
    """Find the copies in a collection and write the results to --out.

    INPUTS: directories of .txt files, files (.txt, .jsonl, .jsonl.gz, .csv,
    .parquet), or - for JSONL on standard input.
    """

    def body() -> None:
        from copytrace.api import find

        res = find(
            list(inputs), out, threshold=threshold, ngram=ngram, num_perm=num_perm, seed=seed,
            bands=bands, rows=rows, containment=containment, sample_rate=sample_rate, max_df=max_df,
            max_bucket=max_bucket, reuse_min_shingles=reuse_min_shingles, dedup_passages=dedup_passages,
            align=do_align, boilerplate=boilerplate,
            boilerplate_min_docs=boilerplate_min_docs, report=report, workers=workers, id_field=id_field,
            text_field=text_field, date_field=date_field, source_field=source_field, format=fmt,
            on_error=on_error, encoding=encoding, work_dir=work_dir, resume=resume, progress=not quiet,
            engine=engine, spark_master=spark_master, spark_partitions=spark_partitions, memory_limit=memory_limit,
        )
        if not quiet:
            c = res.summary["counts"]
            skipped = res.summary["read"].get("skipped", {})
            n_skipped = sum(skipped.values())
            click.echo(
                f"{_n(c['documents'], 'document')} read"
                + (f" ({n_skipped} skipped: {', '.join(f'{k} {v}' for k, v in sorted(skipped.items()))})"
                   if n_skipped else "")
                + f"; {_n(c['clusters'], 'cluster')} of copies holding {_n(c['documents_in_clusters'], 'document')};"
                f" {_n(c['verified_pairs'], 'pair')}; {_n(c['passages'], 'aligned passage')};"
                f" {_n(c['deduplicated_documents'], 'document')} after deduplication."
            )
            if res.summary.get("resumed_stages"):
                click.echo(f"Resumed after: {', '.join(res.summary['resumed_stages'])}")
            files = ", ".join(Path(f).name for f in res.summary.get("outputs", {}).values())
            click.echo(f"Output written to {Path(out).resolve()}/ ({files})")

    _run(body)


@main.command("compare")
@click.argument("file_a", required=False, type=click.Path(dir_okay=False))
@click.argument("file_b", required=False, type=click.Path(dir_okay=False))
@click.option("--text-a", default=None, help="Text A given inline instead of FILE_A.")
@click.option("--text-b", default=None, help="Text B given inline instead of FILE_B.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--ngram", default=5, show_default=True, type=int, help="Words per shingle.")
@click.option("--threshold", default=0.5, show_default=True, type=float,
              help="Similarity at which the verdict says COPIES.")
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False),
              help="Also write a side-by-side HTML view of the pair to this file.")
def compare_cmd(file_a: str | None, file_b: str | None, text_a: str | None, text_b: str | None,
                as_json: bool, ngram: int, threshold: float, html_path: str | None) -> None:
    """Compare two texts: similarity, aligned passages, what each has alone.

    Offsets are character offsets into the files as read (UTF-8 decoded).
    """

    def body() -> None:
        from copytrace.api import compare
        from copytrace.errors import OptionError

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
                names.append(f)
        if any(a is not None for a in args):
            raise OptionError("too many inputs: give two texts in all (files or --text-a/--text-b)")
        cmp = compare(texts[0], texts[1], ngram=ngram)
        if html_path:
            from copytrace.report.html import write_pair_report

            write_pair_report(html_path, cmp, names[0], names[1])
        if as_json:
            click.echo(json.dumps(cmp.to_dict(), ensure_ascii=False))
        else:
            from rich.console import Console

            from copytrace.report.terminal import render_comparison

            render_comparison(cmp, names[0], names[1], Console(), threshold=threshold)

    _run(body)


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
        from copytrace.progress import Reporter

        with Reporter(enabled=not quiet) as rep:
            with rep.stage("align", unit="pairs") as bar:
                n = align_pairs_file(pairs_file, susp_dir, src_dir, out, jobs=jobs or None,
                                     on_pair=bar.advance)
        if not quiet:
            click.echo(f"{n} pairs aligned in {rep.timings['align']:.1f}s; detections in {Path(out).resolve()}/")

    _run(body)


def _attach_index_commands() -> None:
    from copytrace.cli_index import index_group, serve_cmd

    main.add_command(index_group)
    main.add_command(serve_cmd)


_attach_index_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
