"""Width folding: what a Japanese keyboard types in full width (ＡＰＴ４１, ｔａｇ：, the
ideographic space) or half width (ｶﾀｶﾅ) read as their usual forms.

Only those blocks change (NFKC applied to the runs of U+3000 and U+FF01–U+FFEF): unlike
NFKC over the whole text, a circled digit, a ligature or ``㈱`` stays as typed, so a
query's grouping and a tag's spelling change only where the keyboard's width did.
"""

from __future__ import annotations

import re
import unicodedata

_WIDE = re.compile("[\u3000\uff01-\uffef]+")


def fold_width(text: str) -> str:
    """``text`` with full-width ASCII and spaces made ASCII and half-width kana full."""
    if not _WIDE.search(text):
        return text
    return _WIDE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
