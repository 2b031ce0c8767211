"""What every `copytrace` command shares: turning errors into one clear line,
the reader flags, and click options generated from parameter dataclasses
(:func:`click_options`; how to add an option: :mod:`copytrace.config`)."""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
import typing
from typing import Any, Callable

import click

from copytrace.config import spec_of
from copytrace.errors import CopytraceError, OptionError

DEBUG_ENV = "COPYTRACE_DEBUG"


def plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def arrow_without_pandas() -> None:
    """Keep pyarrow from importing pandas (0.25 s of CPU, 0.3-1 s of wall time on
    a loaded machine) in a command that hands it no pandas objects.

    The first time pyarrow converts a Python list, it imports pandas only to
    ask whether the list is a pandas object.  With pandas blocked for that
    first conversion, pyarrow remembers that it has none and stops asking; an
    explicit pandas conversion later (``to_pandas``) still imports it.  Only
    for commands that run in their own process: a library caller may hand
    pyarrow pandas objects."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)  # "import pandas" fails at once
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(blocker)


class _NoPandas:
    """An import finder that refuses pandas (see :func:`arrow_without_pandas`)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas left out on purpose", name=name)


def run_command(fn: Callable[[], Any]) -> Any:
    """Run a command body: our errors become one clear line, never a traceback."""
    try:
        return fn()
    except OptionError as e:
        click.echo(f"copytrace: error: {e.for_cli()}", err=True)
        sys.exit(2)
    except CopytraceError as e:
        click.echo(f"copytrace: error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("copytrace: interrupted (outputs already written are complete; rerun to redo)", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except (OSError, MemoryError) as e:
        click.echo(f"copytrace: error: {e}", err=True)
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        sys.exit(1)
    except Exception as e:  # a bug of ours: say so plainly, traceback on request
        click.echo(
            f"copytrace: internal error: {type(e).__name__}: {e}\n"
            f"(set {DEBUG_ENV}=1 for a traceback, and please report it)",
            err=True,
        )
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        sys.exit(70)


def reader_options(on_error_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The input-reading flags that `find` and `index add` share (they map onto
    ``copytrace.stages.read.ReadOptions``): --id-field, --text-field,
    --date-field, --source-field, --format (parameter ``fmt``), --html-field,
    --extract/--no-extract, --on-error and --encoding."""
    options = [
        click.option("--id-field", default="id", show_default=True, help="JSONL/CSV/Parquet: the id field."),
        click.option("--text-field", default="text", show_default=True, help="JSONL/CSV/Parquet: the text field."),
        click.option("--date-field", default=None, help="JSONL/CSV/Parquet: a date field (optional)."),
        click.option("--source-field", default=None, help="JSONL/CSV/Parquet: a source/site field (optional)."),
        click.option("--format", "fmt", default="auto", show_default=True,
                     type=click.Choice(["auto", "txt", "jsonl", "csv", "parquet", "warc", "html"]),
                     help="Input format."),
        click.option("--html-field", default=None,
                     help="JSONL/CSV/Parquet: a field of HTML, extracted to text (instead of --text-field)."),
        click.option("--extract/--no-extract", default=True, show_default=True,
                     help="HTML and WARC: keep the main text only, or the whole page's text (site chrome "
                          "included, for copytrace's boilerplate detection)."),
        click.option("--on-error", default="skip", show_default=True, type=click.Choice(["skip", "fail"]),
                     help=f"Bad records: {on_error_help}."),
        click.option("--encoding", default="auto", show_default=True,
                     help="Encoding of .txt/.jsonl/.csv inputs: auto = UTF-8 when valid, else detected per file "
                          "(reported in summary.json warnings); or a codec name such as cp1252."),
    ]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return decorate


_CLICK_TYPES: dict[Any, Any] = {int: click.INT, float: click.FLOAT, str: click.STRING}


def click_options(cls: type, only: tuple[str, ...] | None = None, *,
                  extra_help: dict[str, str] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Click options for the parameter fields of dataclass ``cls`` (those with
    a :class:`~copytrace.config.Spec` and ``cli=True``; ``only``: these, in
    this order), in field order: flag ``--field-name``, the field's default,
    help and type; a bool is ``--x/--no-x`` (or a switch).  The command's
    function receives each as a keyword named like the field.  Values are
    validated by the dataclass, not by click (so messages are the same from
    Python and from the CLI).  ``extra_help[name]`` is appended to a help."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    names = only if only is not None else tuple(fields)
    options = []
    for name in names:
        f = fields[name]
        spec = spec_of(cls, name)
        if spec is None or not spec.cli:
            continue
        flag = spec.flag_name(name)
        help_ = spec.help + (f" {extra_help[name]}" if extra_help and name in extra_help else "")
        hint = hints[name]
        base = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        kind = base[0]
        default = f.default
        if kind is bool:
            decl = f"{flag}/--no-{flag[2:]}" if spec.negatable else flag
            options.append(click.option(decl, name, default=default, show_default=spec.negatable,
                                        is_flag=True, help=help_))
            continue
        ctype = click.Path(file_okay=False) if spec.path == "dir" else _CLICK_TYPES.get(kind, click.STRING)
        options.append(click.option(flag, name, default=default, type=ctype, show_default=default is not None,
                                    help=help_))

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return decorate
