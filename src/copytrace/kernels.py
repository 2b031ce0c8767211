"""Compiled kernels: compiled on first use, interpreted on tiny inputs, and the
first-run note.

Every kernel in ``copytrace.stages`` is written once, as plain Python over
numpy arrays, and decorated with :func:`njit` (this module's, not numba's).
That gives a :class:`Kernel`, called like the function, which runs it one of
two ways with the same results:

* **compiled** (the normal case): numba's ``@njit(cache=True, …)`` with the
  options given, created on the kernel's first compiled call, so a command
  imports numba only when it really runs a compiled kernel (``compare`` of two
  short texts never does).  numba compiles each kernel on its first call and
  keeps the machine code in its cache (``__pycache__`` beside the code, or
  ``NUMBA_CACHE_DIR``; ``copytrace/__init__`` picks a temporary folder when
  neither is writable), so only the first run after an install or an upgrade
  pays for it: tens of seconds on a small machine.
* **interpreted**, when the call's arrays hold at most :data:`INTERPRET_MAX`
  elements in all, lookup tables not counted (``@njit(tables=("cls", …))``
  names the parameters that are tables; ``COPYTRACE_INTERPRET_MAX`` overrides
  the limit; 0 = always compile): the kernel's own Python code runs, with numpy's overflow warnings
  off as integer arithmetic wraps as it does compiled.  On a few thousand
  elements that takes milliseconds, less than loading the compiled kernel from
  the cache, and far less than compiling it; the first ``find`` on a handful
  of short documents therefore compiles nothing.  Once a kernel has
  interpreted :data:`INTERPRET_BUDGET` times the limit in elements in all
  (its calls added up over the process), it compiles even on tiny inputs: a
  kernel run per page pair on thousands of pairs costs more interpreted than
  loading it once.  Once a kernel has run compiled (its machine code is
  loaded), it stays compiled for every later call too.  Kernels called from an
  interpreted kernel are interpreted too.  The test suite runs with
  ``COPYTRACE_INTERPRET_MAX=0`` (every kernel compiled, as on real corpora)
  and checks that both ways write byte-identical outputs.

Inside a kernel, ``prange`` (imported from here) is numba's parallel range
once the kernel compiles, and ``range`` while interpreted.

``announce_compilation(enabled)`` arms the note ``compiling kernels (first
run only)``: on a terminal it is printed once, just before the first kernel
with no valid cache entry (missing index, or one written for another version
of the source) compiles.

Data contract: ``njit(**numba_options)(function) -> Kernel``; ``Kernel(*args)``
returns what the function returns; ``Kernel.dispatcher()`` is numba's
dispatcher.  ``FIND`` and ``COMPARE`` list ``(module, kernel name)``;
``needs_compiling(kernels) -> bool``; ``use_threads(n)``: numba's thread count for
the calling thread, set at once when numba is imported, else at that thread's
first compiled kernel call.  The note never fails a run: on any
surprise from numba's cache internals there is no note.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
import types
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["FIND", "COMPARE", "MESSAGE", "INTERPRET_MAX", "INTERPRET_BUDGET", "Kernel", "njit", "prange", "needs_compiling",
           "announce_compilation", "prefer_compiled", "use_threads"]

MESSAGE = "compiling kernels (first run only)"

# a call whose arrays hold at most this many elements in all runs the kernel's Python code: below
# it, interpreting costs less than importing numba and loading cached kernels (two 4 kB texts:
# compare 0.4 s interpreted, 1.0 s compiled; a 17 kB and an 11 kB text: 1.16 s against 0.91 s)
INTERPRET_MAX = 10_000
INTERPRET_ENV = "COPYTRACE_INTERPRET_MAX"
# ... and a kernel interprets at most this many times the limit in elements over a process's life: a
# kernel called per pair on pages (a few thousand tokens each, every call under the limit) would
# otherwise stay interpreted for thousands of calls (chronam: 104 ms a page pair against 9.5 ms)
INTERPRET_BUDGET = 3

# inside kernels: numba.prange once a kernel of the module compiles (Kernel.dispatcher swaps it in)
prange = range

# the kernels each command always runs (a sample: their cache state is the install's)
FIND: tuple[tuple[str, str], ...] = (
    ("copytrace.stages.normalize", "_tokenize_kernel"),
    ("copytrace.stages.fingerprint", "_fingerprint_kernel"),
    ("copytrace.stages.verify", "pair_stats_kernel"),
)
COMPARE: tuple[tuple[str, str], ...] = (
    ("copytrace.stages.normalize", "_tokenize_kernel"),
    ("copytrace.stages.lexicon", "stem_kernel"),
    ("copytrace.stages.align", "_extend_kernel"),
)

_lock = threading.RLock()
_note = {"armed": False, "said": False}
_threads: dict[int, int] = {}  # thread id -> numba threads it asked for before numba was imported


def use_threads(n: int) -> None:
    """``numba.set_num_threads`` (at most numba's pool) for the calling thread.  Before numba
    is imported, the number is kept until this thread's first compiled kernel call: a run
    whose kernels all run interpreted (a few short texts) never imports numba."""
    if "numba" in sys.modules:
        _set_threads(n)
    else:
        _threads[threading.get_ident()] = n


def _set_threads(n: int) -> None:
    import numba

    # numba.config sets its NUMBA_* settings from the environment at import: its typed module
    # does not declare them
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


def _pending_threads() -> None:
    n = _threads.pop(threading.get_ident(), None)
    if n is not None:
        _set_threads(n)


_limit: list[int] = []


def _interpret_max() -> int:
    if not _limit:
        raw = os.environ.get(INTERPRET_ENV, "").strip()
        try:
            value = int(raw) if raw else INTERPRET_MAX
        except ValueError:
            raise ValueError(f"{INTERPRET_ENV}={raw!r}: give a whole number of array elements "
                             "(0 = always compile)") from None
        _limit.append(max(0, value))
    return _limit[0]


def _typeof_kernel() -> None:
    """Teach numba that a Kernel is its dispatcher (kernels call kernels); once, on numba's first use."""
    from numba.core import types
    from numba.extending import typeof_impl

    @typeof_impl.register(Kernel)
    def _typeof(val: Kernel, c: Any) -> Any:
        return types.Dispatcher(val.dispatcher())


class Kernel:
    """A kernel: numba-compiled on its first compiled call, interpreted on tiny inputs (module doc)."""

    def __init__(self, py_func: Callable[..., Any], options: dict[str, Any]) -> None:
        functools.update_wrapper(self, py_func)
        self.py_func = py_func
        options = dict(options)
        tables = options.pop("tables", ())
        names = py_func.__code__.co_varnames[:py_func.__code__.co_argcount]
        missing = [t for t in tables if t not in names]
        if missing:
            raise TypeError(f"njit(tables=...): {py_func.__qualname__} has no parameter {missing[0]!r}")
        self._work = tuple(i for i, name in enumerate(names) if name not in tables)
        self._options = options
        self._dispatcher: Any = None
        self._interpreted: Callable[..., Any] | None = None
        self._checked = False
        self._interpreted_work = 0  # elements this kernel has interpreted in this process
        self._compiled_only: Any = None  # the dispatcher, once no call can be interpreted any more

    def __repr__(self) -> str:
        return f"<kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by name (Spark tasks, worker processes)
        return (_kernel_by_name, (self.py_func.__module__, self.py_func.__qualname__))

    def dispatcher(self) -> Any:
        """numba's dispatcher for this kernel (imports numba and creates it on the first call)."""
        if self._dispatcher is None:
            with _lock:
                if self._dispatcher is None:
                    import numba

                    if not getattr(Kernel, "_typed", False):
                        cheap_blas_probe()
                        _typeof_kernel()
                        Kernel._typed = True  # type: ignore[attr-defined]
                    g = self.py_func.__globals__
                    if g.get("prange") is range:
                        g["prange"] = numba.prange
                    self._dispatcher = numba.njit(**self._options)(self.py_func)
        return self._dispatcher

    def interpreted(self) -> Callable[..., Any]:
        """The kernel as a plain Python function whose kernel calls go straight to their Python code."""
        f = self._interpreted
        if f is None:
            with _lock:
                g = _interpreted_globals(self.py_func.__globals__)
                py = self.py_func
                f = self._interpreted = types.FunctionType(py.__code__, g, py.__name__, py.__defaults__, py.__closure__)
        return f

    def __call__(self, *args: Any) -> Any:
        fast = self._compiled_only
        if fast is not None:  # the interpreting budget is spent: straight to numba (kernels run per pair)
            if _threads:
                _pending_threads()
            return fast(*args)
        n = 0
        for i in self._work:
            if i < len(args):
                n += getattr(args[i], "size", 0)
        limit = _interpret_max()
        if n <= limit and self._interpreted_work + n <= INTERPRET_BUDGET * limit and not _bulk[0]:
            self._interpreted_work += n
            with np.errstate(over="ignore"):  # compiled, integer arithmetic wraps silently
                return self.interpreted()(*args)
        disp = self.dispatcher()
        if not self._checked:
            self._checked = True
            if _note["armed"] and not _note["said"] and not disp.signatures and _no_cache_entry(disp):
                _note["said"] = True
                print(f"copytrace: {MESSAGE}…", file=sys.stderr, flush=True)
        # from now on every call goes straight to numba: the budget is spent, or the kernel is
        # loaded already (numba is imported and its machine code in memory, so interpreting even a
        # tiny call costs more than the compiled call); one without any work gives the same
        # results compiled.  Kernels run per aligned pair (~20 a pair) would otherwise pay for the
        # element counting on every call.
        self._compiled_only = disp
        if _threads:
            _pending_threads()
        return disp(*args)


def _interpreted_globals(module_globals: dict[str, Any]) -> dict[str, Any]:
    """A copy of a kernel module's globals with each kernel replaced by its Python code (one per
    module; numba too reads a kernel's globals once, as constants)."""
    name = module_globals.get("__name__", "")
    g = _INTERPRETED.get(name)
    if g is None:
        g = _INTERPRETED[name] = dict(module_globals)  # registered first: kernels of two modules call each other
        for key, value in module_globals.items():
            if isinstance(value, Kernel):
                g[key] = value.interpreted()
    return g


_INTERPRETED: dict[str, dict[str, Any]] = {}
_bulk = [False]


def prefer_compiled() -> None:
    """From now on every kernel call of this process runs compiled: for a caller with much work of
    one kind ahead (``find`` aligning thousands of pairs, ~20 kernels each), interpreting the first
    tiny calls until each kernel's budget is spent only costs time (about a second a process).
    The results are the same either way."""
    _bulk[0] = True


def _kernel_by_name(module: str, qualname: str) -> Kernel:
    return getattr(importlib.import_module(module), qualname)


def njit(**options: Any) -> Callable[[Callable[..., Any]], Kernel]:
    """``@njit(cache=True, nogil=True, …)``: numba's options, given to numba when the kernel compiles;
    ``tables=(parameter names)``: lookup tables, whose size is not the call's work."""

    def wrap(py_func: Callable[..., Any]) -> Kernel:
        return Kernel(py_func, options)

    return wrap


def _no_cache_entry(disp: Any) -> bool:
    try:
        cache_file = getattr(getattr(disp, "_cache", None), "_cache_file", None)
        if cache_file is None:  # caching off for it: every run compiles
            return True
        return not cache_file._load_index()  # missing, or stale (the source changed)
    except Exception:  # numba's cache internals are private: never fail a run over a message
        return False


def needs_compiling(kernels: Sequence[tuple[str, str]]) -> bool:
    """True when one of ``kernels`` has no valid entry in numba's on-disk cache (imports numba)."""
    try:
        for module, name in kernels:
            kernel = getattr(importlib.import_module(module), name)
            if _no_cache_entry(kernel.dispatcher()):
                return True
    except Exception:
        return False
    return False


def announce_compilation(enabled: bool = True) -> bool:
    """Arm the note: when ``enabled`` and stderr is a terminal, :data:`MESSAGE` is printed on
    stderr once, just before the first kernel with no valid cache entry compiles.
    Returns whether it is armed."""
    _note["armed"] = bool(enabled) and sys.stderr.isatty()
    return _note["armed"]


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
