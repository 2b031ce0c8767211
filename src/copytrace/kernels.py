"""Compiled kernels: say so when a run is about to compile them.

numba compiles each ``@njit(cache=True)`` kernel on its first call and keeps
the machine code in its cache (``__pycache__`` beside the code, or
``NUMBA_CACHE_DIR``; ``copytrace/__init__`` picks a temporary folder when
neither is writable), so only the first run after an install or an upgrade
pays for it — tens of seconds on a small machine, with nothing else on
screen.  ``announce_compilation`` prints ``compiling kernels (first run
only)`` on a terminal when the kernels every run of a command uses have no
valid cache entry (missing index, or an index written for another version of
the source).

Data contract: ``FIND`` and ``COMPARE`` list ``(module, kernel name)``;
``needs_compiling(kernels) -> bool``; ``announce_compilation(kernels,
enabled) -> bool`` (whether it printed).  Both never raise: on any surprise
from numba's cache internals they answer False (no message).
"""

from __future__ import annotations

import importlib
import sys
from typing import Sequence

__all__ = ["FIND", "COMPARE", "MESSAGE", "needs_compiling", "announce_compilation"]

MESSAGE = "compiling kernels (first run only)"

# the kernels each command always runs (a sample: their cache state is the install's)
FIND: tuple[tuple[str, str], ...] = (
    ("copytrace.stages.normalize", "_tokenize_kernel"),
    ("copytrace.stages.fingerprint", "_fingerprint_kernel"),
    ("copytrace.stages.verify", "pair_stats_kernel"),
)
COMPARE: tuple[tuple[str, str], ...] = (
    ("copytrace.stages.normalize", "_tokenize_kernel"),
    ("copytrace.stages.align", "_stem_kernel"),
    ("copytrace.stages.align", "_extend_kernel"),
)


def needs_compiling(kernels: Sequence[tuple[str, str]]) -> bool:
    """True when one of ``kernels`` has no valid entry in numba's on-disk cache."""
    try:
        for module, name in kernels:
            disp = getattr(importlib.import_module(module), name)
            cache = getattr(disp, "_cache", None)
            cache_file = getattr(cache, "_cache_file", None)
            if cache_file is None:  # caching off for it: every run compiles
                return True
            if not cache_file._load_index():  # missing, or stale (the source changed)
                return True
    except Exception:  # numba's cache internals are private: never fail a run over a message
        return False
    return False


def announce_compilation(kernels: Sequence[tuple[str, str]], enabled: bool = True) -> bool:
    """Print :data:`MESSAGE` on stderr when ``enabled``, stderr is a terminal and
    ``kernels`` will be compiled; return whether it printed."""
    if not enabled or not sys.stderr.isatty() or not needs_compiling(kernels):
        return False
    print(f"copytrace: {MESSAGE}…", file=sys.stderr, flush=True)
    return True


def cheap_blas_probe() -> None:
    """Spare a command the 0.2–0.8 s of importing ``scipy.linalg`` at numba's first use.

    When numba's CPU target first loads a kernel, it imports
    ``numba.np.arraymath``, which asks whether BLAS is there by importing
    ``scipy.linalg.cython_blas`` — all of ``scipy.linalg`` — only to choose
    how ``np.convolve``-style inner products compile (copytrace's kernels use
    none).  This imports ``numba.np.arraymath`` with that question answered
    by looking for the extension module's file instead: the same answer
    where scipy is installed whole.  Compiling a BLAS call later still
    imports scipy and checks it for real.  Nothing happens once numba's
    arraymath is imported, or on any surprise from numba's internals.
    """
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        import importlib.machinery
        import importlib.util
        import os

        import numba.np.linalg as linalg

        spec = importlib.util.find_spec("scipy")  # finds, imports nothing
        found = False
        if spec is not None and spec.submodule_search_locations:
            folder = os.path.join(list(spec.submodule_search_locations)[0], "linalg")
            found = any(os.path.isfile(os.path.join(folder, "cython_blas" + suffix))
                        for suffix in importlib.machinery.EXTENSION_SUFFIXES)
        if not found:
            return  # numba's own probe answers (quickly: there is no scipy.linalg to import)
        original = linalg.ensure_blas
        linalg.ensure_blas = lambda: None
        try:
            import numba.np.arraymath  # noqa: F401  # its import-time probe now sees BLAS there
        finally:
            linalg.ensure_blas = original
    except Exception:
        return
