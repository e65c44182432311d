"""Names and aliases found in text: the pure half of the gazetteer.

A :class:`Gazetteer` holds names (an object's ``name`` and its aliases), each with what it
names, and finds them all in one Aho-Corasick pass (pyahocorasick) over the text folded
as the names are: NFKC (full-width Latin, half-width katakana), case-folded, every space
character one space. Offsets come back in the original text.

Which names are matched, and how (:func:`usable`), against false positives:

- A name holds a letter. A name in Chinese or Japanese script (kana, kanji) needs two
  such characters and is found as a plain substring: those scripts do not space words.
- A Latin-script name needs four letters or digits: ``APT``, ``Net``, ``cmd``, ``at``
  never match. Its Latin ends match only at word ends: the character beside it may not
  be a letter, digit or ``_`` of a spaced script (kana and kanji are boundaries, so
  ``APT10による`` names APT10; ``APT100`` and ``Ke3changs`` name nothing).
- Generic words of the trade (``malware``, ``backdoor``, ``group``, ``攻撃者`` …) and
  months and weekdays never match.
- A one-word name that is an English word (in LemmInflect's lexicon: ``Silence``,
  ``Dragonfly``, ``ZINC``) is a proper name only as its producer capitalised it:
  ``Silence`` matches, ``silence`` does not; written in lower case by its producer
  (``route``, ``ping``) it never matches. Techniques and mitigations (``proper=False``)
  are not matched by one English word at all: ``Audit`` and ``Rootkit`` would be every
  sentence about audits and rootkits. A capitalised sentence start or a title-case
  headline (``Silence fell``, ``A Hunter's Guide``) is the false positive left.
- Where names overlap, the longest wins (``Cobalt Strike`` over ``Cobalt``).

Pure: no I/O after the lexicon loads, no clock.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

#: Letters and digits of a Latin-script name (and ATT&CK's, MISP's) below which it is not matched.
MIN_LATIN = 4
#: Kana or kanji below which a name in those scripts is not matched.
MIN_CJK = 2
#: From here on, Unicode holds the scripts written without spaces (kana, kanji, hangul).
_UNSPACED = 0x2E80
#: Words that name a kind of thing, not one thing (folded).
GENERIC = frozenset(
    {
        "apt", "apt group", "actor", "threat actor", "attacker", "attackers", "group",
        "team", "unknown", "campaign", "operation", "hacker", "hackers", "hacktivist",
        "hacktivists", "cybercriminals", "malware", "ransomware", "backdoor", "trojan",
        "rat", "worm", "botnet", "loader", "dropper", "downloader", "stealer",
        "infostealer", "spyware", "wiper", "rootkit", "exploit", "implant", "webshell",
        "web shell", "攻撃者", "攻撃グループ", "グループ", "不明", "ハッカー",
        "マルウェア", "ランサムウェア", "バックドア", "トロイの木馬", "ワーム",
        "ボットネット", "標的型攻撃", "黑客", "木马", "后门", "恶意软件", "组织", "未知",
        # English words prose capitalises anyway (an "August" group is a month too).
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "monday", "tuesday", "wednesday",
        "thursday", "friday", "saturday", "sunday",
    }
)  # fmt: skip


class _Folding(dict[int, str]):
    """What each character folds to, worked out once per character (``str.translate``
    asks for the characters it has not met through ``__missing__``)."""

    def __init__(self) -> None:
        super().__init__()
        #: Characters that do not fold to exactly one character of their own.
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        c = chr(code)
        folded = " " if c.isspace() else unicodedata.normalize("NFKC", c).casefold()
        if folded.isspace():
            folded = " "
        if len(folded) != 1 or unicodedata.combining(folded):
            self.irregular.add(c)
        self[code] = folded
        return folded


_FOLD = _Folding()


def fold_map(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded, and for each folded character the offset in ``text`` it came
    from (None when each character folded to one: the offsets are the same)."""
    folded = text.translate(_FOLD)
    if _FOLD.irregular.isdisjoint(text):
        return folded, None
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        piece = _FOLD[ord(c)]
        if piece and out and unicodedata.combining(piece[0]):
            # A separate voicing mark or accent (``ｶﾞ``) joins the letter before it, as
            # NFKC of the whole text would join them.
            joined = unicodedata.normalize("NFC", out[-1] + piece)
            if len(joined) == 1:
                out[-1] = joined
                continue
        out.extend(piece)
        origin.extend([i] * len(piece))
    return "".join(out), origin


