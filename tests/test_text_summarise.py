"""Extractive summaries: sentences and their offsets, the budget, no repetition, the
best-weighted sentence kept; on small texts of our own and on real Japanese and English
prose (../shared/data: OWASP translations, STIX threat reports, ATT&CK descriptions)."""

from __future__ import annotations

import json
import re

import pytest

from kizashi.text.summarise import (
    REDUNDANT,
    Extract,
    Source,
    jaccard,
    split,
    summarise,
)
from support import shared_data

ARTICLE = (
    "ランサムウェア攻撃の注意喚起\n"
    "国内の製造業を狙ったランサムウェア攻撃が続いている。"
    "攻撃者は VPN 機器の脆弱性 CVE-2024-21887 を悪用して侵入し、サーバーのファイルを暗号化した。"
    "身代金を要求する脅迫文が残されていた。"
    "国内の製造業を狙ったランサムウェア攻撃が続いている。\n"
    "通信先は 45.77.12.34 であった。天気は晴れだった。\n"
    "Volt Typhoon exploited Ivanti Connect Secure in January. E.g. the U.S. agencies "
    "warned about it. The actor used living-off-the-land techniques."
)


def test_sentences_keep_their_offsets_across_lines_and_languages() -> None:
    found = split(ARTICLE)
    for text, start, end in found:
        assert ARTICLE[start:end] == text
    texts = [t for t, _, _ in found]
    assert texts[0] == "ランサムウェア攻撃の注意喚起"  # a line ends a sentence
    assert "E.g. the U.S. agencies warned about it." in texts  # abbreviations left whole
    assert "通信先は 45.77.12.34 であった。" in texts  # the address's dots too


def check(extract: Extract, sources: list[Source], budget: int) -> None:
    """What every summary must be: within the budget, spans of its sources, no
    sentence twice or nearly twice, and the best-weighted sentence that fits kept."""
    assert len(extract.text) <= budget
    assert extract.sentences, "an empty summary"
    for s in extract.sentences:
        assert sources[s.source].text[s.start : s.end] == s.text
    for i, a in enumerate(extract.sentences):
        for b in extract.sentences[i + 1 :]:
            assert a.text != b.text
            assert jaccard(a.terms, b.terms) <= REDUNDANT
    fitting = [s for s in extract.pool if len(s.text) <= budget]
    if fitting:
        best = max(fitting, key=lambda s: s.score)
        assert best in extract.sentences
    assert extract.ranked == sorted(extract.ranked, key=lambda s: -s.score)


def test_one_article() -> None:
    sources = [Source("ランサムウェア攻撃の注意喚起", ARTICLE)]
    x = summarise(sources, budget=160)
    check(x, sources, 160)
    # The repeated sentence is said once; the weather is not what the article is about.
    assert x.text.count("国内の製造業を狙った") <= 1
    assert "天気" not in x.text
    assert "ランサムウェア" in x.text
    assert [s.source for s in x.sentences] == [0] * len(x.sentences)
    # Reading order.
    assert [s.start for s in x.sentences] == sorted(s.start for s in x.sentences)


def test_a_budget_smaller_than_any_sentence_cuts_the_best() -> None:
    x = summarise([Source("", ARTICLE)], budget=10)
    assert len(x.sentences) == 1 and len(x.text) <= 10 and x.text.endswith("…")
    with pytest.raises(ValueError, match="budget"):
        summarise([Source("", ARTICLE)], budget=0)


def test_a_collection_cites_its_sources() -> None:
    sources = [
        Source("Ivanti", "Volt Typhoon exploited Ivanti Connect Secure. Patches are out now."),
        Source("天気", "今日は晴れ。明日は雨が降るでしょう。気温は二十度まで上がる見込み。"),
        Source("Ivanti again", "Ivanti Connect Secure was exploited again by Volt Typhoon."),
    ]
    x = summarise(sources, budget=200)
    check(x, sources, 200)
    assert {s.source for s in x.sentences} <= {0, 1, 2}
    # The two Ivanti sentences say one thing: one of them is kept.
    assert sum("Ivanti" in s.text for s in x.sentences) == 1
    # Sentences of under 12 letters (今日は晴れ。) are not candidates.
    assert x.considered == 4


def _ja_documents() -> list[str]:
    lines = shared_data("ja", "security-prose-ja.txt").read_text(encoding="utf-8").splitlines()
    # Twelve documents of 30 consecutive sentences, spread over the corpus.
    step = len(lines) // 12
    return ["\n".join(lines[i * step : i * step + 30]) for i in range(12)]


@pytest.mark.parametrize("budget", [200, 400])
def test_real_japanese_prose(budget: int) -> None:
    for text in _ja_documents():
        sources = [Source("", text)]
        x = summarise(sources, budget)
        check(x, sources, budget)
        assert re.search(r"[\u3040-\u30ff\u3400-\u9fff]", x.text)


def _stix_reports() -> list[Source]:
    out = []
    folder = shared_data("stix", "examples", "examples", "threat-reports")
    for path in sorted(folder.glob("*.json")):
        for o in json.loads(path.read_text(encoding="utf-8"))["objects"]:
            if o.get("type") == "report" and len(o.get("description", "")) > 500:
                out.append(Source(o["name"], o["description"], o["id"]))
    attack = json.loads(shared_data("attack", "ics-attack-17.1.json").read_text("utf-8"))
    for o in attack["objects"]:
        if o.get("type") in ("malware", "intrusion-set") and len(o.get("description", "")) > 800:
            # ATT&CK's links are Markdown: the words are the prose.
            text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", o["description"])
            out.append(Source(o["name"], text, o["id"]))
    return out


def test_real_english_threat_reports() -> None:
    sources = _stix_reports()
    assert len(sources) >= 8
    for src in sources:
        x = summarise([src], 400)
        check(x, [src], 400)
        # A report's summary names what it is about (its title's words).
        assert src.title.split()[0].strip("()") in x.text or len(x.sentences) >= 2
    # All of them together: a collection summary, each sentence citing one report.
    together = summarise(sources, 600)
    check(together, sources, 600)
    assert len({s.source for s in together.sentences}) >= 2
