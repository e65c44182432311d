"""The sentence around a hit, for showing an analyst where an indicator was mentioned."""

from __future__ import annotations

import re

#: How far to look for a sentence boundary on each side of a hit.
REACH = 160
_END = re.compile(r"[。！？!?\n]|\.(?=\s)")


def sentence_around(text: str, start: int, end: int) -> tuple[str, int, int]:
    """``(sentence, hit_start, hit_end)`` with the hit's offsets inside the sentence.

    A sentence ends at ``。！？!?``, a line break, or a full stop followed by space; a
    long sentence is cut to ``REACH`` characters on each side of the hit.
    """
    lo = max(0, start - REACH)
    left = lo
    for m in _END.finditer(text, lo, start):
        left = m.end()
    hi = min(len(text), end + REACH)
    found = _END.search(text, end, hi)
    right = found.end() if found is not None else hi
    raw = text[left:right]
    stripped = raw.lstrip()
    shift = left + len(raw) - len(stripped)
    sentence = stripped.rstrip()
    return sentence, start - shift, end - shift
