"""The Python API: ``copytrace.find`` and ``copytrace.compare`` mirror the CLI."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from copytrace._lazy import lazy_module
from copytrace.clock import timings_that_add_up
from copytrace.config import FingerprintConfig, check_value
from copytrace.errors import OptionError
from copytrace.options import FindOptions
from copytrace.progress import Reporter
from copytrace.stages.align import AlignOptions, Passage, align
from copytrace.stages.dedup_records import dedup_lines, dedup_passage_record
from copytrace.stages.fingerprint import shingles
from copytrace.stages.normalize import tokenize
from copytrace.stages import rule
from copytrace.stages.read import ReadOptions, decode_text_file
from copytrace.stages.verify import set_stats
from copytrace.stages.output_set import GUARANTEE, staged_outputs
from copytrace.stages.write import write_json, write_jsonl, write_jsonl_bytes, write_parquet

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc

    from copytrace import schemas
    from copytrace.engines.base import Engine
else:  # imported on first use: `compare` needs none of them (start-up time)
    pa = lazy_module("pyarrow")
    pc = lazy_module("pyarrow.compute")
    schemas = lazy_module("copytrace.schemas")

__all__ = ["Result", "Comparison", "find", "compare", "write_outputs"]

OUTPUT_FILES = (
    "documents.parquet",
    "pairs.parquet",
    "passages.parquet",
    "reuse.parquet",
    "boilerplate.parquet",
    "deduplicated.jsonl",
    "deduplicated-passages.jsonl",
    "report.html",
    "summary.json",
)

DEDUP_PASSAGES_FILE = "deduplicated-passages.jsonl"  # with --dedup-passages only


@dataclass
class Result:
    """The outcome of `find`: three Arrow tables (see ``copytrace.schemas``)
    plus the run summary, and where the files went (if anywhere)."""

    documents: pa.Table
    pairs: pa.Table
    passages: pa.Table
    summary: dict[str, Any]
    out_dir: Path | None = None
    boilerplate: pa.Table | None = None
    reuse: pa.Table | None = None  # reuse.parquet: occurrences of reused passages

    def clusters(self) -> dict[str, list[str]]:
        """cluster_id → doc ids, for clusters of two or more documents."""
        out: dict[str, list[str]] = {}
        for doc_id, cid, n in zip(
            self.documents.column("doc_id").to_pylist(),
            self.documents.column("cluster_id").to_pylist(),
            self.documents.column("n_copies").to_pylist(), strict=True,
        ):
            if n > 1:
                out.setdefault(cid, []).append(doc_id)
        return out


class DatasetResult(Result):
    """A :class:`Result` whose ``documents``, ``pairs`` and ``passages`` tables were written by
    the engine as datasets (``out_dir/NAME.parquet/``, Spark) and are read from there on first
    use only: the driver never holds them unless asked."""

    @property
    def documents(self) -> pa.Table:
        def schema(path: Path) -> pa.Schema:  # with ``set`` after an --against run
            import pyarrow.parquet as pq

            with_set = "set" in pq.ParquetDataset(path).schema.names
            return schemas.DOCUMENTS_AGAINST if with_set else schemas.DOCUMENTS

        return self._dataset("documents", schema)

    @documents.setter
    def documents(self, value: pa.Table | None) -> None:
        self.__dict__["_documents"] = value

    def _dataset(self, name: str, schema: pa.Schema | Callable[[Path], pa.Schema]) -> pa.Table:
        """The table ``name`` held, else read from ``out_dir/NAME.parquet/`` (and then held);
        ``schema``: its schema, or a function of the dataset's path giving it."""
        if self.__dict__.get(f"_{name}") is None:
            import pyarrow.parquet as pq

            assert self.out_dir is not None
            path = self.out_dir / f"{name}.parquet"
            self.__dict__[f"_{name}"] = pq.read_table(path, schema=schema if isinstance(schema, pa.Schema)
                                                      else schema(path))
        return self.__dict__[f"_{name}"]

    @property
    def pairs(self) -> pa.Table:
        """Read from ``out_dir/pairs.parquet/`` on first use when the engine wrote it (Spark)."""
        return self._dataset("pairs", schemas.PAIRS)

    @pairs.setter
    def pairs(self, value: pa.Table | None) -> None:
        self.__dict__["_pairs"] = value

    @property
    def passages(self) -> pa.Table:
        return self._dataset("passages", schemas.PASSAGES)

    @passages.setter
    def passages(self, value: pa.Table | None) -> None:
        self.__dict__["_passages"] = value

    @property
    def reuse(self) -> pa.Table:
        return self._dataset("reuse", schemas.REUSE)

    @reuse.setter
    def reuse(self, value: pa.Table | None) -> None:
        self.__dict__["_reuse"] = value


