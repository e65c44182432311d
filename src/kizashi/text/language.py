"""Japanese, English or mixed, from the scripts a text is written in.

A first, dependency-free answer for ingestion: kana is decisive for Japanese (Chinese
has none), Latin letters for English. The search issue refines this per paragraph.
"""

from __future__ import annotations

import re

# Runs, not characters: fewer objects for the same counts.
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]+")
_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
_LATIN = re.compile(r"[A-Za-z]+")
#: Below this many letters nothing is decided.
MIN_LETTERS = 20


def counts(text: str) -> tuple[int, int, int]:
    """How many kana, kanji and Latin letters ``text`` has."""
    return (
        sum(map(len, _KANA.findall(text))),
        sum(map(len, _KANJI.findall(text))),
        sum(map(len, _LATIN.findall(text))),
    )


def detect(text: str) -> str | None:
    """``"ja"``, ``"en"``, ``"mixed"`` or None when there is too little to tell."""
    return decide(*counts(text))


def decide(kana: int, kanji: int, latin: int) -> str | None:
    """The rule on counts of kana, kanji and Latin letters (the analyser counts them itself)."""
    # One Japanese character carries about as much as a short English word.
    ja = (kana + kanji) * 3
    if ja + latin < MIN_LETTERS:
        return None
    if kana == 0 and latin == 0:
        return None
    share = ja / (ja + latin)
    if share >= 0.8 and kana > 0:
        return "ja"
    if share <= 0.2:
        return "en"
    return "mixed" if kana > 0 else "en"
