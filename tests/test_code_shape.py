"""The shape of the code: every module short enough to read in one sitting, and each says
what it is for (issue 18)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "kizashi"
MAX_LINES = 500
MODULES = sorted(SRC.rglob("*.py"))


def test_the_source_is_found() -> None:
    assert len(MODULES) > 100, f"only {len(MODULES)} modules under {SRC}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_is_longer_than_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (
        f"{path.relative_to(SRC)} has {lines} lines: split it by what it does "
        f"(docs/architecture.md, 'Where things live')"
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_module_says_what_it_is_for(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if path.name == "__init__.py" and not tree.body:
        return  # an empty package marker
    assert ast.get_docstring(tree), f"{path.relative_to(SRC)} has no module docstring"
