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

__version__ = "0.1.0"

__all__ = ["find", "compare", "Result", "Comparison", "Index", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("find", "compare", "Result", "Comparison"):
        from copytrace import api

        return getattr(api, name)
    if name == "Index":
        from copytrace.index import Index

        return Index
    raise AttributeError(f"module 'copytrace' has no attribute {name!r}")