def _split_options(options: dict[str, Any]) -> FindOptions:
    read_fields = {f.name for f in dataclasses.fields(ReadOptions)}
    find_fields = {f.name for f in dataclasses.fields(FindOptions)}
    read_kw = {k: v for k, v in options.items() if k in read_fields and k not in find_fields}
    find_kw = {k: v for k, v in options.items() if k in find_fields}
    unknown = set(options) - set(read_kw) - set(find_kw)
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(sorted(unknown))}")
    if read_kw:
        find_kw["read"] = dataclasses.replace(find_kw.get("read", ReadOptions()), **read_kw)
    return FindOptions(**find_kw)


def _engine(engine: "str | Engine", items: list[Any], spark_master: str | None, spark_partitions: int | None,
            spark_session: Any) -> "Engine":
    """The engine object for ``find``'s ``engine`` argument (an object, or the
    "local"/"spark" shortcut with the spark_* arguments)."""
    spark_args = spark_master is not None or spark_partitions is not None or spark_session is not None
    if engine == "spark" or getattr(engine, "name", None) == "spark":
        if not all(isinstance(x, (str, os.PathLike)) for x in items):
            raise OptionError("Arrow tables and datasets in memory are read by the local engine: give files")
    if not isinstance(engine, str):
        if spark_args:
            raise OptionError("spark_master/spark_partitions/spark_session go to SparkEngine(...), "
                              "or with engine='spark'")
        return engine
    if engine == "local":
        if spark_args:
            raise OptionError("spark_master/spark_partitions/spark_session need engine='spark'")
        from copytrace.engines.local import LocalEngine

        return LocalEngine()
    if engine == "spark":
        from copytrace.engines.spark import SparkEngine

        if spark_partitions is not None and spark_partitions < 1:
            raise OptionError(f"spark_partitions must be at least 1, got {spark_partitions}", param="spark_partitions")
        return SparkEngine(master=spark_master, partitions=spark_partitions, session=spark_session)
    raise OptionError(f"unknown engine {engine!r} (available: local, spark)")


