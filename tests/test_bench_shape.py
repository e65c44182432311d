"""The shape of bench/: no module imports ``bench.__main__`` (it only dispatches; the shared
helpers are in ``bench.common``), and the imports among bench modules form no circle.

Read from the source with ``ast``, nothing is imported: every import counts, at the top of
a module or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
MODULES = sorted(BENCH.glob("*.py"))
MAIN = "bench.__main__"


def module_name(path: Path) -> str:
    return "bench" if path.name == "__init__.py" else f"bench.{path.stem}"


KNOWN = {module_name(p) for p in MODULES}


def _resolve(name: str) -> str | None:
    """The bench module that importing ``name`` loads, or None when it is not one."""
    while name:
        if name in KNOWN:
            return name
        name = name.rpartition(".")[0]
    return None


def bench_imports(path: Path) -> set[str]:
    """Every bench module ``path`` imports, in any form: ``import bench.x``, ``from bench
    import x``, ``from bench.x import y``, relative imports, and ``importlib.import_module``
    or ``__import__`` of a literal name."""
    here = module_name(path)
    package = "bench"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative to bench/ (no subpackages)
                base = package if node.level == 1 else ""
                base = ".".join(filter(None, [base, node.module]))
            else:
                base = node.module or ""
            # ``from bench import x``: the module bench.x, else the package (resolved up).
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            fn = node.func
            called = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            arg = node.args[0]
            if called in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                names.add(str(arg.value))
    return {m for m in map(_resolve, names) if m is not None} - {here}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as ``[a, b, ..., a]``, or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = visit(start)
            if found:
                return found
    return None


def test_the_bench_modules_are_found() -> None:
    assert len(MODULES) > 10, f"only {len(MODULES)} modules under {BENCH}"
    assert "bench.common" in KNOWN and MAIN in KNOWN


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_bench_module_imports_main(path: Path) -> None:
    assert MAIN not in bench_imports(path), (
        f"bench/{path.name} imports {MAIN}: take shared helpers from bench.common instead "
        "(bench/__main__.py only dispatches)"
    )


def test_the_bench_imports_have_no_cycle() -> None:
    graph = {module_name(p): bench_imports(p) for p in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle among bench modules: " + " -> ".join(cycle or [])


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The resolver reads every form of import, and the cycle finder finds a circle."""
    src = tmp_path / "bench_x.py"
    src.write_text(
        "import bench.bench_store\n"
        "from bench import bench_feeds\n"
        "from bench.common import table\n"
        "def f():\n"
        "    from .bench_search import pct\n"
        "    import importlib\n"
        "    importlib.import_module('bench.__main__')\n",
        encoding="utf-8",
    )
    assert bench_imports(src) == {
        "bench.bench_store",
        "bench.bench_feeds",
        "bench.common",
        "bench.bench_search",
        MAIN,
    }
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
