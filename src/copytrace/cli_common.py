"""What every `copytrace` command shares: turning errors into one clear line."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Callable

import click

from copytrace.errors import CopytraceError

DEBUG_ENV = "COPYTRACE_DEBUG"


def _n(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def _run(fn: Callable[[], Any]) -> Any:
    """Run a command body: our errors become one clear line, never a traceback."""
    try:
        return fn()
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
        click.option("--encoding", default="utf-8", show_default=True, help="Encoding of .txt inputs."),
    ]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return decorate