def find(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    *,
    engine: "str | Engine" = "local",
    spark_master: str | None = None,
    spark_partitions: int | None = None,
    spark_session: Any = None,
    **options: Any,
) -> Result:
    """Find the copies in a collection.

    ``inputs``: a directory of .txt/.html files, files (.txt, .jsonl[.gz], .csv,
    .parquet, .warc[.gz], .html) or ``"-"`` for JSONL on stdin; or, read in
    memory without touching the disk, a ``pyarrow.Table``, a
    ``pyarrow.RecordBatchReader`` or a Hugging Face ``datasets.Dataset`` (the
    same field options apply).  ``out``: a directory to write the
    output files into (optional).  ``options``: any field of
    :class:`~copytrace.options.FindOptions` or of
    :class:`~copytrace.stages.read.ReadOptions` (``id_field``, ``text_field`` …).
    ``engine``: an engine object (``copytrace.engines.base.Engine``:
    ``LocalEngine()``, ``SparkEngine(master=..., partitions=..., session=...)``),
    or the shortcuts ``"local"`` (this machine) and ``"spark"`` (the same
    results on Apache Spark: ``spark_master`` a master URL, default the active
    session or ``local[*]``; ``spark_session`` an existing ``SparkSession``;
    ``spark_partitions`` the shuffle partitions); with Spark, inputs may also
    be Hadoop-compatible URIs (``hdfs://``, ``s3a://`` …).
    """
    t_call = time.perf_counter()
    # paths, or one path, Arrow table / reader / datasets.Dataset (stages/arrow_input.py)
    items: list[Any] = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    opts = _split_options(options)
    eng = _engine(engine, items, spark_master, spark_partitions, spark_session)
    with Reporter(enabled=opts.progress) as reporter:
        try:
            output = eng.run(items, opts, reporter)
        except BaseException:
            eng.abort()  # no temporary work directory left behind by a failed run
            raise
        try:
            out_dir = None
            if out is not None:
                out_dir = Path(out)
                # the new set is written aside and swapped in whole (stages.output_set)
                with staged_outputs(out_dir, OUTPUT_FILES) as stage:
                    with reporter.stage("write", total=len(OUTPUT_FILES), unit="files") as bar:
                        write_outputs(output, stage.path, bar, report=opts.report,
                                      dedup_passages=opts.dedup_passages)
                    output.summary["timings_s"] = timings_that_add_up(  # startup + stages + other = total
                        reporter.timings, reporter.started, time.perf_counter(), t_call)
                    written = [n for n in OUTPUT_FILES if (n != "report.html" or opts.report)
                               and (n != DEDUP_PASSAGES_FILE or opts.dedup_passages)]
                    output.summary["outputs"] = {name: str(out_dir / name) for name in written}
                    output.summary["output_guarantee"] = GUARANTEE[stage.mode]
                    write_json(output.summary, stage.path / "summary.json")
            else:
                if output.documents is None:  # no output directory: the documents asked for in memory
                    output.documents = output.documents_table()
                if output.pairs is None:  # the same for the pair tables (Spark: on the executors)
                    output.pairs, output.passages = output.pair_tables()  # type: ignore[attr-defined]
                if output.reuse is None and hasattr(output, "reuse_table"):  # the same for reuse (Spark)
                    output.reuse = output.reuse_table()
                output.summary["timings_s"] = timings_that_add_up(
                    reporter.timings, reporter.started, time.perf_counter(), t_call)
        finally:
            eng.cleanup()
    bp = output.boilerplate.table if output.boilerplate is not None else pa.table(
        {"text": [], "doc_frequency": [], "sources": []}, schema=schemas.BOILERPLATE
    )
    if output.documents is None:  # written as a dataset by the engine (Spark): read on first use
        return DatasetResult(None, output.pairs, output.passages, output.summary, out_dir, bp, output.reuse)
    reuse = output.reuse if output.reuse is not None else schemas.REUSE.empty_table()
    return Result(output.documents, output.pairs, output.passages, output.summary, out_dir, bp, reuse)


def _dedup_records(output: Any) -> Iterable[bytes]:
    """Representatives and singletons, in doc-id order, streamed from the store
    as chunks of JSON lines built from the Arrow columns (``write.jsonl_lines``):
    id, text, source, date, url, title (those set), cluster_id, n_copies."""
    table = output.store.table
    order = output.order
    keep = output.kept_positions()
    cluster_ids = output.documents.column("cluster_id")
    for lo in range(0, keep.shape[0], 5000):
        sel = keep[lo : lo + 5000]
        rows = table.take(pa.array(order[sel], pa.int64()))
        yield dedup_lines(rows, cluster_ids.take(pa.array(sel, pa.int64())),
                          pa.array(output.clusters.size[sel].astype(np.int64)))


def _report_inputs(output: Any) -> tuple[dict[str, str], dict[str, list[tuple[int, int]]]]:
    """Texts of the documents that have copies (one batched read of the store),
    and the boilerplate spans by doc id."""
    n = output.order.shape[0]
    ids_sorted = output.documents.column("doc_id")
    in_clusters = np.flatnonzero(output.clusters.size > 1)
    reuse = getattr(output, "reuse", None)
    if reuse is not None and reuse.num_rows:
        # documents holding reused passages: their positions in doc-id order
        pos = pc.index_in(pc.unique(reuse.column("doc_id")), value_set=ids_sorted).to_numpy(zero_copy_only=False)
        in_clusters = np.union1d(in_clusters, pos.astype(np.int64))
    texts = output.store.texts(output.order[in_clusters]) if in_clusters.shape[0] else []
    by_id = {ids_sorted[int(i)].as_py(): t for i, t in zip(in_clusters, texts, strict=True)}
    spans: dict[str, list[tuple[int, int]]] = {}
    if output.boilerplate is not None:
        for i, sp in output.boilerplate.spans.items():
            if 0 <= i < n:
                spans[ids_sorted[int(i)].as_py()] = sp
    return by_id, spans


