"""Progress reporting: rich progress bars on a terminal, silence elsewhere."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["Reporter"]


class Reporter:
    """One progress bar per stage, plus wall-clock timings per stage.

    Bars show only when ``enabled`` and stderr is a terminal; timings are
    always kept (they go into ``summary.json``).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.started = time.perf_counter()  # the engine's start (clock.timings_that_add_up)
        self.timings: dict[str, float] = {}
        self._progress = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description:<11}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )

    def __enter__(self) -> "Reporter":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def stage(self, name: str, total: float | None = None, unit: str = "") -> Iterator["_Stage"]:
        task = None
        if self._progress is not None:
            task = self._progress.add_task(name, total=total, unit=unit)
        st = _Stage(self._progress, task)
        t0 = time.perf_counter()
        try:
            yield st
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
            if self._progress is not None and task is not None:
                t = self._progress.tasks[self._progress.task_ids.index(task)]
                if t.total is None:
                    self._progress.update(task, total=max(t.completed, 1), completed=max(t.completed, 1))
                else:
                    self._progress.update(task, completed=t.total)


class _Stage:
    def __init__(self, progress, task) -> None:
        self._progress = progress
        self._task = task

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def total(self, total: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)
