"""`copytrace compare` in the terminal: a side-by-side view with rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from copytrace.api import Comparison

KIND_STYLE = {"verbatim": "bold green", "reworded": "yellow"}


def _clip(s: str, limit: int) -> str:
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def render_comparison(cmp: "Comparison", name_a: str, name_b: str, console: Console,
                      threshold: float = 0.5, width: int = 600) -> None:
    verdict = (
        Text("COPIES", style="bold green") if cmp.is_copy(threshold) else Text("not copies", style="bold red")
    )
    head = Table.grid(padding=(0, 2))
    head.add_row("verdict", verdict)
    if cmp.explanation:
        head.add_row("why", cmp.explanation)
    head.add_row("similarity", f"{cmp.similarity:.3f}  (share of the more-contained text found in the other)")
    head.add_row("jaccard", f"{cmp.jaccard:.3f}")
    head.add_row("containment A in B", f"{cmp.containment_a_in_b:.3f}   A = {name_a}")
    head.add_row("containment B in A", f"{cmp.containment_b_in_a:.3f}   B = {name_b}")
    n_verb = sum(p.kind == "verbatim" for p in cmp.passages)
    head.add_row("passages", f"{len(cmp.passages)} ({n_verb} verbatim, {len(cmp.passages) - n_verb} reworded)")
    console.print(Panel(head, title="copytrace compare", expand=False))

    if cmp.passages:
        t = Table(title="Shared passages", show_lines=True, expand=True)
        t.add_column("#", justify="right", no_wrap=True)
        t.add_column("kind", no_wrap=True)
        t.add_column(f"A  {name_a}", ratio=1)
        t.add_column(f"B  {name_b}", ratio=1)
        for i, p in enumerate(cmp.passages, 1):
            style = KIND_STYLE.get(p.kind, "")
            t.add_row(
                str(i),
                Text(f"{p.kind}\n{p.score:.2f}", style=style),
                Text(_clip(cmp.text_a[p.a_start : p.a_end], width), style=style)
                + Text(f"\n[{p.a_start}:{p.a_end}]", style="dim"),
                Text(_clip(cmp.text_b[p.b_start : p.b_end], width), style=style)
                + Text(f"\n[{p.b_start}:{p.b_end}]", style="dim"),
            )
        console.print(t)

    for label, spans, text in (("Only in A", cmp.only_in_a, cmp.text_a), ("Only in B", cmp.only_in_b, cmp.text_b)):
        if not spans:
            continue
        items = [
            Text(f"[{s}:{e}] ", style="dim") + Text(_clip(text[s:e], width), style="red")
            for s, e in spans
        ]
        console.print(Panel(Group(*items), title=label, expand=True))
