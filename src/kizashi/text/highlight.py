"""Where a query's terms occur in a text, and the snippet that shows most of them.

The matcher comes from the same analysis as the query (:func:`kizashi.text.analyse.analyse`),
so what search matched is what gets marked:

- Japanese runs as written, and Sudachi's normalised words (``コンピューター`` marks
  ``コンピュータ``): compared after full-width folding and case folding;
- English words by stem (``attack`` marks ``attacks`` and ``attacked``), on word bounds;
- indicators by value, found by the extractor, so ``evil[.]com`` and full-width forms are
  marked where ``evil.com`` was asked for.

Pure: text in, spans out. ``to_html`` escapes everything but its own ``<mark>``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from kizashi.text.analyse import analyse, word_spans
from kizashi.text.extract import extract
from kizashi.text.extract.refang import fold_width

_JAPANESE = re.compile("[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
#: Indicators are looked for in texts up to this size (the extractor reads ~10 MB/s).
MAX_EXTRACT = 200_000
MAX_SPANS = 500


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@dataclass
class Matcher:
    literals: re.Pattern[str] | None = None
    #: Japanese words as Sudachi normalises them (found in other spellings too).
    words: set[str] = field(default_factory=set)
    stems: dict[str, set[str]] = field(default_factory=dict)  # stem → surface forms asked
    english: re.Pattern[str] | None = None
    indicators: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return self.literals is None and self.english is None and not self.indicators


def matcher(terms: list[str]) -> Matcher:
    """A matcher for the text terms of a query (words and phrases, as typed)."""
    literals: set[str] = set()
    m = Matcher()
    for term in terms:
        a = analyse(term)
        literals.update(a.runs)
        japanese = {w for w in a.words if _JAPANESE.search(w)}
        literals.update(japanese)
        m.words.update(japanese)
        for surface in a.english:
            stem = _stemmer().stemWord(surface)
            m.stems.setdefault(stem, set()).add(surface)
        m.indicators.update(v for v, _, _ in a.indicators)
    if literals:
        ordered = sorted(literals, key=len, reverse=True)
        m.literals = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
    if m.stems:
        prefixes = sorted({p for s, forms in m.stems.items() for p in (s, *forms)}, key=len)
        alternatives = "|".join(re.escape(p) for p in reversed(prefixes))
        m.english = re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*", re.IGNORECASE)
    return m


def spans(text: str, m: Matcher) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans of ``text`` that the query matched."""
    if m.empty or not text:
        return []
    folded = fold_width(text)  # one character for one: offsets hold
    found: list[tuple[int, int]] = []
    if m.literals is not None:
        found += [(x.start(), x.end()) for x in m.literals.finditer(folded)]
        seen = {folded[s:e].casefold() for s, e in found}
        if m.words - seen and len(folded) <= MAX_EXTRACT:
            found += word_spans(folded, m.words - seen)
    if m.english is not None:
        stemmer = _stemmer()
        for x in m.english.finditer(folded):
            word = x.group().casefold()
            stem = stemmer.stemWord(word)
            if stem in m.stems or any(word in forms for forms in m.stems.values()):
                found.append((x.start(), x.end()))
    if m.indicators and len(folded) <= MAX_EXTRACT:
        for hit in extract(folded, flag=False):
            if _indicator_matches(hit.value.casefold(), m.indicators):
                found.append((hit.start, hit.end))
    return _merge(found)[:MAX_SPANS]


def _indicator_matches(value: str, asked: set[str]) -> bool:
    """The value itself, a host under an asked domain, or a URL on one (as indexed)."""
    if value in asked or any(value.endswith("." + a) for a in asked):
        return True
    return "://" in value and any(f"//{a}" in value or f".{a}" in value for a in asked)


def _merge(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


@dataclass(frozen=True)
class Snippet:
    text: str
    spans: list[tuple[int, int]]
    #: True when text was cut at the start or the end.
    cut_start: bool
    cut_end: bool

    def html(self) -> str:
        body = to_html(self.text, self.spans)
        return ("…" if self.cut_start else "") + body + ("…" if self.cut_end else "")


def snippet(text: str, found: list[tuple[int, int]], *, width: int = 180) -> Snippet:
    """The window of about ``width`` characters with the most marked spans (the start of
    the text when nothing matched), cut at spaces or sentence ends where it can."""
    if not found:
        end = min(len(text), width)
        return Snippet(text[:end], [], False, end < len(text))
    best_start, best = found[0][0], 0
    j = 0
    for i, (start, _) in enumerate(found):
        while j < len(found) and found[j][1] <= start + width:
            j += 1
        if j - i > best:
            best, best_start = j - i, start
    start = max(0, best_start - width // 5)
    for k in range(start, max(0, start - 30), -1):
        if k == 0 or text[k - 1] in " 。、．.!?！？":
            start = k
            break
    end = min(len(text), start + width)
    inside = [
        (max(s, start) - start, min(e, end) - start) for s, e in found if e > start and s < end
    ]
    return Snippet(text[start:end], inside, start > 0, end < len(text))


def to_html(text: str, found: list[tuple[int, int]]) -> str:
    out = []
    pos = 0
    for start, end in found:
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def highlight(text: str, terms: list[str], *, width: int = 180) -> Snippet:
    """The snippet of ``text`` for a query's text terms."""
    squeezed = " ".join(text.split())
    m = matcher(terms)
    return snippet(squeezed, spans(squeezed, m), width=width)
