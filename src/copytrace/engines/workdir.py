"""The work directory a user names with ``--work-dir``: copytrace only ever
writes inside a subfolder it owns there.

Contract
--------
``owned_work_dir(path) -> Path`` returns ``path/copytrace-work`` (created if
needed, with ``path`` itself created if missing).  That subfolder holds a
marker file, ``.copytrace-work``, written when copytrace creates it; a
``copytrace-work`` folder without the marker that holds anything is not
copytrace's and is refused with an ``OptionError`` (an empty one is adopted).
Nothing outside the subfolder is created, changed or deleted, so a user's
files in ``path`` (an ``experiment.npz``, a ``texts.arrow``) are never
touched: every clean-up copytrace does (stale checkpoints, a finished run's
temporary files) happens inside the subfolder only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from copytrace.errors import OptionError

__all__ = ["WORK_SUBDIR", "MARKER", "owned_work_dir"]

WORK_SUBDIR = "copytrace-work"
MARKER = ".copytrace-work"


def owned_work_dir(path: str | os.PathLike[str]) -> Path:
    """The subfolder of ``path`` that copytrace owns (see the module docstring)."""
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise OptionError(f"--work-dir {root}: not a directory")
    sub = root / WORK_SUBDIR
    marker = sub / MARKER
    try:
        if sub.is_dir():
            if marker.is_file():
                return sub
            if any(sub.iterdir()):
                raise OptionError(
                    f"--work-dir {root}: {sub} exists, holds files and was not made by copytrace "
                    f"(no {MARKER} marker); move it away or choose another --work-dir"
                )
        elif sub.exists():
            raise OptionError(f"--work-dir {root}: {sub} exists and is not a directory")
        sub.mkdir(parents=True, exist_ok=True)
        tmp = sub / f"{MARKER}.tmp"
        tmp.write_text(
            json.dumps({"owner": "copytrace", "note": "copytrace's work folder: safe to delete "
                        "when no copytrace run uses it"}) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, marker)
    except OSError as e:
        raise OptionError(f"--work-dir {root}: cannot use it: {e.strerror or e}") from None
    return sub
