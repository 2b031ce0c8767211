"""The output directory as one set: a run's files replace the previous run's
all at once, so a crash (``kill -9``, power loss) never leaves a mix.

Data contract
-------------
``with staged_outputs(out_dir, names) as stage:`` yields ``stage``, whose
``stage.path`` is an empty folder on the same file system; the caller writes
the new set there
(``summary.json`` last).  When the block ends without an exception the set
is *committed* into ``out_dir``; on an exception the staging folder is
removed and ``out_dir`` is untouched.  ``names`` are the file names
copytrace writes into an output directory; no other file in ``out_dir`` is
ever deleted or overwritten.  ``stage.mode`` (``"exchange"`` or
``"per-file"``) and ``GUARANTEE[mode]`` say which guarantee holds.

Two ways to commit:

* ``exchange`` — when ``out_dir`` does not exist or holds nothing but
  copytrace's files, and the system can swap two directories atomically
  (Linux ``renameat2(RENAME_EXCHANGE)``): the new set is written to a sibling
  ``.<out>.copytrace-staging-*`` folder and the two directories are exchanged
  in one system call, after which the old set (now in the sibling) is
  deleted.  At every instant ``out_dir`` holds the complete previous set or
  the complete new set.
* ``per-file`` — when ``out_dir`` also holds files copytrace did not write
  (they must stay where they are), or the exchange is not available: the new
  set is written to ``out_dir/.copytrace-staging-*/``; when all of it is on
  disk a ``COMMIT`` file is written there, the old ``summary.json`` is
  removed, each file is renamed into place (each rename atomic) and
  ``summary.json`` comes last.  A kill before ``COMMIT`` leaves the previous
  set intact; a kill after it, during those few renames, leaves no
  ``summary.json`` (so the directory is visibly incomplete) and the next run
  into ``out_dir`` finishes the move before doing anything else.

Either way: every file present is complete (never half-written), and a
``summary.json`` is only ever present together with the rest of its own run.
Stale staging folders and temporary files (recognisable by their names) are
removed by the next run into the same ``out_dir``.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["staged_outputs", "recover", "GUARANTEE", "StagingDir"]

STAGING_PREFIX = ".copytrace-staging-"  # per-file mode, inside out_dir
STAGING_MARKER = ".copytrace-staging"
COMMIT = "COMMIT"

GUARANTEE = {
    "exchange": (
        "this file and the other output files were swapped into the directory as one set "
        "(an atomic directory exchange): a run interrupted at any point leaves the previous "
        "complete set or this one, never a mix"
    ),
    "per-file": (
        "the output files were written completely in a staging folder, then moved in one by one "
        "with summary.json removed first and written last: when summary.json is present the files "
        "are one complete run; a run killed during the move leaves no summary.json, and the next "
        "run into this directory completes the move"
    ),
}


@dataclass
class StagingDir:
    """Where to write the new set (``path``), and how it will be committed."""

    path: Path
    mode: str  # "exchange" | "per-file"


def _sibling_pattern(out_dir: Path) -> re.Pattern[str]:
    return re.compile(r"^\." + re.escape(out_dir.name) + r"\.copytrace-(staging|old)-[A-Za-z0-9_]+$")


def _tmp_pattern(names: Sequence[str]) -> re.Pattern[str]:
    """Temporary files of ``stages.write.atomic_path`` for these names."""
    return re.compile(r"^\.(" + "|".join(re.escape(n) for n in names) + r")\..+\.tmp$")


def _ours(entry: str, names: Sequence[str]) -> bool:
    return entry in names or entry.startswith(STAGING_PREFIX) or bool(_tmp_pattern(names).match(entry))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# Recovery: run at the start of every write into out_dir


def recover(out_dir: Path, names: Sequence[str]) -> None:
    """Finish an interrupted commit and remove stale staging folders and
    temporary files of earlier runs (only copytrace's, recognised by name)."""
    parent = out_dir.parent
    sib = _sibling_pattern(out_dir)
    if parent.is_dir():
        for entry in os.listdir(parent):
            p = parent / entry
            if sib.match(entry) and p.is_dir() and not p.is_symlink():
                if all(_ours(e, names) for e in os.listdir(p)):
                    shutil.rmtree(p, ignore_errors=True)
    if not out_dir.is_dir():
        return
    tmp = _tmp_pattern(names)
    for entry in sorted(os.listdir(out_dir)):
        p = out_dir / entry
        if entry.startswith(STAGING_PREFIX) and p.is_dir() and (p / STAGING_MARKER).is_file():
            if (p / COMMIT).is_file():
                _roll_forward(p, out_dir)
            shutil.rmtree(p, ignore_errors=True)
        elif tmp.match(entry) and p.is_file():
            p.unlink(missing_ok=True)


def _roll_forward(stage: Path, out_dir: Path) -> None:
    plan = json.loads((stage / COMMIT).read_text(encoding="utf-8"))
    if "summary.json" in plan["write"]:
        (out_dir / "summary.json").unlink(missing_ok=True)
    for name in plan["write"]:  # summary.json is last in the list
        src = stage / name
        if src.exists():
            os.replace(src, out_dir / name)
    for name in plan["delete"]:
        (out_dir / name).unlink(missing_ok=True)
    _fsync_dir(out_dir)


# --------------------------------------------------------------------------
# The directory exchange (Linux)

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> object | None:
    import ctypes.util  # here: it imports subprocess and tempfile, a cost to every command's start

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directory entries; False if the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)  # type: ignore[operator]
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EBUSY):
        return False
    raise OSError(err, os.strerror(err), str(b))


