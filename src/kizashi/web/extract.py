"""What ``pybabel extract`` reads from the Python code (babel.cfg names it for ``python``).

Babel's own Python extractor reads tokens, and loses a message whose call holds another
keyword's call: in ``invalid("Bad tag.", [Problem("tag", "empty")])`` it files the
outer call's arguments under ``Problem``, so ``"Bad tag."`` is not extracted (and
``KizashiError("…", "validation_failed", [Problem(…)])`` gives ``"validation_failed"``);
it also joins every literal of an argument, ``"Unknown: " + ", ".join(x)`` giving
``"Unknown: , "``. This one reads the syntax tree instead: every call of a keyword,
nested or not, its positional arguments that are literal text (implicitly joined literals
included) taken as Babel's keyword specs say. An f-string with values, or text joined in
the call, where a message is taken is skipped with a warning, as Babel warns of
f-strings. (Translator comments are not read: the code has none.)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import DEFAULT_KEYWORDS

Found = tuple[int, str, tuple[str | None, ...], list[str]]


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _positions(spec: Any) -> set[int]:
    """The (1-based) arguments a keyword's spec takes messages or contexts from."""
    if spec is None:
        return {1}
    if isinstance(spec, dict):  # by number of arguments
        return set().union(*(_positions(s) for s in spec.values()))
    return {part[0] if isinstance(part, tuple) else part for part in spec}


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    return None


def _holds_text(node: ast.expr) -> bool:
    """Text joined in the call (``"Unknown: " + ", ".join(x)``, ``"%s" % x``)."""
    return isinstance(node, ast.BinOp) and any(
        isinstance(n, ast.Constant | ast.JoinedStr) and isinstance(getattr(n, "value", ""), str)
        for n in ast.walk(node)
    )


def extract_python(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Found]:
    """Babel's extraction method: ``(line, keyword, arguments, comments)`` per call."""
    del comment_tags  # none in the code (see above)
    encoding = str(options.get("encoding", "utf-8"))
    tree = ast.parse(fileobj.read().decode(encoding))
    specs = {**DEFAULT_KEYWORDS, **dict(options.get("keywords") or {})}
    found: list[tuple[int, int, Found]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name is None or name not in keywords or not node.args:
            continue
        messages = tuple(_literal(arg) for arg in node.args)
        for position in _positions(specs.get(name)):
            arg = node.args[position - 1] if position <= len(node.args) else None
            if arg is None or messages[position - 1] is not None:
                continue
            if isinstance(arg, ast.JoinedStr) or _holds_text(arg):
                filename = getattr(fileobj, "name", None) or "(unknown)"
                what = "f-string with substitutions" if isinstance(arg, ast.JoinedStr) else "text"
                sys.stderr.write(
                    f"{filename}:{arg.lineno}: warning: Skipping {what} computed in the call:"
                    " it cannot be translated as written.\n"
                )
        found.append((node.lineno, node.col_offset, (node.lineno, name, messages, [])))
    for _line, _column, result in sorted(found, key=lambda f: (f[0], f[1])):
        yield result
