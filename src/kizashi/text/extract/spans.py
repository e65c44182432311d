"""What the span readers share: the callback a reader reports a hit through, and where a
span ends (trailing punctuation and closing brackets that close nothing are not part of
an indicator)."""

from __future__ import annotations

from collections.abc import Callable

#: ``emit(kind, value, start, end)``: one hit, at offsets into the scanned text.
Emit = Callable[[str, str, int, int], None]

_CLOSERS = {")": "(", "]": "[", ">": "<", "}": "{"}
_TRAILING = ".,;:!?'\""
_OPENERS = "([{<"


def trim(token: str, s: int, end: int) -> int:
    """Drop trailing sentence punctuation and closing brackets that do not close."""
    while end > s:
        ch = token[end - 1]
        if ch in _TRAILING or ch in _OPENERS:
            end -= 1
        elif ch in _CLOSERS:
            segment = token[s:end]
            if segment.count(_CLOSERS[ch]) < segment.count(ch):
                end -= 1
            else:
                break
        else:
            break
    return end
