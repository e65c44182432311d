"""How much more frequent a word is here than elsewhere: Dunning's log-likelihood."""

from __future__ import annotations

import math

#: G² at p < 0.001 with one degree of freedom.
SIGNIFICANT = 10.83


def log_likelihood(a: int, n1: int, b: int, n2: int) -> float:
    """Signed G² for a term held by ``a`` of ``n1`` documents here and ``b`` of ``n2``
    elsewhere (positive: more frequent here)."""
    if n1 <= 0 or n2 <= 0:
        return 0.0
    total = n1 + n2
    held = a + b
    cells = ((a, n1, held), (n1 - a, n1, total - held), (b, n2, held), (n2 - b, n2, total - held))
    g = 0.0
    for observed, row, col in cells:
        if observed > 0:
            g += observed * math.log(observed * total / (row * col))
    g = max(2.0 * g, 0.0)
    return g if a * n2 >= b * n1 else -g


def language_of(term: str) -> str:
    return "ja" if any(ord(c) > 0x3000 for c in term) else "en"
