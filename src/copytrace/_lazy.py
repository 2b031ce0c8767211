"""A module imported on its first attribute access (start-up time: ``copytrace
compare`` and ``--help`` need no pyarrow).

``pa = lazy_module("pyarrow")`` binds a stand-in that imports ``pyarrow`` the
first time an attribute is read (``pa.table``) and forwards to it from then
on.  Modules that use it keep ``import pyarrow as pa`` under
``TYPE_CHECKING`` so type checkers see the real module.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        mod = self._module
        if mod is None:
            mod = self._module = importlib.import_module(self._name)
        return getattr(mod, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on first attribute access."""
    return _LazyModule(name)

