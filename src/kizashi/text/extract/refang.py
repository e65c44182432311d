"""Full-width folding and refanging, with offsets kept into the original text.

Full-width ASCII (``１９２．１６８``, ``＠``, ``［．］``) maps one character to one
character, so folding it keeps every offset. Refanging shortens the text (``[.]`` becomes
``.``); it is applied per token with a position map back to the original.
"""

from __future__ import annotations

import re

#: U+FF01..U+FF5E are full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
#: Full-width parentheses stay as they are: in Japanese text they delimit (``（T1189）``,
#: ``ETH（0x…）``), and folding them would glue what they hold to the word before.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if cp not in (0xFF08, 0xFF09)}
_FULLWIDTH[0x3000] = 0x20
_FULLWIDTH_RUN = re.compile("[\uff01-\uff07\uff0a-\uff5e\u3000]+")

#: Each defang marker and what it stands for. Matched case-insensitively.
_MARKERS: dict[str, str] = {
    "[.]": ".",
    "(.)": ".",
    "{.}": ".",
    "[dot]": ".",
    "(dot)": ".",
    "{dot}": ".",
    "[:]": ":",
    "[://]": "://",
    "[at]": "@",
    "(at)": "@",
    "{at}": "@",
    "[@]": "@",
    "hxxp": "http",
    "h**p": "http",
    "[/]": "/",
}
_DEFANG = re.compile(
    "|".join(re.escape(m) for m in sorted(_MARKERS, key=len, reverse=True)), re.IGNORECASE
)
#: Characters without which no marker can be present: a cheap test before the regex.
_MARKER_CHARS = frozenset("[({xX*")


def fold_width(text: str) -> str:
    """Full-width ASCII forms to ASCII; same length, so offsets are unchanged."""
    # Runs are short (a bracket, a colon, now and then an address): translating only
    # them is five times faster than translating the whole text.
    return _FULLWIDTH_RUN.sub(_fold_run, text)


#: The same mapping by character: str.translate costs microseconds per call even for one
#: character, and most runs are one character (a bracket, a colon).
_FOLD_CHAR = {chr(k): chr(v) for k, v in _FULLWIDTH.items()}


def _fold_run(m: re.Match[str]) -> str:
    run = m.group()
    if len(run) == 1:
        return _FOLD_CHAR[run]
    return "".join([_FOLD_CHAR[c] for c in run])


def may_be_defanged(token: str) -> bool:
    return not _MARKER_CHARS.isdisjoint(token)


def refang_mapped(token: str) -> tuple[str, list[int] | None]:
    """``token`` refanged, and for each refanged position its offset in ``token``.

    The map has one extra entry, the length of ``token``, so an end offset maps too.
    None means nothing changed (positions are the identity).
    """
    pieces: list[str] = []
    positions: list[int] = []
    last = 0
    for m in _DEFANG.finditer(token):
        start, end = m.span()
        if start > last:
            pieces.append(token[last:start])
            positions.extend(range(last, start))
        replacement = _MARKERS[m.group().lower()]
        pieces.append(replacement)
        # Every character of a replacement maps to the marker's start; a hit never starts
        # or ends inside a marker, so an end offset maps through the next entry.
        positions.extend([start] * len(replacement))
        last = end
    if not pieces:
        return token, None
    pieces.append(token[last:])
    positions.extend(range(last, len(token)))
    positions.append(len(token))
    return "".join(pieces), positions


def refang(text: str) -> str:
    """The text with full-width forms folded and every defang marker undone."""
    return _DEFANG.sub(lambda m: _replacement(m.group()), fold_width(text))


def _replacement(marker: str) -> str:
    return _MARKERS[marker.lower()]


def defang(value: str) -> str:
    """The conventional defanged spelling: ``hxxp://example[.]com``, ``a[@]b[.]com``."""
    out = value.replace(".", "[.]").replace("@", "[@]")
    return re.sub(r"^http", "hxxp", out, flags=re.IGNORECASE)
