"""Keywords: what term statistics count (nouns and names, compounds whole)."""

from __future__ import annotations

import pytest

from kizashi.text.analyse import STOPWORDS_EN, analyse
from kizashi.text.keywords import english


def kw(text: str) -> list[str]:
    return analyse(text).keywords()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("サプライチェーン攻撃が増加している。", ["サプライチェーン攻撃", "増加"]),
        ("ランサムウェアグループによる標的型攻撃", ["ランサムウェアグループ", "標的型攻撃"]),
        # Suffixes stay on their compound; the stopword 者 alone would not be a term.
        ("北朝鮮の攻撃者が暗号資産交換業者を狙った", ["北朝鮮", "攻撃者", "暗号資産交換業者"]),
        # A numeral breaks a compound, and the counter after it is no term of its own.
        ("2024年に新たな脆弱性が見つかった", ["脆弱性"]),
        ("第3四半期に約5件の被害", ["四半期", "被害"]),
        # Stopwords at a compound's edge go; alone they are not terms.
        ("今回の攻撃では", ["攻撃"]),
    ],
)
def test_japanese_keywords_are_noun_compounds(text: str, expected: list[str]) -> None:
    assert kw(text) == expected


def test_japanese_keywords_are_normalised_and_do_not_span_punctuation_or_lines() -> None:
    # Sudachi's normalised form: the spelling variants count as one term.
    assert kw("コンピュータ") == kw("コンピューター") == ["コンピューター"]
    assert kw("攻撃、侵入") == ["攻撃", "侵入"]
    assert kw("攻撃\n\n侵入") == ["攻撃", "侵入"]
    # English between two Japanese nouns separates them too.
    assert kw("攻撃 Emotet 侵入")[:2] == ["攻撃", "侵入"]


def test_english_keywords_are_noun_lemmas_and_names() -> None:
    text = (
        "Volt Typhoon exploited a zero-day vulnerability in Ivanti Connect Secure. "
        "Attackers used the attacker's VPN servers and Windows hosts."
    )
    assert english(text, STOPWORDS_EN) == [
        "volt typhoon",  # capitalised words in a row: one name
        "zero-day",  # hyphenated: whole
        "vulnerability",
        "ivanti connect secure",
        "attacker",  # a sentence's first capital is no name: lemmatised
        "attacker",  # a possessive
        "vpn",  # an acronym
        "server",
        "windows",  # a name inside a sentence: not lemmatised to "window"
        "host",
    ]


def test_english_verbs_and_adjectives_are_not_keywords_but_unknown_words_are() -> None:
    assert english("it was exploited and used by quickly", STOPWORDS_EN) == []
    assert english("the ransomware encrypted lockbit samples", STOPWORDS_EN) == [
        "ransomware",
        "lockbit",
        "sample",
    ]


def test_a_headline_in_title_case_is_read_word_by_word() -> None:
    words = english("Critical Vulnerability In Ivanti Connect Secure Exploited", STOPWORDS_EN)
    assert "ivanti connect secure exploited" not in words
    assert {"vulnerability", "ivanti"} <= set(words)
    # The leading article of a name is dropped.
    assert english("Researchers observed The Lazarus Group again", STOPWORDS_EN) == [
        "researcher",
        "lazarus group",
    ]


def test_indicators_are_not_keywords_and_repeats_are_kept() -> None:
    words = kw("マルウェアは evil.example.com と 10.0.0.1 に接続する。マルウェアの通信。")
    assert words.count("マルウェア") == 2
    assert not any("example" in w or "10.0" in w for w in words)