def fold(text: str) -> str:
    """A name or text as the gazetteer compares them."""
    return fold_map(text)[0]


def _spaced_word(c: str) -> bool:
    """A character that continues a word of a spaced script (Latin, Cyrillic, digits)."""
    return (c.isalnum() or c == "_") and ord(c) < _UNSPACED


def _unspaced(c: str) -> bool:
    return c.isalnum() and ord(c) >= _UNSPACED


@cache
def _lexicon() -> Callable[[str], Any]:
    from lemminflect import getAllLemmas  # loaded by the first gazetteer

    return getAllLemmas  # type: ignore[no-any-return]


def english_word(word: str) -> bool:
    """Whether a lower-case word is in LemmInflect's English lexicon."""
    return bool(_lexicon()(word))


def usable(
    name: str, *, proper: bool = True, lexicon: Callable[[str], bool] = english_word
) -> tuple[str, str | None] | None:
    """How ``name`` is matched: ``(key, spelling)``, the folded key and, when only its
    producer's capitalisation counts, that spelling (NFKC); None when it is not matched."""
    key = " ".join(fold(name).split())
    if not any(c.isalpha() for c in key) or key in GENERIC:
        return None
    unspaced = sum(1 for c in key if _unspaced(c))
    if unspaced:
        return (key, None) if unspaced >= MIN_CJK else None
    if sum(1 for c in key if c.isalnum()) < MIN_LATIN:
        return None
    if key.isascii() and key.isalpha() and lexicon(key):
        written = " ".join(unicodedata.normalize("NFKC", name).split())
        if not proper or written == written.lower():
            return None
        return key, written
    return key, None


@dataclass(frozen=True)
class Name:
    text: str
    #: What it names: the caller's key (a STIX id).
    target: str
    #: A proper name (a group, software, a campaign) rather than a description (a
    #: technique, a mitigation): see :func:`usable`.
    proper: bool = True


@dataclass(frozen=True)
class Found:
    """A name in a text: where (offsets in the original text), the name as its first
    producer wrote it, and what it names."""

    start: int
    end: int
    name: str
    targets: tuple[str, ...]


@dataclass
class _Entry:
    key: str
    name: str
    #: target → the spellings that count (None: any case).
    targets: dict[str, set[str] | None] = field(default_factory=dict)

    def add(self, target: str, spelling: str | None) -> None:
        if target in self.targets:
            held = self.targets[target]
            if held is not None:
                if spelling is None:
                    self.targets[target] = None
                else:
                    held.add(spelling)
            return
        self.targets[target] = None if spelling is None else {spelling}

    def named_by(self, written: str) -> tuple[str, ...]:
        as_written = " ".join(unicodedata.normalize("NFKC", written).split())
        return tuple(t for t, s in self.targets.items() if s is None or as_written in s)


class Gazetteer:
    """Names compiled once into an automaton, looked for in many texts."""

    def __init__(
        self, names: Iterable[Name], *, lexicon: Callable[[str], bool] = english_word
    ) -> None:
        import ahocorasick  # as the rules do

        self._entries: dict[str, _Entry] = {}
        for n in names:
            rule = usable(n.text, proper=n.proper, lexicon=lexicon)
            if rule is None:
                continue
            key, spelling = rule
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(key, n.text.strip())
            entry.add(n.target, spelling)
        self._automaton: Any = None
        if self._entries:
            self._automaton = ahocorasick.Automaton()
            for key, entry in self._entries.items():
                self._automaton.add_word(key, entry)
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, text: str) -> list[Found]:
        """The names in ``text``, in order, none overlapping another."""
        if self._automaton is None or not text:
            return []
        folded, origin = fold_map(text)
        size = len(folded)

        def back(i: int) -> int:  # a folded offset in the original text
            if origin is None:
                return i
            return origin[i] if i < size else len(text)

        candidates: list[Found] = []
        for last, entry in self._automaton.iter(folded):
            start, end = last - len(entry.key) + 1, last + 1
            if _spaced_word(entry.key[0]) and start > 0 and _spaced_word(folded[start - 1]):
                continue
            if _spaced_word(entry.key[-1]) and end < size and _spaced_word(folded[end]):
                continue
            o_start, o_end = back(start), back(end)
            targets = entry.named_by(text[o_start:o_end])
            if targets:
                candidates.append(Found(o_start, o_end, entry.name, targets))
        candidates.sort(key=lambda f: (f.start, f.start - f.end))
        out: list[Found] = []
        reached = 0
        for f in candidates:
            if f.start >= reached:
                out.append(f)
                reached = f.end
        return out
