"""Reading large JSON one item at a time, within limits a hostile file cannot pass.

A STIX bundle of 200 MB is read as a stream of its objects (``ijson``'s C parser over
yajl): one object is in memory at a time, never the bundle. Every item is built here from
the parser's events with an explicit stack (no recursion), so depth, string length and
item size are checked as the bytes arrive: 2 GB of nested arrays fail at the 65th level,
not when memory runs out. A file that is not JSON, or ends early, raises
:class:`~kizashi.formats.contract.FormatError` with where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import ijson

from kizashi.formats.contract import FormatError, Limits

_SCALARS = frozenset({"string", "number", "boolean", "null"})


class _Events:
    """The parser's events, with their count, turning its errors into ours."""

    def __init__(self, source: IO[bytes]) -> None:
        self._it = iter(ijson.basic_parse(source, use_float=True))
        self.count = 0

    def _said(self, exc: Exception) -> str:
        text = str(exc)
        if "premature EOF" in text:
            if self.count == 0:
                return "The file is empty."
            return "The file is truncated: it is not complete JSON (it ends inside a value)."
        if "trailing garbage" in text:
            return "The file goes on after its JSON value ends."
        return f"The file is not JSON ({_first_line(exc)})."

    def __iter__(self) -> _Events:
        return self

    def __next__(self) -> tuple[str, Any]:
        try:
            event: tuple[str, Any] = next(self._it)
        except StopIteration:
            raise
        except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
            raise FormatError(self._said(exc)) from None
        self.count += 1
        return event


def _first_line(exc: Exception) -> str:
    """The parser's message without the picture of where it stopped."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _build(events: _Events, first: str, scalar: Any, depth: int, limits: Limits) -> Any:
    """The value that starts with the event ``first`` (``scalar``: its value, for a
    scalar), built from the events that follow it."""
    if first in _SCALARS:
        _check_scalar(first, scalar, limits)
        return scalar
    start = events.count
    root: Any = {} if first == "start_map" else []
    stack: list[Any] = [root]
    keys: list[str | None] = [None]
    if depth + 1 > limits.max_depth:
        raise FormatError(f"JSON nested deeper than {limits.max_depth} levels.")
    for event, value in events:
        if events.count - start > limits.max_item_events:
            raise FormatError(
                f"An item holds more than {limits.max_item_events:,} JSON values: too large."
            )
        top = stack[-1]
        if event == "map_key":
            _check_key(value)
            keys[-1] = value
            continue
        if event in ("end_map", "end_array"):
            stack.pop()
            keys.pop()
            if not stack:
                return root
            continue
        if event in _SCALARS:
            _check_scalar(event, value, limits)
            made: Any = value
        else:
            if depth + len(stack) + 1 > limits.max_depth:
                raise FormatError(f"JSON nested deeper than {limits.max_depth} levels.")
            made = {} if event == "start_map" else []
        if isinstance(top, dict):
            top[keys[-1]] = made
        else:
            top.append(made)
        if event in _SCALARS:
            continue
        stack.append(made)
        keys.append(None)
    raise FormatError("The file is truncated: it is not complete JSON (it ends inside a value).")


def _check_scalar(event: str, value: Any, limits: Limits) -> None:
    if event == "string" and len(value) > limits.max_string:
        raise FormatError(f"A string of {len(value):,} characters: at most {limits.max_string:,}.")


def _check_key(value: str) -> None:
    if len(value) > 1000:
        raise FormatError(f"A property name of {len(value):,} characters: at most 1,000.")


def items(source: IO[bytes], limits: Limits, *, under: str = "objects") -> Iterator[Any]:
    """The items of a JSON document one at a time: each element of the root object's
    ``under`` array (a STIX bundle's ``objects``), each element of a root array, or the
    root object itself when it has no such array.

    The root object's other properties are read too and checked (a ``type`` that is
    ``bundle`` with no ``objects`` yields nothing)."""
    events = _Events(source)
    try:
        event, _ = next(events)
    except StopIteration:
        raise FormatError("The file is empty.") from None
    if event == "start_array":
        yield from _array(events, 1, limits)
    elif event == "start_map":
        yield from _root_map(events, limits, under)
    else:
        raise FormatError("The file holds a single JSON value, not an object or a list.")
    for _ in events:
        raise FormatError("The file goes on after its JSON value ends.")


def _array(events: _Events, depth: int, limits: Limits) -> Iterator[Any]:
    for n, (event, value) in enumerate(events, 1):
        if event == "end_array":
            return
        if n > limits.max_items:
            raise FormatError(f"More than {limits.max_items:,} items.")
        yield _build(events, event, value, depth, limits)
    raise FormatError("The file is truncated: it is not complete JSON (it ends inside a list).")


def _root_map(events: _Events, limits: Limits, under: str) -> Iterator[Any]:
    own: dict[str, Any] = {}
    streamed = False
    for event, key in events:
        if event == "end_map":
            if not streamed and own.get("type") != "bundle":
                yield own  # one object, not a bundle
            return
        if event != "map_key":  # pragma: no cover - the parser pairs keys and values
            raise FormatError("The file is not JSON.")
        _check_key(key)
        try:
            first, scalar = next(events)
        except StopIteration:
            break
        if key == under and first == "start_array":
            streamed = True
            yield from _array(events, 2, limits)
        else:
            own[key] = _build(events, first, scalar, 1, limits)
    raise FormatError("The file is truncated: it is not complete JSON (it ends inside an object).")
