"""What the tests share: the repository's paths, generated corpora with known copies (no
external data), and the two ways to run a `copytrace` command (in-process, or in a fresh
interpreter).  Test modules import it as ``from helpers import ...`` (tests/ is on sys.path:
conftest.py lives there); fixtures stay in conftest.py."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "examples" / "seeds"
SHARED_DATA = REPO.parent / "shared" / "data"

_VOCAB = None


def vocab() -> list[str]:
    global _VOCAB
    if _VOCAB is None:
        rng = random.Random(1234)
        letters = "abcdefghijklmnopqrstuvwxyz"
        _VOCAB = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(6000)})
    return _VOCAB


def make_story(rng: random.Random, n_sentences: int = 12) -> str:
    v = vocab()
    sents = []
    for _ in range(n_sentences):
        words = [rng.choice(v) for _ in range(rng.randint(12, 24))]
        sents.append(" ".join(words).capitalize() + ".")
    return "\n\n".join(" ".join(sents[i : i + 3]) for i in range(0, len(sents), 3))


def make_copy(rng: random.Random, story: str, edit: float = 0.05) -> str:
    """A reprint: some words swapped, a site name on top, maybe truncated."""
    v = vocab()
    words = story.split(" ")
    for i in range(len(words)):
        if rng.random() < edit:
            words[i] = rng.choice(v)
    text = " ".join(words)
    if rng.random() < 0.3:
        paras = text.split("\n\n")
        text = "\n\n".join(paras[: max(2, len(paras) - 1)])
    return f"Site {rng.randint(1, 9)} News\n\n{text}"


def make_footer_corpus(n_stories: int = 150, n_reprints: int = 8, seed: int = 5):
    """One source's short, distinct stories (~90 words), each followed by the
    same ~300-word footer, plus a wire story reprinted verbatim by
    ``n_reprints`` other sources.  Returns (docs: list[dict(id, text,
    source)], footer, wire)."""
    rng = random.Random(seed)
    footer = make_story(rng, n_sentences=17)
    wire = make_story(rng, n_sentences=12)
    docs = [{"id": f"gazette{i:03d}", "text": f"{make_story(rng, n_sentences=5)}\n\n{footer}",
             "source": "The Gazette"} for i in range(n_stories)]
    docs += [{"id": f"wire{i}", "text": wire, "source": f"Site {i}"} for i in range(n_reprints)]
    return docs, footer, wire


def make_corpus(n_stories: int = 8, copies: int = 3, uniques: int = 10, seed: int = 0):
    """Returns (docs: list[dict(id, text)], truth: dict[id -> story])."""
    rng = random.Random(seed)
    docs, truth = [], {}
    for s in range(n_stories):
        story = make_story(rng)
        sid = f"story{s:03d}"
        docs.append({"id": f"{sid}-orig", "text": story})
        truth[f"{sid}-orig"] = sid
        for c in range(copies):
            did = f"{sid}-copy{c}"
            docs.append({"id": did, "text": make_copy(rng, story)})
            truth[did] = sid
    for u in range(uniques):
        did = f"unique{u:03d}"
        docs.append({"id": did, "text": make_story(rng)})
        truth[did] = did
    rng.shuffle(docs)
    return docs, truth


def write_jsonl(path: Path, docs) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


def run_cli(*args: str, input: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m copytrace.cli ARGS` in a fresh interpreter: for the tests about the
    process itself (the installed entry point, start-up, timings from the process
    start, a Spark session of its own).  Each call pays an interpreter's start and
    the imports (seconds on a loaded 2-core machine): prefer ``invoke_cli``."""
    return subprocess.run(
        [sys.executable, "-m", "copytrace.cli", *args],
        input=input,
        capture_output=True,
        cwd=cwd,
        timeout=300,
    )


