"""Rule conditions on single items: the search analyser's meaning of a word, keys that
skip rules that cannot match, regular expressions under a time limit."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kizashi.model.errors import KizashiError
from kizashi.model.rules import parse_condition, parse_rule
from kizashi.text.rulematch import (
    Compiled,
    Item,
    RegexNode,
    RuleSet,
    Terms,
    compile_condition,
    required_literal,
    required_literals,
)


def matches(cond: dict[str, Any], title: str, text: str = "", **item: Any) -> list[str] | None:
    """What matched (None for no match)."""
    node = compile_condition(parse_condition(cond), "test")
    why: list[str] = []
    return why if node.test(Terms.of(Item(title, text, **item)), why) else None


@pytest.mark.parametrize(
    ("word", "text", "hit"),
    [
        ("ランサムウェア", "国内企業へのランサムウェア攻撃が続いている", True),  # no spaces needed
        ("ウェア", "ランサムウェア攻撃", True),  # inside a word, like search's bigrams
        ("ログ", "プログラムを更新", True),
        ("コンピューター", "コンピュータが感染した", True),  # spelling variant (Sudachi)
        ("apt", "The APT group", True),
        ("apt", "a new adapter was found", False),  # English keeps word bounds
        ("attack", "attackers attacked", True),  # by stem
        ("10.0.0.5", "通信先は10.0.0.50", False),
        ("10.0.0.5", "通信先は10[.]0[.]0[.]5", True),
        ("evil.com", "接続先 ｓｕｂ．ｅｖｉｌ．ｃｏｍ", True),  # full-width host of the domain
    ],
)
def test_words_mean_what_search_means(word: str, text: str, hit: bool) -> None:
    assert (matches({"words": [word]}, "", text) is not None) is hit


def test_all_of_phrase_and_query() -> None:
    text = "Ivanti Connect Secure の脆弱性 CVE-2024-21887 が悪用された"
    assert matches({"words": ["Ivanti", "脆弱性"], "match": "all"}, "", text) == [
        "Ivanti",
        "脆弱性",
    ]
    assert matches({"words": ["Ivanti", "Fortinet"], "match": "all"}, "", text) is None
    assert matches({"phrase": "connect secure"}, "", text) is not None
    assert matches({"phrase": "secure connect"}, "", text) is None
    q = {"query": "ioc:cve AND 悪用 NOT tag:test"}
    assert matches(q, "", text) is not None
    assert matches(q, "", text, tags={"test"}) is None
    assert matches({"query": "type:note"}, "", text) is None
    assert matches({"query": "published:>=2024-01-01"}, "", text, published="2024-05-01T00:00:00Z")


def test_sources_languages_indicators_and_watchlists() -> None:
    ja = "国内の製造業を狙った攻撃が続いている。"
    assert matches({"source": ["JPCERT/CC", "IPA"]}, "", ja, source="jpcert/cc") is not None
    assert matches({"source": ["IPA"]}, "", ja, source="NISC") is None
    assert matches({"language": "ja"}, "", ja) is not None
    assert matches({"language": "en"}, "", ja) is None
    assert matches({"indicator": ["sha256"]}, "", "hash " + "a" * 63 + "b") is not None
    assert matches({"indicator": ["ipv4"]}, "", ja) is None
    watch = {"watchlist": ["198.51.100.7", "bad-actor.example", "悪性ツール", "apt"]}
    assert matches(watch, "", "悪性ツールXを確認") == ["悪性ツール"]
    assert matches(watch, "", "c2: bad-actor[.]example と 198.51.100.7") == [
        "198.51.100.7",
        "bad-actor.example",
    ]
    assert matches(watch, "", "adapter") is None


def test_regex_and_fuzzy() -> None:
    assert matches({"regex": r"CVE-\d{4}-\d{4,}"}, "", "see cve-2024-3400") == ["cve-2024-3400"]
    assert (
        matches({"regex": r"CVE-\d{4}-\d{4,}", "ignore_case": False}, "", "cve-2024-3400") is None
    )
    assert matches({"fuzzy": "Connect Secure", "threshold": 85}, "", "Conect Secure flaw")
    assert matches({"fuzzy": "Connect Secure", "threshold": 95}, "", "Conect Securre") is None


def test_a_catastrophic_regex_costs_one_rule_one_item(caplog: pytest.LogCaptureFixture) -> None:
    slow = {"name": "slow", "when": {"regex": r"(a+)+$"}, "then": {"add_tags": ["x"]}}
    fine = {"name": "fine", "when": {"words": ["aaaa"]}, "then": {"add_tags": ["y"]}}
    rules = [parse_rule(r) for r in (slow, fine)]
    rs = RuleSet([Compiled(r.name, r.name, compile_condition(r.when, r.name)) for r in rules])
    hostile = Item("aaaa", "a" * 5000 + "!")
    with caplog.at_level(logging.WARNING):
        hits = rs.evaluate(Terms.of(hostile))
    assert [h.name for h in hits] == ["fine"]
    assert any("slow" in r.getMessage() and "too long" in r.getMessage() for r in caplog.records)


def test_keys_skip_rules_that_cannot_match() -> None:
    raw = [
        {"name": "ivanti", "when": {"words": ["Ivanti"]}, "then": {"add_tags": ["a"]}},
        {"name": "ja", "when": {"words": ["ランサムウェア"]}, "then": {"add_tags": ["b"]}},
        {"name": "re", "when": {"regex": "evil-corp-[0-9]+"}, "then": {"add_tags": ["c"]}},
        {"name": "not", "when": {"not": {"words": ["test"]}}, "then": {"add_tags": ["d"]}},
    ]
    rules = [parse_rule(r) for r in raw]
    rs = RuleSet([Compiled(r.name, r.name, compile_condition(r.when, r.name)) for r in rules])
    names = [rs.rules[i].name for i in rs.candidates(Terms.of(Item("", "plain words only")))]
    assert names == ["not"]  # a lone NOT has no key: always evaluated
    t = Terms.of(Item("", "ランサムウェア from evil-corp-12"))
    assert [rs.rules[i].name for i in rs.candidates(t)] == ["ja", "re", "not"]
    assert [h.name for h in rs.evaluate(t)] == ["ja", "re", "not"]


def test_an_and_is_looked_up_by_its_narrowest_part() -> None:
    raw = {
        "name": "ja-ransom",
        "when": {"all": [{"language": "ja"}, {"words": ["ランサムウェア"]}]},
        "then": {"add_tags": ["r"]},
    }
    rule = parse_rule(raw)
    rs = RuleSet([Compiled(rule.name, rule.name, compile_condition(rule.when, rule.name))])
    keys = rs.rules[0].node.keys
    assert keys is not None and ("w", "ランサムウェア") in keys and ("lang", "ja") not in keys
    # A Japanese item without the word is not even a candidate; one with it matches.
    assert rs.candidates(Terms.of(Item("", "国内企業への攻撃が続いている。"))) == []
    hit = rs.evaluate(Terms.of(Item("", "国内企業へのランサムウェア攻撃が続いている。")))
    assert [h.name for h in hit] == ["ja-ransom"]


def test_a_regex_literal_guards_the_pattern() -> None:
    node = compile_condition(
        parse_rule(
            {"name": "x", "when": {"regex": "CVE-2024-[0-9]+"}, "then": {"add_tags": ["t"]}}
        ).when,
        "x",
    )
    assert isinstance(node, RegexNode) and node.literals == ("cve-2024-",)
    why: list[str] = []
    assert not node.test(Terms.of(Item("", "CVE-2023-1234 only")), why)
    assert node.test(Terms.of(Item("", "see CVE-2024-21887")), why)
    assert why == ["CVE-2024-21887"]


def test_required_literal_is_sound() -> None:
    assert required_literal(r"foo(bar|baz)qux") == "foo"
    assert required_literal("abc|xyz") is None
    assert required_literal(r"ab?cdef") == "cdef"
    assert required_literal(r"\d+") is None


@pytest.mark.parametrize(
    ("pattern", "literals", "matches"),
    [
        ("abc|xyz", ("abc", "xyz"), ["xyz"]),
        (r"(?:Emotet|Qakbot)\s+\w+", ("Emotet", "Qakbot"), ["Qakbot  dropper"]),
        (r"(?:Emotet|Qakbot)\s+loader", ("loader",), ["Emotet loader"]),  # one beats two
        (r"(?:Lazarus|APT10).{0,60}(?:攻撃|x)", ("APT10", "Lazarus"), ["APT10 による攻撃"]),
        (r"(?:攻撃|侵害)(?:者|グループ|手法)", ("侵害", "攻撃"), ["侵害手法"]),  # 2 kanji = 3
        (r"(ab){2,}cde", ("cde",), ["ababcde"]),
        (r"(?:abc)+xy", ("abc",), ["abcabcxy"]),
        (r"(?:abc)?xy", None, []),  # optional: not required
        (r"(?:abc|\d+)z", None, []),  # one branch needs no literal
        (r"\b[a-f0-9]{64}\b", None, []),
        (r"(?:a|b)cd", None, []),  # too short to be worth a gate
    ],
)
def test_required_literals_are_one_per_branch(
    pattern: str, literals: tuple[str, ...] | None, matches: list[str]
) -> None:
    import regex

    found = required_literals(pattern)
    if literals is None:
        assert found is None
        return
    assert found is not None and set(found) == set(literals)
    for text in matches:  # sound: what the pattern matches holds one of them
        m = regex.search(pattern, text)
        assert m is not None and any(x in m.group() for x in found)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"name": "x", "when": {"regex": "(a"}, "then": {"add_tags": ["t"]}}, "when.regex"),
        ({"name": "x", "when": {"regex": "a*"}, "then": {"add_tags": ["t"]}}, "when.regex"),
        ({"name": "x", "when": {"any": [{"query": "(a"}]}, "then": {"add_tags": ["t"]}}, "any[0]"),
        ({"name": "x", "when": {"language": "fr"}, "then": {"add_tags": ["t"]}}, "when.language"),
        ({"name": "x", "when": {"indicator": ["ip"]}, "then": {"add_tags": ["t"]}}, "indicator"),
        ({"name": "x", "when": {"words": []}, "then": {"add_tags": ["t"]}}, "when.words"),
        ({"name": "x", "when": {"bogus": 1}, "then": {"add_tags": ["t"]}}, "when"),
        ({"name": "x", "when": {"words": ["a"]}, "then": {}}, "then"),
        ({"name": "x", "when": {"words": ["a"]}, "then": {"set_tlp": "blue"}}, "then.set_tlp"),
        (
            {"name": "x", "when": {"words": ["a"]}, "then": {"relate": {"target_ref": "x"}}},
            "relate",
        ),
        ({"when": {"words": ["a"]}, "then": {"add_tags": ["t"]}}, "name"),
    ],
)
def test_bad_rules_say_where(raw: dict[str, Any], where: str) -> None:
    with pytest.raises(KizashiError) as caught:
        parse_rule(raw)
    assert where in caught.value.message


def test_an_items_analysis_is_the_one_the_index_reuses() -> None:
    from kizashi.text.analyse import analyse, analyse_shared

    title = "Ivanti 製品の脆弱性"
    text = "攻撃者は evil-domain[.]com から侵入した。\n\nThe payload ran."
    t = Terms.of(Item(title, text))
    whole = analyse(t.raw)
    # The same terms as one analysis of the whole item ...
    assert t.analysis.words == whole.words
    assert t.analysis.runs == whole.runs
    assert [v for v, _, _ in t.analysis.indicators] == [v for v, _, _ in whole.indicators]
    assert [t.raw[s:e] for _, s, e in t.analysis.indicators] == [
        t.raw[s:e] for _, s, e in whole.indicators
    ]
    # ... made of the two analyses the index asks for: they are remembered, not redone.
    before = analyse_shared.cache_info().hits
    analyse_shared(title), analyse_shared(text)
    assert analyse_shared.cache_info().hits == before + 2


def test_the_literal_gate_passes_only_rules_whose_literal_is_there() -> None:
    from kizashi.text.rulematch import LiteralGate

    def node(when: dict[str, Any]) -> Any:
        return compile_condition(
            parse_rule({"name": "x", "when": when, "then": {"add_tags": ["t"]}}).when, "x"
        )

    nodes = [
        node({"regex": "CVE-2024-[0-9]+"}),  # literal cve-2024-
        node({"regex": "[a-f0-9]{64}"}),  # no literal: always tested
        node({"regex": "evil-corp-[0-9]+"}),
        node({"any": [{"regex": "zzz-[0-9]+"}, {"words": ["Ivanti"]}]}),  # not only literals
    ]
    gate = LiteralGate(nodes)
    assert gate.open(Terms.of(Item("", "nothing here"))) == [1, 3]
    assert gate.open(Terms.of(Item("", "see cve-2024-1 and EVIL-CORP-9"))) == [0, 1, 2, 3]
