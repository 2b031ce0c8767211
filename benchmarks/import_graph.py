"""The module import graph of copytrace, from the source (``ast``, nothing imported).

Prints one line per module: the copytrace modules it imports (``*`` marks an
import made inside a function, i.e. lazy), then the import cycles among the
top-level (eager) imports, then every import of a private name (``_x``) from
another module.  Exits 1 when a private name crosses modules, so CI could
gate on it.

    python benchmarks/import_graph.py [SRC_DIR]      # default: src/ beside this script
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(mod: str, is_pkg: bool, level: int, target: str | None) -> str:
    """The absolute module of a (possibly relative) ``from`` import."""
    if level == 0:
        return target or ""
    base = mod.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def scan(root: Path) -> tuple[dict[str, dict[str, bool]], list[tuple[str, str, str, int]]]:
    """(edges: module -> {imported module: eager?}, private imports: (module, from, name, line))."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    edges: dict[str, dict[str, bool]] = {m: {} for m in files}
    private: list[tuple[str, str, str, int]] = []
    for mod, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_pkg = path.name == "__init__.py"
        aliases: dict[str, str] = {}  # local name -> copytrace module
        top = {id(n) for n in tree.body}
        for stmt in tree.body:  # `if TYPE_CHECKING:` blocks count as not imported at run time
            if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
                for n in ast.walk(stmt):
                    top.discard(id(n))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(mod, is_pkg, node.level, node.module)
                targets = []
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    if sub in files:  # `from copytrace.stages import rule`: a module
                        targets.append((sub, None))
                    else:
                        targets.append((base, a.name))
            else:
                continue
            eager = id(node) in top
            for a, (target, name) in zip(node.names, targets, strict=True):
                if name is None and target in files:  # a module bound to a name: its private attributes
                    bound = a.asname or (a.name if isinstance(node, ast.ImportFrom) else None)
                    if bound:
                        aliases.setdefault(bound, target)
            for target, name in targets:
                if not target.startswith("copytrace") or target == mod:
                    continue
                if target in files:
                    edges[mod][target] = edges[mod].get(target, False) or eager
                if name and name.startswith("_") and not name.startswith("__"):
                    private.append((mod, target, name, node.lineno))
        for node in ast.walk(tree):  # `cand._pairs_from_keys(...)`: a private name through a module alias
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                private.append((mod, aliases[node.value.id], node.attr, node.lineno))
    return edges, private


def cycles(edges: dict[str, dict[str, bool]]) -> list[list[str]]:
    """Strongly connected components (more than one module) of the eager imports."""
    graph = {m: [t for t, eager in ts.items() if eager] for m, ts in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "src"
    edges, private = scan(root)
    short = lambda m: m.removeprefix("copytrace.") or "copytrace"  # noqa: E731
    print("# modules -> the copytrace modules they import (* lazy: inside a function)")
    for mod in sorted(edges):
        deps = [short(t) + ("" if eager else "*") for t, eager in sorted(edges[mod].items())]
        print(f"{short(mod)} -> {', '.join(deps) if deps else '-'}")
    cyc = cycles(edges)
    print(f"\n# import cycles among eager imports: {len(cyc)}")
    for c in cyc:
        print("  " + " <-> ".join(short(m) for m in c))
    every = {m: {t: True for t in ts} for m, ts in edges.items()}
    eager_sets = [set(c) for c in cyc]
    lazy_cyc = [c for c in cycles(every) if set(c) not in eager_sets]
    print(f"# import cycles closed only by a lazy import: {len(lazy_cyc)}")
    for c in lazy_cyc:
        print("  " + " <-> ".join(short(m) for m in c))
    print(f"\n# private names imported from another module: {len(private)}")
    for mod, target, name, line in private:
        print(f"  {short(mod)}:{line} imports {short(target)}.{name}")
    return 1 if private else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