def invoke_cli(*args: str, input: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`copytrace ARGS` run in this process through click's test runner (the same
    command objects, options and error handling as the installed command, without
    a new interpreter's start-up and imports per call).  Returns what
    ``run_cli`` returns: returncode, stdout and stderr as bytes.  An
    exception that escapes the command (a bug: the CLI turns every error into one
    line) is appended to stderr as the traceback a real process would print."""
    import traceback

    from click.testing import CliRunner

    from copytrace.cli import main

    runner = CliRunner()
    here = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(main, list(args), input=input, catch_exceptions=True)
    finally:
        os.chdir(here)
    stderr = result.stderr_bytes or b""
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception)).encode()
        stderr += tb
        code = code or 1
    return subprocess.CompletedProcess(["copytrace", *args], code, result.stdout_bytes, stderr)


KEY = "s3cret-key"  # the API key the test servers are started with


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, *args: str, key: str = KEY) -> tuple[subprocess.Popen, str]:
    """`copytrace serve DB ARGS` on a free loopback port (writes need ``key``); waits for /health."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "copytrace.cli", "serve", str(db), "--port", str(port), *args],
        env={**os.environ, "COPYTRACE_API_KEY": key}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("server did not start:\n" + proc.stdout.read().decode(errors="replace"))
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


APPEAL = (
    "Your support helps us to tell the story. Your donation allows us to keep sending reporters. "
    "We believe quality journalism should be available to everyone. Your support makes all the difference."
)


def make_mixed_corpus(root: Path) -> list[Path]:
    """Two JSONL files and a folder of .txt files with: reprints with edits,
    a 3-level chain (a copy of a copy of a copy), exact duplicates, an id
    present in both JSONL files (the first wins), empty and whitespace
    texts, a broken line, and one site's appeal pasted into its stories."""
    rng = random.Random(11)
    a, b = [], []
    stories = []
    for s in range(6):
        story = make_story(rng, n_sentences=10)
        stories.append(story)
        a.append({"id": f"s{s}-orig", "text": story, "source": "wire", "date": f"2024-01-{s + 1:02d}"})
        for c in range(2):
            b.append({"id": f"s{s}-copy{c}", "text": make_copy(rng, story), "source": f"site{c}",
                      "date": f"2024-01-{s + 2:02d}"})
    # a page holding three of the stories (reuse clusters; it must not chain them)
    b.append({"id": "page", "text": "THE HERALD\n\n" + "\n\n".join(stories[:3]), "source": "herald",
              "date": "2024-01-20"})
    chain = make_story(rng, n_sentences=14)
    prev = chain
    a.append({"id": "chain0", "text": chain, "source": "wire"})
    for level in range(1, 4):
        prev = make_copy(rng, prev, edit=0.08)
        b.append({"id": f"chain{level}", "text": prev, "source": f"site{level}"})
    for i in range(8):  # the site's appeal after different stories
        story = make_story(rng, n_sentences=8)
        head = story.split(".")[0] + "."
        a.append({"id": f"indy{i}", "text": f"{head}\n{APPEAL}\n{story}", "source": "The Independent"})
    exact = make_story(rng)
    a.append({"id": "exact-1", "text": exact})
    b.append({"id": "exact-2", "text": exact})
    b.append({"id": "s0-orig", "text": make_story(rng)})  # same id as in a: skipped as duplicate_id
    for i in range(10):
        a.append({"id": f"unique{i}", "text": make_story(rng)})
    a.append({"id": "empty", "text": ""})
    a.append({"id": "blank", "text": "   \n "})
    a.append({"id": "no-words", "text": "— … !!! ???"})
    fa = write_jsonl(root / "a.jsonl", a)
    fb = write_jsonl(root / "b.jsonl", b)
    with fb.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    txt = root / "txt"
    txt.mkdir()
    (txt / "exact-3.txt").write_text(exact, encoding="utf-8")
    (txt / "seed-a.txt").write_text(sorted(SEEDS.glob("000_*.txt"))[0].read_text(encoding="utf-8"),
                                    encoding="utf-8")
    (txt / "seed-b.txt").write_text(sorted(SEEDS.glob("001_*.txt"))[0].read_text(encoding="utf-8"),
                                    encoding="utf-8")
    # read alike by both engines: a legacy encoding, a named pipe, a file of an unknown format
    (txt / "legacy.txt").write_bytes(("Café, naïve façade — déjà vu. " + make_story(rng)).encode("cp1252"))
    os.mkfifo(txt / "pipe.txt")
    (txt / "notes.sgm").write_text("<REUTERS/>", encoding="utf-8")
    return [fa, fb, txt]


ENGINES = ("local", "spark")


def _seeds(root: Path) -> tuple[list[Any], dict]:
    return [SEEDS], {}


def _syndication(root: Path) -> tuple[list[Any], dict]:
    docs, _ = make_corpus(n_stories=8, copies=3, uniques=10, seed=0)
    return [write_jsonl(root / "syndication.jsonl", docs)], {"report": False}


def _footer(root: Path) -> tuple[list[Any], dict]:
    docs, _, _ = make_footer_corpus(n_stories=40, n_reprints=5)
    return [write_jsonl(root / "footer.jsonl", docs)], {"source_field": "source", "align": False, "report": False}


def _mixed(root: Path) -> tuple[list[Any], dict]:
    return make_mixed_corpus(root), dict(threshold=0.3, boilerplate_min_docs=4, source_field="source",
                                         date_field="date", dedup_passages=True)


def _filters(root: Path) -> tuple[list[Any], dict]:
    return make_mixed_corpus(root), dict(threshold=0.3, date_field="date", source_field="source",
                                         pairs_within=1.5, pairs="across-sources", report=False)


# The engine-conformance corpora (tests/engines/conftest.py runs each once per engine).
# corpus name → (root → (inputs, find options)); progress is always off
CORPORA: dict[str, Callable[[Path], tuple[list[Any], dict]]] = {
    "seeds": _seeds,  # the two example seeds, with the defaults
    "syndication": _syndication,  # generated stories with edited copies and uniques (truth known)
    "footer": _footer,  # a long footer under short stories (the long-block boilerplate rule)
    "mixed": _mixed,  # several files and formats, bad lines, chains, a page of stories, site boilerplate
    "filters": _filters,  # the mixed corpus with --pairs-within and --pairs across-sources
}

# The corpus whose Spark run takes its inputs as file:// URIs (the first and the third; the
# second a plain path), listed through Hadoop's FileSystem (the path hdfs:// and s3a:// inputs
# take): test_spark.py's URI claims and the conformance claims share that one run.
URI_CORPUS = "filters"


def as_uris(inputs: list[Any]) -> list[str]:
    """``inputs`` as the URI corpus's Spark run gives them."""
    return [Path(inputs[0]).resolve().as_uri(), str(inputs[1]), *(Path(i).resolve().as_uri() for i in inputs[2:])]


class ResultSpy:
    """Counts the rows of every result a Spark job hands the driver (DataFrame.collect,
    toArrow, toPandas, toLocalIterator, take/head/first, RDD.collect): pyspark's own
    methods, called through."""

    def __init__(self, monkeypatch: Any, spark: Any) -> None:
        from pyspark import RDD

        DataFrame = type(spark.range(1))  # the session's DataFrame class (pyspark.sql.classic's)

        self.sizes: list[tuple[str, int]] = []
        for cls, name, size in ((DataFrame, "collect", len), (DataFrame, "toArrow", lambda t: t.num_rows),
                                (DataFrame, "toPandas", len), (DataFrame, "take", len), (RDD, "collect", len)):
            monkeypatch.setattr(cls, name, self._wrap(getattr(cls, name), name, size))
        monkeypatch.setattr(DataFrame, "toLocalIterator", self._iterator(DataFrame.toLocalIterator))

    def _wrap(self, fn, name, size):
        def spied(*args, **kwargs):
            out = fn(*args, **kwargs)
            self.sizes.append((name, size(out)))
            return out

        return spied

    def _iterator(self, fn):
        def spied(*args, **kwargs):
            rows = list(fn(*args, **kwargs))
            self.sizes.append(("toLocalIterator", len(rows)))
            return iter(rows)

        return spied
