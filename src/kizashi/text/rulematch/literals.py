"""The literal strings every match of a regular expression must contain, read from the
parsed pattern: what lets a rule set skip an item without running the pattern."""

from __future__ import annotations

from typing import Any


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Plain strings at least one of which every match of ``pattern`` contains, the
    strongest such set read from the parsed pattern: a run of literal characters
    (``CVE-2024-``), or one per branch of an alternation (``(?:Emotet|Qakbot)``), each at
    least three characters long (two for Japanese). None when there is none or the
    pattern uses syntax only the ``regex`` module knows."""
    try:
        import re._parser as sre  # type: ignore[import-not-found]

        parsed = sre.parse(pattern)
    except Exception:  # anything the stdlib cannot read: no prefilter, always run
        return None
    best = max(_required(list(parsed)), key=_strength, default=None)
    if best is None or _strength(best)[0] < 3:
        return None
    return tuple(sorted(best))


def required_literal(pattern: str) -> str | None:
    """The one literal every match contains (see :func:`required_literals`), if one."""
    found = required_literals(pattern)
    return found[0] if found is not None and len(found) == 1 else None


def _strength(literals: frozenset[str]) -> tuple[float, int]:
    """Longer is rarer; a Japanese character counts for one and a half."""
    weakest = min(sum(1.0 if c.isascii() else 1.5 for c in lit) for lit in literals)
    return weakest, -len(literals)


def _required(items: list[Any]) -> list[frozenset[str]]:
    """Sets of strings of which every match of this parsed sequence holds one."""
    out: list[frozenset[str]] = []
    run: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(arg))
            continue
        if run:
            out.append(frozenset({"".join(run)}))
            run = []
        if name == "BRANCH":
            alternatives: list[frozenset[str]] = []
            for branch in arg[1]:
                best = max(_required(list(branch)), key=_strength, default=None)
                if best is None:
                    break  # a branch that needs no literal: the alternation needs none
                alternatives.append(best)
            else:
                out.append(frozenset().union(*alternatives))
        elif name == "SUBPATTERN":
            out += _required(list(arg[-1]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and arg[0] >= 1:
            out += _required(list(arg[2]))
    if run:
        out.append(frozenset({"".join(run)}))
    return out