def _dedup_passage_records(output: Any) -> Iterable[dict[str, Any]]:
    """Every document in doc-id order, each reused passage cut from all but its
    original occurrence (``stages.reuse.snap_to_sentences``), with the cuts."""
    from copytrace.stages.reuse import removed_spans

    reuse = output.reuse if output.reuse is not None else schemas.REUSE.empty_table()
    spans = removed_spans(reuse)
    table = output.store.table
    order = output.order
    for lo in range(0, order.shape[0], 2000):
        rows = table.take(pa.array(order[lo : lo + 2000], pa.int64())).to_pylist()
        for row in rows:
            yield dedup_passage_record(row, spans.get(row["doc_id"], []))


def write_outputs(output: Any, out_dir: Path, bar: Any = None, report: bool = True,
                  dedup_passages: bool = False) -> None:
    """Write the output files of a run into ``out_dir`` (each atomically).
    ``find`` gives a staging folder here (``stages.output_set``), writes
    summary.json there last, and swaps the whole set into ``--out``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_tables = getattr(output, "write_tables", None)
    if write_tables is not None:  # an engine whose tables are datasets written where the rows are (Spark)
        write_tables(out_dir)
    else:
        write_parquet(output.documents, out_dir / "documents.parquet", schemas.documents_schema(output.documents))
        write_parquet(output.pairs, out_dir / "pairs.parquet", schemas.PAIRS)
        write_parquet(output.passages, out_dir / "passages.parquet", schemas.PASSAGES)
        reuse = getattr(output, "reuse", None)
        write_parquet(reuse if reuse is not None else schemas.REUSE.empty_table(), out_dir / "reuse.parquet",
                      schemas.REUSE)
        bp = output.boilerplate.table if output.boilerplate is not None else pa.table(
            {"text": [], "doc_frequency": [], "sources": []}, schema=schemas.BOILERPLATE
        )
        write_parquet(bp, out_dir / "boilerplate.parquet", schemas.BOILERPLATE)
    if bar is not None:
        bar.advance(5)
    # an engine that makes the lines where the texts are (Spark: on the executors) writes them itself
    write_corpus = getattr(output, "write_corpus", None)
    if write_corpus is not None:
        write_corpus(out_dir / "deduplicated.jsonl", passages=False)
    else:
        write_jsonl_bytes(_dedup_records(output), out_dir / "deduplicated.jsonl")
    if dedup_passages:
        if write_corpus is not None:
            write_corpus(out_dir / DEDUP_PASSAGES_FILE, passages=True)
        else:
            write_jsonl(_dedup_passage_records(output), out_dir / DEDUP_PASSAGES_FILE)
    elif (out_dir / DEDUP_PASSAGES_FILE).exists():
        (out_dir / DEDUP_PASSAGES_FILE).unlink()  # a stale file would describe another run
    if bar is not None:
        bar.advance(1)
    if report:
        from copytrace.report.html import write_report

        view = getattr(output, "report_view", None)
        pairs, passages = output.pairs, output.passages
        if view is not None:  # documents on the executors: the clusters shown, bounded (Spark)
            documents, texts, spans, totals, note = view()
            reuse = output.report_reuse  # the reuse rows shown (bounded, as the clusters are)
            if pairs is None:  # pairs on the executors too: those of the clusters shown
                pairs, passages = output.report_pairs(documents, out_dir if write_tables is not None else None)
        else:
            documents, totals, note = output.documents, None, None
            texts, spans = _report_inputs(output)
            reuse = getattr(output, "reuse", None)
        write_report(
            out_dir / "report.html", documents, pairs, passages, texts,
            output.summary, boilerplate=spans, reuse=reuse, totals=totals, note=note,
        )
    if bar is not None:
        bar.advance(1)


@dataclass
class Comparison:
    """Two texts compared: shingle measures, aligned passages, and what each has alone."""

    similarity: float
    jaccard: float
    containment_a_in_b: float
    containment_b_in_a: float
    passages: list[Passage]
    only_in_a: list[tuple[int, int]]
    only_in_b: list[tuple[int, int]]
    text_a: str = field(repr=False, default="")
    text_b: str = field(repr=False, default="")
    threshold: float = 0.5
    explanation: str = ""  # the rule's verdict in one line (``rule.explain``)
    encodings: tuple[str | None, str | None] = field(repr=False, default=(None, None))  # files' encodings

    def is_copy(self, threshold: float | None = None) -> bool:
        """The rule's verdict (``stages.rule``) at ``threshold`` (default: the comparison's)."""
        return self.similarity >= (self.threshold if threshold is None else threshold) - 1e-12

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form, exactly as documented."""
        return {
            "similarity": self.similarity,
            "jaccard": self.jaccard,
            "containment_a_in_b": self.containment_a_in_b,
            "containment_b_in_a": self.containment_b_in_a,
            "passages": [
                {
                    "a_start": p.a_start,
                    "a_end": p.a_end,
                    "b_start": p.b_start,
                    "b_end": p.b_end,
                    "kind": p.kind,
                    "score": p.score,
                }
                for p in self.passages
            ],
            "only_in_a": [[s, e] for s, e in self.only_in_a],
            "only_in_b": [[s, e] for s, e in self.only_in_b],
            "verdict": "copies" if self.is_copy() else "not copies",
            "threshold": self.threshold,
            "explanation": self.explanation,
        }


