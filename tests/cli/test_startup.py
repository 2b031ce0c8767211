"""Start-up: commands import only what they need; the first-run message; the numba cache fallback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from copytrace import _numba_cache_dir
from copytrace.kernels import MESSAGE

SEEDS = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "examples" / "seeds").glob("*.txt"))

HEAVY = ("duckdb", "pyspark", "pandas", "fastapi", "uvicorn", "pyarrow.parquet", "pyarrow.dataset")


def _modules_after(args: list[str]) -> set[str]:
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
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stderr.split())


def test_help_imports_no_numerics() -> None:
    mods = _modules_after(["--help"])
    assert "click" in mods  # the command really ran
    assert not {m for m in mods if m.split(".")[0] in ("numpy", "numba", "pyarrow", "duckdb", "rich")}


def test_compare_imports_no_storage_or_services() -> None:
    mods = _modules_after(["compare", *SEEDS, "--json"])
    assert "copytrace.stages.align" in mods
    assert not mods & set(HEAVY), mods & set(HEAVY)
    assert "pyarrow" not in mods  # compare writes no tables
    assert "copytrace.engines.local" not in mods
    assert "scipy.linalg" not in mods  # kernels.cheap_blas_probe


def test_find_needs_no_duckdb_spark_or_services_in_core(tmp_path: Path) -> None:
    mods = _modules_after(["find", SEEDS[0], SEEDS[1], "--out", str(tmp_path / "out"), "-q"])
    assert (tmp_path / "out" / "summary.json").is_file()
    # (pandas: pyarrow's C++ imports it on the first conversion of Python objects, whenever installed)
    assert not mods & {"duckdb", "pyspark", "fastapi", "uvicorn"}, mods & {"duckdb", "pyspark", "fastapi", "uvicorn"}


def test_first_run_message_only_on_a_terminal_and_only_when_kernels_are_missing(tmp_path: Path) -> None:
    # an empty cache folder: the kernels would be compiled. The message goes to a terminal only.
    code = (
        "import sys\n"
        "from copytrace.kernels import FIND, announce_compilation, needs_compiling\n"
        "print(needs_compiling(FIND), announce_compilation(FIND), file=sys.stdout)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.split() == ["True", "False"]  # would compile, but stderr is no terminal
    assert MESSAGE not in piped.stderr

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
    assert tty.returncode == 0
    assert tty.stdout.split() == ["True", "True"]
    assert MESSAGE in said.decode()


def test_the_message_is_not_shown_once_a_kernel_is_cached(tmp_path: Path) -> None:
    # compile one small kernel into an empty cache: it no longer "needs compiling"
    code = (
        "from copytrace.kernels import needs_compiling\n"
        "K = [('copytrace.stages.cluster', '_union_find')]\n"
        "before = needs_compiling(K)\n"
        "import numpy as np\n"
        "from copytrace.stages.cluster import _union_find\n"
        "_union_find(3, np.array([0], np.int64), np.array([1], np.int64))\n"
        "print(before, needs_compiling(K))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"]


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
        "from numba.core.registry import CPUDispatcher\n"
        "n_kernels, compiled = 0, []\n"
        "for m in list(sys.modules.values()):\n"
        "    if getattr(m, '__name__', '').startswith('copytrace'):\n"
        "        for v in vars(m).values():\n"
        "            if isinstance(v, CPUDispatcher):\n"
        "                n_kernels += 1\n"
        "                if v.signatures:\n"
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
