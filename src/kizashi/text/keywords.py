"""Keywords: the words that analytics counts, as an analyst would name them.

Search indexes every word; term statistics, word clouds and co-occurrence want the
*content* of a text: nouns and names in their dictionary form, with compounds whole.

- **Japanese**: the morphemes the analyser's Sudachi pass already read (mode C,
  normalised form, part of speech). A run of nouns, with prefixes before and noun-like
  suffixes after, is one term: ``サプライチェーン`` + ``攻撃`` → ``サプライチェーン攻撃``,
  ``暗号`` + ``資産`` + ``交換`` + ``業`` + ``者`` → ``暗号資産交換業者``. Numerals and
  pronouns break a run; stopwords at its edges are dropped, alone they are not terms.
- **English**: lemmas of nouns (``vulnerabilities`` → ``vulnerability``) from
  LemmInflect's dictionary; a word it knows only as a verb, adjective or adverb is not a
  term (``exploited``, ``used``), one it does not know is (``ransomware``, ``lockbit``).
  Names stay as written, folded: a capitalised word inside a sentence and an acronym
  (``Windows``, ``VPN``) are not lemmatised, and capitalised words in a row are one term
  (``Volt Typhoon``, ``Cobalt Strike``). Hyphenated words are one term (``zero-day``).
- Indicators are not keywords: the analyser has taken them out of the text already, and
  analytics counts them apart.

Pure: no I/O after LemmInflect loads its tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import Any

#: Morphemes in one Japanese compound at most (longer runs are cut).
MAX_PARTS = 8
#: The separator of a name's English words.
SPACE = " "
#: Capitalised words in a row that make one name at most (more are a headline).
MAX_NAME = 4

#: Roles in a compound. A counter (``年``, ``件``) is a noun that follows a numeral: it
#: can end a compound (``四半期``) but not start one, as a suffix cannot.
_NOUN, _PREFIX, _SUFFIX, _COUNTER, _OTHER = 0, 1, 2, 3, 4

# A word: letters and digits, with inner hyphens or apostrophes (``zero-day``, ``o'brien``).
_ENGLISH = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'’][A-Za-z0-9]+)*")
_SENTENCE_END = re.compile(r"[.!?:;\n。！？]\s*$")
_GAP = re.compile(r"[ \t]+")
_JAPANESE = re.compile("[\u3041-\u30ff\u4e00-\u9fff]")


#: Part-of-speech id → role in a compound, filled as ids turn up (one dictionary, the
#: analyser's, is ever used; -1 marks a paragraph break).
_ROLES: dict[int, int] = {-1: _OTHER}


def _role(pos: tuple[str, ...] | None) -> int:
    if not pos:
        return _OTHER
    if pos[0] == "名詞":
        if pos[1] in ("数詞", "代名詞"):
            return _OTHER
        return _COUNTER if pos[2] == "助数詞可能" else _NOUN
    if pos[0] == "接頭辞":
        return _PREFIX
    if pos[0] == "接尾辞" and pos[1] == "名詞的":
        return _SUFFIX
    return _OTHER


def japanese(
    morphemes: Iterable[tuple[str, int]], dictionary: Any, stopwords: frozenset[str]
) -> list[str]:
    """Compounds of nouns from ``(normalised form, part-of-speech id)`` pairs, in order."""
    table = _ROLES
    out: list[str] = []
    parts: list[str] = []
    roles: list[int] = []
    for word, pos_id in morphemes:
        role = table.get(pos_id)
        if role is None:
            role = table[pos_id] = _role(dictionary.pos_of(pos_id))
        if role == _OTHER:
            if not parts:
                continue
            if len(parts) > 1:
                _compound(parts, roles, stopwords, out)
            elif (  # a noun alone: most compounds
                roles[0] == _NOUN
                and parts[0] not in stopwords
                and (len(parts[0]) > 1 or not _is_kana(parts[0]))
            ):
                out.append(parts[0])
            parts, roles = [], []
            continue
        if role == _PREFIX and parts and roles[-1] != _PREFIX:
            _compound(parts, roles, stopwords, out)  # a prefix starts the next compound
            parts, roles = [], []
        parts.append(word)
        roles.append(role)
        if len(parts) >= MAX_PARTS:
            _compound(parts, roles, stopwords, out)
            parts, roles = [], []
    if parts:
        _compound(parts, roles, stopwords, out)
    return out


def _compound(
    parts: list[str], roles: list[int], stopwords: frozenset[str], out: list[str]
) -> None:
    """Prefixes cannot end a compound, suffixes and counters cannot start one, and
    stopwords neither: trimmed, what is left is one term if it holds a noun."""
    lo, hi = 0, len(parts)
    while lo < hi and (roles[lo] in (_SUFFIX, _COUNTER) or parts[lo] in stopwords):
        lo += 1
    while hi > lo and (
        roles[hi - 1] == _PREFIX or (roles[hi - 1] == _NOUN and parts[hi - 1] in stopwords)
    ):
        hi -= 1
    if hi > lo and (_NOUN in roles[lo:hi] or _COUNTER in roles[lo:hi]):
        term = "".join(parts[lo:hi])
        if len(term) > 1 or not _is_kana(term):
            out.append(term)


def _is_kana(term: str) -> bool:
    return all("\u3041" <= c <= "\u30ff" for c in term)


@cache
def _lemmas() -> Callable[[str], dict[str, tuple[str, ...]]]:
    from lemminflect import getAllLemmas

    return getAllLemmas  # type: ignore[no-any-return]


@lru_cache(maxsize=65536)
def noun_lemma(word: str) -> str | None:
    """A lower-case word's noun lemma, itself when unknown, None when it is no noun."""
    lemmas = _lemmas()(word)
    if not lemmas:
        return word
    for tag in ("NOUN", "PROPN"):
        if tag in lemmas:
            return lemmas[tag][0].casefold()
    return None


