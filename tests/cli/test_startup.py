"""Start-up: commands import only what they need; the first-run message; the numba cache fallback."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

from copytrace import _numba_cache_dir
from copytrace.kernels import MESSAGE
from helpers import make_copy, make_story, write_jsonl

SEEDS = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "examples" / "seeds").glob("*.txt"))

HEAVY = ("duckdb", "pyspark", "pandas", "fastapi", "uvicorn", "pyarrow.parquet", "pyarrow.dataset")


def _modules_after(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded by a `copytrace` command run in a fresh interpreter."""
    script = (
        "import sys\n"
        "from copytrace.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stderr.split())


def test_help_imports_no_numerics() -> None:
    mods = _modules_after(["--help"])
    assert "click" in mods  # the command really ran
    assert not {m for m in mods if m.split(".")[0] in ("numpy", "numba", "pyarrow", "duckdb", "rich", "pandas",
                                                       "pyspark")}


def test_compare_imports_no_storage_or_services() -> None:
    mods = _modules_after(["compare", *SEEDS, "--json"])
    assert "copytrace.stages.align" in mods
    assert not mods & set(HEAVY), mods & set(HEAVY)
    assert "pyarrow" not in mods  # compare writes no tables
    assert "copytrace.engines.local" not in mods
    assert "scipy.linalg" not in mods  # kernels.cheap_blas_probe


def test_compare_of_short_texts_imports_no_numba() -> None:
    # by default, kernels run interpreted on tiny inputs: two short texts need no compiler
    env = {k: v for k, v in os.environ.items() if k != "COPYTRACE_INTERPRET_MAX"}
    mods = _modules_after(["compare", *SEEDS, "--json"], env)
    assert "copytrace.stages.align" in mods
    assert not {m for m in mods if m.split(".")[0] in ("numba", "llvmlite")}


def test_find_needs_no_duckdb_spark_or_services_in_core(tmp_path: Path) -> None:
    mods = _modules_after(["find", SEEDS[0], SEEDS[1], "--out", str(tmp_path / "out"), "-q"])
    assert (tmp_path / "out" / "summary.json").is_file()
    # pandas too: pyarrow would import it on its first conversion of a Python list (cli_common.arrow_without_pandas)
    assert not mods & {"duckdb", "pyspark", "pandas", "fastapi", "uvicorn"}, mods & {"duckdb", "pyspark", "pandas"}


def test_find_of_two_short_texts_imports_no_numba(tmp_path: Path) -> None:
    # every kernel runs interpreted on the seeds (the LSH bucket kernel's output buffers are not
    # work), and numba's thread count waits for a compiled kernel
    env = {k: v for k, v in os.environ.items() if k != "COPYTRACE_INTERPRET_MAX"}
    mods = _modules_after(["find", *SEEDS, "--out", str(tmp_path / "out"), "-q"], env)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["counts"]["verified_pairs"] == 1
    assert not {m for m in mods if m.split(".")[0] in ("numba", "llvmlite")}


def test_threads_asked_before_numba_is_imported_apply_at_the_first_compiled_call() -> None:
    code = ("import sys, numpy as np\nfrom copytrace.kernels import use_threads\n"
            "from copytrace.stages.cluster import _union_find\n"
            "use_threads(1)\nassert 'numba' not in sys.modules\n"
            "_union_find(4, np.array([0, 2], np.int64), np.array([1, 3], np.int64))\n"
            "import numba\nprint(numba.get_num_threads())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COPYTRACE_INTERPRET_MAX": "0"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1"]


def test_after_find_blocks_it_pandas_still_converts() -> None:
    # the first-conversion check is skipped, pandas itself is not: an explicit conversion imports it
    code = ("import sys\nfrom copytrace.cli_common import arrow_without_pandas\narrow_without_pandas()\n"
            "import pyarrow as pa\nassert 'pandas' not in sys.modules\npa.array(['a', None])\n"
            "assert 'pandas' not in sys.modules\n"
            "import pandas as pd\nprint(pa.table({'a': [1, 2]}).to_pandas()['a'].sum(), "
            "pa.Table.from_pandas(pd.DataFrame({'x': [3]})).column('x').to_pylist())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "[3]"]


def _on_a_terminal(code: str, env: dict[str, str]) -> tuple[str, str]:
    """Run ``code`` with stderr on a pseudo-terminal: (stdout, what the terminal showed)."""
    import pty

    leader, follower = pty.openpty()
    try:
        tty = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=follower, text=True,
                             env=env, timeout=300)
        os.close(follower)
        follower = -1
        said = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert tty.returncode == 0, said.decode()
    return tty.stdout, said.decode()


# one small kernel, called on arrays of 5,000 elements after the note is armed
_UNION_FIND = (
    "import numpy as np\n"
    "from copytrace.kernels import announce_compilation, needs_compiling\n"
    "from copytrace.stages.cluster import _union_find\n"
    "K = [('copytrace.stages.cluster', '_union_find')]\n"
    "before = needs_compiling(K)\n"
    "armed = announce_compilation()\n"
    "roots = _union_find(5000, np.arange(2500, dtype=np.int64), np.arange(2500, 5000, dtype=np.int64))\n"
    "print(before, armed, needs_compiling(K), int(roots[4999]))\n"
)


def test_first_run_message_only_on_a_terminal_and_only_when_a_kernel_compiles(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "COPYTRACE_INTERPRET_MAX": "1000"}
    # piped: it compiles (empty cache), but stderr is no terminal
    piped = subprocess.run([sys.executable, "-c", _UNION_FIND], capture_output=True, text=True,
                           env={**env, "NUMBA_CACHE_DIR": str(tmp_path / "numba-piped")}, timeout=300)
    assert piped.returncode == 0, piped.stderr
    # needs compiling before (empty cache), not once compiled into the cache, no note armed
    assert piped.stdout.split()[:3] == ["True", "False", "False"]
    assert MESSAGE not in piped.stderr
    # on a terminal with an empty cache: said once, before compiling
    out, said = _on_a_terminal(_UNION_FIND, env)
    assert out.split()[:3] == ["True", "True", "False"]
    assert said.count(MESSAGE) == 1
    # the second run loads the kernel from the cache: nothing said
    out, said = _on_a_terminal(_UNION_FIND, env)
    assert out.split()[:3] == ["False", "True", "False"]
    assert MESSAGE not in said
    # a tiny input is interpreted: nothing compiles, nothing is said (empty cache again)
    out, said = _on_a_terminal(_UNION_FIND, {**env, "COPYTRACE_INTERPRET_MAX": "100000",
                                             "NUMBA_CACHE_DIR": str(tmp_path / "numba-tiny")})
    assert MESSAGE not in said
    assert not any((tmp_path / "numba-tiny").rglob("*.nbi"))


def _strip_timings(text: str) -> str:
    return re.sub(r'"(startup|read|normalize|fingerprint|boilerplate|candidates|verify|align|rule|cluster|reuse|'
                  r'write|other|total)": ?[0-9.e-]+', r'"\1": 0', text)


def _outputs(out: Path) -> dict[str, bytes]:
    files = {}
    for f in sorted(out.iterdir()):
        data = f.read_bytes()
        if f.suffix in (".json", ".html"):  # all but the seconds each stage took
            data = _strip_timings(data.decode()).encode()
        files[f.name] = data
    return files


def test_interpreted_kernels_write_the_same_outputs_as_compiled_ones(tmp_path: Path) -> None:
    # the seeds and a small corpus with copies, boilerplate and passages: every kernel of find runs
    rng = random.Random(3)
    story = make_story(rng)
    docs = [{"id": f"d{i}", "text": make_copy(rng, story)} for i in range(4)]
    docs += [{"id": f"u{i}", "text": make_story(rng, n_sentences=4)} for i in range(3)]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", docs)
    runs = {}
    for mode, limit in (("compiled", "0"), ("interpreted", str(10**9))):
        env = {**os.environ, "COPYTRACE_INTERPRET_MAX": limit}
        out = tmp_path / "out"  # one path for both (summary.json names it)
        proc = subprocess.run([sys.executable, "-m", "copytrace.cli", "find", *SEEDS, str(corpus), "--out", str(out),
                               "-q", "--seed", "7"], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        cmp = subprocess.run([sys.executable, "-m", "copytrace.cli", "compare", *SEEDS, "--json"],
                             capture_output=True, text=True, env=env, timeout=300)
        assert cmp.returncode == 0, cmp.stderr
        runs[mode] = (_outputs(out), cmp.stdout)
        shutil.rmtree(out)
    compiled, interpreted = runs["compiled"], runs["interpreted"]
    assert json.loads(compiled[0]["summary.json"])["counts"]["passages"] > 0
    assert sorted(compiled[0]) == sorted(interpreted[0])
    for name in compiled[0]:
        assert compiled[0][name] == interpreted[0][name], name
    assert json.loads(compiled[1])["passages"] and compiled[1] == interpreted[1]


def test_a_bad_interpret_limit_is_a_clear_error() -> None:
    code = ("import numpy as np\nfrom copytrace.stages.cluster import _union_find\n"
            "_union_find(2, np.zeros(1, np.int64), np.ones(1, np.int64))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COPYTRACE_INTERPRET_MAX": "lots"})
    assert proc.returncode != 0
    assert "COPYTRACE_INTERPRET_MAX='lots'" in proc.stderr


def test_numba_cache_falls_back_to_a_temporary_folder_when_nothing_is_writable(tmp_path: Path) -> None:
    blocked = "/dev/null/cannot"  # below a file: no one can create it, not even root
    assert _numba_cache_dir(None, blocked, blocked + "2", str(tmp_path)) is not None
    assert _numba_cache_dir(None, blocked, blocked + "2", str(tmp_path)).startswith(str(tmp_path))
    # any writable choice is left to numba (its own order: NUMBA_CACHE_DIR, __pycache__, ~/.cache)
    assert _numba_cache_dir(str(tmp_path / "mine"), blocked, blocked, "/tmp") is None
    assert _numba_cache_dir(None, str(tmp_path / "tree"), blocked, "/tmp") is None
    assert _numba_cache_dir(blocked, blocked, str(tmp_path / "home"), "/tmp") is None


def test_cheap_blas_probe_gives_numbas_answer_without_importing_scipy_linalg() -> None:
    def ask(code: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    report = "import sys, numba.np.arraymath as am; print(am._HAVE_BLAS, 'scipy.linalg' in sys.modules)"
    own = ask(report)  # numba's own probe imports scipy.linalg
    cheap = ask("from copytrace.kernels import cheap_blas_probe; cheap_blas_probe(); " + report)
    assert cheap[0] == own[0]
    if own[0] == "True":
        assert cheap[1] == "False"


def test_no_kernel_is_compiled_at_import(tmp_path: Path) -> None:
    # each kernel compiles (or loads from the cache) on its first call, not when its module loads
    code = (
        "import sys\n"
        "import copytrace.api, copytrace.engines.local, copytrace.stages.boilerplate, copytrace.stages.buckets\n"
        "from copytrace.kernels import Kernel\n"
        "n_kernels, compiled = 0, []\n"
        "for m in list(sys.modules.values()):\n"
        "    if getattr(m, '__name__', '').startswith('copytrace'):\n"
        "        for v in vars(m).values():\n"
        "            if isinstance(v, Kernel):\n"
        "                n_kernels += 1\n"
        "                if v._dispatcher is not None and v._dispatcher.signatures:\n"
        "                    compiled.append(v.py_func.__name__)\n"
        "print(n_kernels, ','.join(compiled) or '-')\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    n_kernels, compiled = proc.stdout.split()
    assert int(n_kernels) > 10  # the kernels were seen
    assert compiled == "-"
    assert not any((tmp_path / "numba").rglob("*.nbi"))  # and nothing was written to the cache


def test_every_kernel_is_declared_with_copytraces_njit() -> None:
    # a plain numba.njit kernel would compile even on tiny inputs, and could not call
    # copytrace's kernels before one of them compiled (numba would not know their type yet)
    src = Path(__file__).resolve().parents[2] / "src" / "copytrace"
    plain = re.compile(r"^\s*@(?:nb|numba)\.(?:njit|jit)\b|^\s*from numba import .*\b(?:njit|jit)\b", re.M)
    found = [str(p.relative_to(src)) for p in sorted(src.rglob("*.py")) if plain.search(p.read_text())]
    assert not found, f"use copytrace.kernels.njit in {found}"