def _as_text(x: str | os.PathLike, encoding: str) -> tuple[str, str | None]:
    """The text, and the encoding it was decoded from (None for a str)."""
    if isinstance(x, os.PathLike):
        return decode_text_file(x, encoding)
    return x, None


def compare(
    a: str | os.PathLike,
    b: str | os.PathLike,
    *,
    ngram: int = FingerprintConfig.ngram,
    threshold: float = FingerprintConfig.threshold,
    align_options: AlignOptions | None = None,
    encoding: str = "auto",
) -> Comparison:
    """Compare two texts (``str``) or files (``pathlib.Path``); the verdict is
    ``stages.rule`` at ``threshold`` — the same rule as ``find`` and the index.
    Files are decoded with ``encoding`` (``auto``: UTF-8 when valid, else
    detected); ``Comparison.encodings`` says which was used."""
    check_value(FingerprintConfig, "ngram", ngram)
    check_value(FingerprintConfig, "threshold", threshold)
    (text_a, enc_a), (text_b, enc_b) = _as_text(a, encoding), _as_text(b, encoding)
    ta, tb = tokenize(text_a), tokenize(text_b)
    sa, sb = shingles(ta, ngram), shingles(tb, ngram)
    jac, cab, cba = set_stats(sa, sb)
    shared = int(np.intersect1d(sa, sb, assume_unique=True).shape[0])
    al = align(text_a, text_b, align_options, tokens_a=ta, tokens_b=tb)
    aligned, agreement = rule.aligned_evidence(text_a, ta, text_b, tb, al)
    d = rule.decide(jac, cab, cba, shared, threshold, ngram, aligned, agreement,
                    word_cont=rule.word_containment(ta, tb))
    return Comparison(
        similarity=round(float(d.similarity), 6),
        jaccard=round(float(jac), 6),
        containment_a_in_b=round(float(cab), 6),
        containment_b_in_a=round(float(cba), 6),
        passages=list(al.passages),
        only_in_a=[(int(s), int(e)) for s, e in al.only_in_a],
        only_in_b=[(int(s), int(e)) for s, e in al.only_in_b],
        text_a=text_a,
        text_b=text_b,
        threshold=threshold,
        explanation=rule.explain(d, ngram),
        encodings=(enc_a, enc_b),
    )