# --------------------------------------------------------------------------
# Staging and commit


@contextmanager
def staged_outputs(out_dir: str | os.PathLike[str], names: Sequence[str]) -> Iterator[StagingDir]:
    """See the module docstring."""
    out = Path(out_dir)
    if out.is_symlink():
        out = Path(os.path.realpath(out))  # the user's link stays; its target gets the set
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    recover(out, names)
    exists = out.is_dir()
    only_ours = not exists or all(_ours(e, names) for e in os.listdir(out))
    try:
        cwd = Path.cwd()
        if out == cwd or out in cwd.parents:
            only_ours = False  # exchanging the working directory away would strand this process
    except OSError:
        pass
    stage: StagingDir | None = None
    if only_ours and _renameat2() is not None:
        try:
            path = Path(tempfile.mkdtemp(prefix=f".{out.name}.copytrace-staging-", dir=out.parent))
            stage = StagingDir(path, "exchange")
        except OSError:
            stage = None
    if stage is None:
        stage = _inner_staging(out)
    try:
        yield stage
        for entry in os.listdir(stage.path):
            if entry not in names and entry != STAGING_MARKER:
                raise RuntimeError(f"unexpected output {entry!r} (not one of copytrace's output names)")
        _fsync_dir(stage.path)
        if stage.mode == "exchange" and not _commit_exchange(stage.path, out, names):
            # the file system refused the exchange: move the set in file by file
            inner = _inner_staging(out)
            for entry in os.listdir(stage.path):
                os.replace(stage.path / entry, inner.path / entry)
            os.rmdir(stage.path)
            stage = inner
        if stage.mode == "per-file":
            _commit_per_file(stage.path, out, names)
    except BaseException:
        _discard(stage.path, names)
        raise


def _discard(path: Path, names: Sequence[str]) -> None:
    """Remove a staging folder after a failure, unless it holds a committed
    set (the next run rolls it forward) or anything that is not copytrace's."""
    try:
        entries = os.listdir(path)
    except OSError:
        return
    if COMMIT in entries:
        return
    if all(_ours(e, names) or e in (STAGING_MARKER, f"{COMMIT}.tmp") for e in entries):
        shutil.rmtree(path, ignore_errors=True)


def _inner_staging(out: Path) -> StagingDir:
    out.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    (path / STAGING_MARKER).write_text("copytrace staging folder\n", encoding="utf-8")
    return StagingDir(path, "per-file")


def _commit_exchange(stage: Path, out: Path, names: Sequence[str]) -> bool:
    umask = os.umask(0)
    os.umask(umask)
    try:
        mode = os.stat(out).st_mode & 0o7777 if out.exists() else 0o777 & ~umask
    except OSError:
        mode = 0o777 & ~umask
    os.chmod(stage, mode)
    if not out.exists():
        try:
            os.rename(stage, out)
            _fsync_dir(out.parent)
            return True
        except OSError:
            pass  # created meanwhile: exchange with it
    if not _exchange(stage, out):
        return False
    _fsync_dir(out.parent)
    old = stage  # the previous set now sits in the sibling folder
    for entry in os.listdir(old):
        if not _ours(entry, names):  # a file someone put in out_dir during the run: keep it
            os.replace(old / entry, out / entry)
    shutil.rmtree(old, ignore_errors=True)
    return True


def _commit_per_file(stage: Path, out: Path, names: Sequence[str]) -> None:
    written = [n for n in names if (stage / n).exists()]
    written.sort(key=lambda n: n == "summary.json")  # summary.json last
    plan = {"write": written, "delete": [n for n in names if n not in written and (out / n).is_file()]}
    tmp = stage / f"{COMMIT}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(plan, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, stage / COMMIT)
    _fsync_dir(stage)
    _roll_forward(stage, out)
    shutil.rmtree(stage, ignore_errors=True)
