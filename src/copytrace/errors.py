"""Errors copytrace reports to users: each names what went wrong and where."""

from __future__ import annotations


class CopytraceError(Exception):
    """Base class: the CLI prints these as one clear line, never a traceback."""


class InputError(CopytraceError):
    """Bad input, located by file and (where it has lines) line number."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {message}")


class OptionError(CopytraceError):
    """An option value that cannot work (a bad threshold, an unknown field...)."""
