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
