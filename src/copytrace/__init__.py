"""copytrace — find every copy of a text in a collection.

>>> import copytrace
>>> result = copytrace.find("examples/seeds", threshold=0.2)      # doctest: +SKIP
>>> cmp = copytrace.compare(text_a, text_b)                         # doctest: +SKIP

The API is imported lazily, so ``import copytrace.stages.normalize`` stays light.
"""

from __future__ import annotations

import os
from typing import Any

# numba's OpenMP workers spin while idle by default; on a shared or busy
# machine that spinning slowed the kernels 4x. Sleep instead (user settings win).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _writable(path: str) -> bool:
    """Could a directory be created or written at ``path`` (its nearest existing ancestor)?"""
    p = os.path.abspath(path)
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            return False
        p = parent
    return os.path.isdir(p) and os.access(p, os.W_OK | os.X_OK)


def _numba_cache_dir(env: str | None, in_tree: str, user_wide: str, tmp: str) -> str | None:
    """Where numba should cache the compiled kernels: None to leave numba's own choice
    (NUMBA_CACHE_DIR, else __pycache__ beside the code, else ~/.cache/numba) when one of
    them is writable; else a folder in ``tmp`` (a read-only install and home would
    otherwise fail at import with numba's "no locator available")."""
    if any(d and _writable(d) for d in (env, in_tree, user_wide)):
        return None
    return os.path.join(tmp, f"copytrace-numba-cache-{os.getuid() if hasattr(os, 'getuid') else 0}")


_fallback = _numba_cache_dir(
    os.environ.get("NUMBA_CACHE_DIR"),
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "stages", "__pycache__"),
    os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "numba"),
    os.environ.get("TMPDIR") or "/tmp",
)
if _fallback is not None:
    os.environ["NUMBA_CACHE_DIR"] = _fallback

from copytrace._version import __version__  # noqa: E402  (after the numba cache set-up)

__all__ = ["find", "compare", "Result", "Comparison", "Index", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("find", "compare", "Result", "Comparison"):
        from copytrace import api

        return getattr(api, name)
    if name == "Index":
        from copytrace.index import Index

        return Index
    raise AttributeError(f"module 'copytrace' has no attribute {name!r}")
