"""Errors copytrace reports to users: each names what went wrong and where."""

from __future__ import annotations


def printable(name: str) -> str:
    """A file name as text that can be printed and written as UTF-8: bytes
    that are not valid UTF-8 (kept by Python as surrogate escapes) are shown
    as ``\\xNN``."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


class CopytraceError(Exception):
    """Base class: the CLI prints these as one clear line, never a traceback."""


class InputError(CopytraceError):
    """Bad input, located by file and (where it has lines) line number."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        self.file = printable(str(file))
        self.line = line
        self.message = message
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {message}")


class EngineError(CopytraceError):
    """An engine's run failed where the input is not to blame (a Spark job that failed: an
    executor lost, a task out of memory), in one line; no output was written."""


class OptionError(CopytraceError):
    """An option value that cannot work (a bad threshold, an unknown field...).

    ``param``: the parameter's Python name when the message starts with it
    ("ngram must be in 1..64, got 0"); the CLI rewrites it into the flag.
    ``cli``: the whole message as the CLI says it, when it names more
    parameters than the first."""

    def __init__(self, message: str, param: str | None = None, cli: str | None = None) -> None:
        self.param = param
        self.cli = cli
        super().__init__(message)

    def for_cli(self, flag: str | None = None) -> str:
        """The message with the parameter written as its flag (``--ngram``)."""
        msg = str(self)
        if self.cli:
            return self.cli
        if self.param and msg.startswith(self.param):
            return (flag or "--" + self.param.replace("_", "-")) + msg[len(self.param):]
        return msg