def english(text: str, stopwords: frozenset[str]) -> list[str]:
    """Noun lemmas, names and hyphenated compounds of the Latin text in ``text``."""
    reader = _English(stopwords)
    for line in text.splitlines():
        reader.line(line)
    return reader.out


class _English:
    def __init__(self, stopwords: frozenset[str]) -> None:
        self.stopwords = stopwords
        self.out: list[str] = []
        #: Capitalised words in a row, each with whether it opens its sentence.
        self.group: list[tuple[str, bool]] = []

    def line(self, text: str) -> None:
        matches = list(_ENGLISH.finditer(text))
        # In Japanese text, Latin words are mostly names whatever their share of capitals.
        if not _JAPANESE.search(text) and self._headline(text, [m.group() for m in matches]):
            for m in matches:
                self.word(m.group(), name=False)
            return
        prev_end = -1
        opens = True
        for m in matches:
            w = m.group()
            adjacent = False
            if prev_end >= 0:
                gap = text[prev_end : m.start()]
                adjacent = _GAP.fullmatch(gap) is not None
                opens = opens or _SENTENCE_END.search(gap) is not None
            prev_end = m.end()
            if w[0].isupper() and not (self.group and w.casefold() in self.stopwords):
                if self.group and not adjacent:
                    self.emit()
                self.group.append((w, opens))
            else:
                self.emit()
                self.word(w, name=False)
            opens = False
        self.emit()

    def _headline(self, text: str, words: list[str]) -> bool:
        """Title case (``Ivanti Connect Secure Exploited By Chinese Hackers``): capitals
        say nothing of names there. A line that ends a sentence is no headline."""
        if text.rstrip().endswith((".", "!", "?")):
            return False
        content = [w for w in words[1:] if w.casefold() not in self.stopwords]
        return len(content) >= 3 and all(w[0].isupper() for w in content)

    def emit(self) -> None:
        group = self.group
        while group and group[0][0].casefold() in self.stopwords:
            group.pop(0)
        if 1 < len(group) <= MAX_NAME:
            self.out.append(SPACE.join(w.casefold() for w, _ in group))
        elif len(group) == 1:
            w, opens = group[0]
            self.word(w, name=not opens)
        else:  # more capitals in a row than a name has: word by word
            for w, _ in group:
                self.word(w, name=False)
        group.clear()

    def word(self, w: str, *, name: bool) -> None:
        f = w.casefold()
        if f.endswith(("'s", "’s")):
            f = f[:-2]
        if f in self.stopwords or len(f) < 2 or f.isdigit():
            return
        if name or "-" in f or w.isupper() or not f.isalpha():
            self.out.append(f)  # a name, an acronym, a compound, a product with a version
            return
        lemma = noun_lemma(f)
        if lemma is not None and lemma not in self.stopwords and len(lemma) > 1:
            self.out.append(lemma)
