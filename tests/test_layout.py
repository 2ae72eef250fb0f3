"""The house's layout: rooms whose imports point one way, no import circles, short modules, and
pages/ holding only the pages app.py navigates to.

Imports are read from the source (every `import` and `from ... import`, inside functions too), so
an import made on first use counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from .conftest import ROOT

LIBRARY = ROOT / "rnnviz"
MAX_LINES = 300
# The rooms, lowest first: a module may import its own room and the rooms before it, never after.
ROOMS = (
    "common", "data", "models", "analysis", "training", "storage", "jobs", "classroom",
    "memory", "lessons", "plots", "bench", "cli",
)  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(LIBRARY.rglob("*.py"))}


def imported(path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The rnnviz modules `path` imports; `from a.b import c` names a.b.c when that is a module."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        yield from (n for n in names if n in known and n != this)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imported(path, known)) for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else None


def test_the_circle_finder_finds_a_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(edges) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_two_library_modules_import_each_other() -> None:
    edges = graph()
    assert len(edges) > 80 and sum(map(len, edges.values())) > 250  # the whole library was read
    assert circles(edges) == []


def test_every_module_lives_in_a_room_and_imports_only_rooms_below() -> None:
    loose = sorted(m for m in modules() if m.count(".") == 1 and room(m) is None)
    assert loose == ["rnnviz.__main__"]  # the top keeps only what a user imports first
    upward = sorted(
        f"{a} -> {b}"
        for a, deps in graph().items()
        for b in deps
        if room(a) and room(b) and ROOMS.index(room(b) or "") > ROOMS.index(room(a) or "")
    )
    assert upward == []


def test_no_library_module_is_over_the_line_limit() -> None:
    lengths = {m: len(p.read_text().splitlines()) for m, p in modules().items()}
    assert max(lengths.values()) > 200  # the limit is checked against real modules
    assert {m: n for m, n in lengths.items() if n > MAX_LINES} == {}


def test_pages_holds_only_the_pages_app_py_navigates_to() -> None:
    navigated = re.findall(r'st\.Page\("pages/(\w+)\.py"', (ROOT / "app.py").read_text())
    files = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
    assert len(navigated) == 9 and files == sorted(navigated)
    assert sorted(p.stem for p in (ROOT / "pages" / "parts").glob("*.py")) == [
        "charts", "checkpoints", "lessons", "memory", "player", "resume", "shared", "start",
        "teacher", "watch",
    ]  # fmt: skip
