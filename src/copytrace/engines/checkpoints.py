"""Checkpoints of the local engine: the finished stages of a run, kept in its
work directory so that an interrupted run resumes (``--resume``) from the
last finished stage.  Contract in :class:`Checkpoints`."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from copytrace._version import __version__

__all__ = ["Checkpoints"]


class Checkpoints:
    """Finished stages of a run, kept in the work directory so that an
    interrupted run can resume (``--resume``) from the last finished stage.

    ``checkpoints.json`` records a key — a hash of the parameters that shape
    the results and of the inputs (path, size, modification time) — and the
    finished stages; each stage's arrays sit in ``<stage>.npz`` (written
    atomically before the stage is recorded), and the SHA-256 of that file
    (and, for ``fingerprint``, of the text store) is recorded with it.  A key
    that does not match, or stdin as input, means a fresh start.  On resume a
    checkpoint whose file is missing, truncated or altered (checksum
    mismatch) is dropped with the stages after it, those stages are
    recomputed, and ``warnings`` says so.  ``work_dir`` is copytrace's own
    subfolder (``copytrace.engines.workdir``): only its files are cleaned.
    ``keep=False`` (a temporary work directory, removed after the run: no
    rerun can resume from it): ``save`` writes nothing — no arrays, no
    checksums of the text store.
    """

    STAGES = ("fingerprint", "verify", "align")
    EXTRA_FILES = {"fingerprint": ("texts.arrow",)}  # files a stage's checkpoint depends on

    def __init__(self, work_dir: Path, key: str | None, resume: bool, keep: bool = True) -> None:
        self.work_dir = work_dir
        self.keep = keep
        self.key = key
        self.path = work_dir / "checkpoints.json"
        self.state: dict[str, Any] = {"key": key, "done": {}, "sha256": {}}
        self.resumed: list[str] = []
        self.warnings: list[str] = []
        if resume and key is not None and self.path.exists():
            try:
                old = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = {}
                self.warnings.append(f"{self.path}: unreadable; all stages recomputed")
            if isinstance(old, dict) and old.get("key") == key and isinstance(old.get("done"), dict):
                old.setdefault("sha256", {})
                self.state = old
                self._drop_damaged()
        if not self.state["done"]:
            for f in work_dir.glob("*.npz"):
                f.unlink()
            self._write_state()

    def _drop_damaged(self) -> None:
        """Keep only the finished stages whose files match their checksums (and
        the stages before them)."""
        for i, stage in enumerate(self.STAGES):
            if stage not in self.state["done"]:
                continue
            problem = self._check(stage)
            if problem is not None:
                later = [s for s in self.STAGES[i:] if s in self.state["done"]]
                for s in later:
                    self.state["done"].pop(s, None)
                    self.state["sha256"].pop(s, None)
                self.warnings.append(
                    f"checkpoint {stage!r} in {self.work_dir} is damaged ({problem}); "
                    f"recomputing {', '.join(later)}"
                )
                self._write_state()
                return

    def _check(self, stage: str) -> str | None:
        sums = self.state["sha256"].get(stage)
        if not isinstance(sums, dict):
            return "no checksum recorded"
        for name in (f"{stage}.npz", *self.EXTRA_FILES.get(stage, ())):
            f = self.work_dir / name
            if not f.is_file():
                return f"{name} is missing"
            if sums.get(name) != _sha256(f):
                return f"{name} does not match its checksum"
        return None

    @staticmethod
    def make_key(inputs: Sequence[str | os.PathLike], params: dict[str, Any]) -> str | None:
        ident: list[Any] = []
        for x in inputs:
            if not isinstance(x, (str, os.PathLike)) or str(x) == "-":
                return None  # stdin, an Arrow table in memory: nothing to recognise on a rerun
            p = Path(x)
            files = sorted(p.rglob("*")) if p.is_dir() else [p]
            for f in files:
                try:
                    st = f.stat()
                except OSError:
                    continue
                if f.is_file():
                    ident.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
        blob = json.dumps({"params": params, "inputs": ident, "version": __version__}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def has(self, stage: str) -> bool:
        return stage in self.state["done"]

    def load(self, stage: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        with np.load(self.work_dir / f"{stage}.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        self.resumed.append(stage)
        return arrays, self.state["done"][stage]

    def save(self, stage: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if not self.keep:
            return
        target = self.work_dir / f"{stage}.npz"
        tmp = self.work_dir / f".{stage}.tmp.npz"
        # numpy 2's stubs type savez(file, *args, allow_pickle: bool, **kwds): mypy matches **arrays
        # against allow_pickle, which no stage names an array
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        sums = {f"{stage}.npz": _sha256(target)}
        for name in self.EXTRA_FILES.get(stage, ()):
            sums[name] = _sha256(self.work_dir / name)
        self.state["done"][stage] = meta
        self.state["sha256"][stage] = sums
        self._write_state()

    def _write_state(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(self.state, sort_keys=True))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
