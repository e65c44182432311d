"""Search through the service, on SQLite and PostgreSQL: matching, ranking, filters,
TLP inside the query, facets, cursors, saved searches, and the index following edits."""

from __future__ import annotations

from typing import Any

import pytest

from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.store.mentions import pks_by_ids as repo_pks

IDENTITY = "identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"


def report(
    kz: Kizashi,
    name: str,
    text: str,
    *,
    published: str = "2024-05-01T00:00:00.000Z",
    tags: tuple[str, ...] = (),
    tlp: str | None = None,
    actor: Actor = SYSTEM,
) -> str:
    view, _ = kz.objects.create(
        actor,
        {
            "type": "report",
            "name": name,
            "description": text,
            "published": published,
            "object_refs": [IDENTITY],
        },
        tags=tags,
        tlp=tlp,
    )
    return view.id


def ids(kz: Kizashi, query: str, actor: Actor = SYSTEM, **kw: Any) -> list[str]:
    """The reports found (extraction also stores each indicator as an object of its own)."""
    found = kz.search.search(actor, f"type:report ({query})", limit=200, **kw)
    return [h.id for h in found.hits]


@pytest.fixture
def corpus(kz: Kizashi) -> dict[str, str]:
    return {
        "log": report(kz, "調査報告", "攻撃者は侵入後にログを削除した。"),
        "program": report(kz, "更新のお知らせ", "新しいプログラムを公開した。ブログも更新。"),
        "title": report(kz, "ログ分析の手引き", "解析の方法を説明する。"),
        "ip5": report(kz, "通信先", "通信先は10.0.0.5であった。", tags=("apt",)),
        "ip50": report(kz, "別の通信先", "通信先は 10.0.0.50 であった。"),
        "defanged": report(kz, "Phishing", "Links to hxxps://evil-domain[.]com/login were sent."),
        "fullwidth": report(kz, "全角", "接続先：ｓｕｂ．ｅｖｉｌ－ｄｏｍａｉｎ．ｃｏｍ を確認。"),
        "ransom_red": report(
            kz, "ランサムウェア攻撃", "ランサムウェアによる攻撃", tags=("ransomware",), tlp="red"
        ),
        "ransom": report(
            kz,
            "Ransomware attacks on Japan",
            "日本の企業へのランサムウェア攻撃が続いている。",
            tags=("ransomware",),
            tlp="amber",
            published="2025-02-01T00:00:00.000Z",
        ),
        "english": report(
            kz, "Attackers exploit Ivanti", "The attackers exploited CVE-2024-21887 in Ivanti."
        ),
        "variant": report(kz, "端末", "コンピュータがマルウェアに感染した。"),
    }


def test_word_matches_rank_above_bigram_only_matches(kz: Kizashi, corpus: dict[str, str]) -> None:
    found = ids(kz, "ログ")
    # Every document that contains ログ is found (recall of a substring search)…
    assert set(found) == {corpus["log"], corpus["program"], corpus["title"]}
    # …the title match first, the body word match next, プログラム/ブログ last.
    assert found == [corpus["title"], corpus["log"], corpus["program"]]


def test_spelling_variants_and_english_stems(kz: Kizashi, corpus: dict[str, str]) -> None:
    assert ids(kz, "コンピューター") == [corpus["variant"]]
    assert corpus["english"] in ids(kz, "exploits")
    assert ids(kz, "ivanti") == [corpus["english"]]


def test_indicators_exact_defanged_and_full_width(kz: Kizashi, corpus: dict[str, str]) -> None:
    assert ids(kz, "10.0.0.5") == [corpus["ip5"]]
    # The observable the extractor stored is found as well.
    types = [h.type for h in kz.search.search(SYSTEM, "10.0.0.5").hits]
    assert sorted(types) == ["ipv4-addr", "report"]
    assert ids(kz, "10.0.0.50") == [corpus["ip50"]]
    # The registered domain finds its hosts and URLs, however they were written.
    assert set(ids(kz, "evil-domain.com")) == {corpus["defanged"], corpus["fullwidth"]}
    assert ids(kz, "sub.evil-domain[.]com") == [corpus["fullwidth"]]
    assert ids(kz, "ioc:cve-2024-21887") == [corpus["english"]]
    assert set(ids(kz, "ioc:ipv4")) == {corpus["ip5"], corpus["ip50"]}


def test_boolean_phrases_and_fields(kz: Kizashi, corpus: dict[str, str]) -> None:
    assert ids(kz, '"ログを削除"') == [corpus["log"]]
    assert ids(kz, '"ログは削除"') == []
    assert ids(kz, '"exploited CVE-2024-21887"') == [corpus["english"]]
    assert ids(kz, '"attackers exploit"') == [corpus["english"]]
    assert ids(kz, '"exploit attackers"') == []  # English phrases keep their order
    # Japanese needs no spaces: the words of an unspaced term need only all be there.
    assert ids(kz, "侵入後ログ削除") == [corpus["log"]]
    assert set(ids(kz, "ログ OR 通信先")) == {
        corpus["log"],
        corpus["program"],
        corpus["title"],
        corpus["ip5"],
        corpus["ip50"],
    }
    assert set(ids(kz, "ログ NOT プログラム")) == {corpus["log"], corpus["title"]}
    assert set(ids(kz, "(ログ OR 通信先) -tag:apt type:report")) == {
        corpus["log"],
        corpus["program"],
        corpus["title"],
        corpus["ip50"],
    }
    assert ids(kz, "tag:ransomware 攻撃 NOT tag:tlp:red") == [corpus["ransom"]]
    assert ids(kz, "tlp:amber") == [corpus["ransom"]]
    assert corpus["english"] in ids(kz, "lang:en")
    assert corpus["log"] not in ids(kz, "lang:en")
    assert ids(kz, "ランサムウェア published:>=2025-01-01") == [corpus["ransom"]]
    assert ids(kz, "ランサムウェア published:2024") == [corpus["ransom_red"]]
    assert ids(kz, "ランサムウェア published:2024-01..2024-04") == []
    assert ids(kz, "tag:ransom*") == ids(kz, "tag:ransomware")
    assert corpus["log"] in ids(kz, "source:kizashi")


def test_language_is_stored_per_document_and_paragraph(kz: Kizashi) -> None:
    text = (
        "国内の企業を狙った攻撃が続いている。\n\nThe attackers used a new loader.\n\n"
        "日本語と English words and more が混ざった"
    )
    rid = report(kz, "言語", text)
    kz.search.follower.catch_up()
    with kz.store.read() as conn:
        pk = repo_pks(conn, [rid])[rid]
    lang, paragraphs = kz.search.index.languages(pk) or (None, [])
    assert lang == "mixed"
    assert [code for _, _, code in paragraphs] == ["ja", "en", "mixed"]
    start, end, _ = paragraphs[1]
    assert text[start:end] == "The attackers used a new loader."
    assert ids(kz, "lang:mixed 言語") == [rid]


def test_dates_past_2038_and_before_1902_are_indexed(kz: Kizashi) -> None:
    """A feed's impossible date does not keep its item out of the index (the sort key's
    seconds are 32 bits: such dates sort at the ends)."""
    late = report(kz, "未来の日付", "日付の誤り。", published="2099-01-01T00:00:00.000Z")
    early = report(kz, "過去の日付", "日付の誤り。", published="1900-01-01T00:00:00.000Z")
    now = report(kz, "今の日付", "日付の誤り。", published="2026-01-01T00:00:00.000Z")
    last = report(kz, "最後の日付", "日付の誤り。", published="9999-12-31T00:00:00.000Z")
    first = report(kz, "最初の日付", "日付の誤り。", published="0001-01-01T00:00:00.000Z")
    assert kz.search.follower.catch_up() >= 5
    newest = ids(kz, "日付の誤り", sort="newest")
    assert set(newest) == {late, early, now, last, first}
    # Dates past the ends sort at them, the newer object first among equals. (The year 1
    # is left out: stix2 writes it "1-01-01", which no date parser reads, so the item
    # sorts by its creation time.)
    assert [i for i in newest if i != first] == [last, late, now, early]
    assert ids(kz, "published:2099") == [late]


def test_syntax_errors_name_the_position(kz: Kizashi) -> None:
    with pytest.raises(KizashiError) as caught:
        kz.search.search(SYSTEM, 'ransomware AND "unclosed')
    assert "position 16" in caught.value.message
    with pytest.raises(KizashiError, match="position"):
        kz.search.search(SYSTEM, "published:>=2024-13-01")


def test_tlp_is_enforced_inside_the_query(
    kz: Kizashi, corpus: dict[str, str], analyst: Actor, reader: Actor
) -> None:
    everything = kz.search.search(SYSTEM, "ランサムウェア")
    assert everything.total == 2
    as_reader = kz.search.search(reader, "ランサムウェア", facets=True)
    # The count, the hits and the facets all leave RED out: nothing filtered afterwards.
    assert as_reader.total == 1
    assert [h.id for h in as_reader.hits] == [corpus["ransom"]]
    assert dict(as_reader.facets["tlp"]) == {"amber": 1}
    own = report(kz, "自分のランサムウェア調査", "ランサムウェア", tlp="red", actor=analyst)
    assert set(ids(kz, "ランサムウェア", analyst)) == {corpus["ransom"], own}
    assert ids(kz, "ランサムウェア", reader) == [corpus["ransom"]]


def test_snippets_mark_every_matched_term(kz: Kizashi, corpus: dict[str, str]) -> None:
    hit = kz.search.search(SYSTEM, "ログ").hits[1]
    assert hit.id == corpus["log"]
    assert "<mark>ログ</mark>を削除" in hit.snippet_html
    hit = kz.search.search(SYSTEM, "evil-domain.com sub").hits
    assert hit == []
    hit = kz.search.search(SYSTEM, "evil-domain.com").hits
    marked = {h.id: h.snippet_html for h in hit}
    assert "<mark>hxxps://evil-domain[.]com/login</mark>" in marked[corpus["defanged"]]
    assert "<mark>ｓｕｂ．ｅｖｉｌ－ｄｏｍａｉｎ．ｃｏｍ</mark>" in marked[corpus["fullwidth"]]
    hit = kz.search.search(SYSTEM, "コンピューター").hits[0]
    assert "<mark>コンピュータ</mark>が" in hit.snippet_html
    hit = kz.search.search(SYSTEM, "attack").hits[0]
    assert "<mark>attackers</mark>" in hit.snippet_html.lower()
    assert "<mark>Attackers</mark>" in hit.title_html


def test_hostile_text_is_escaped_in_snippets(kz: Kizashi) -> None:
    report(kz, "<script>alert(1)</script>", "<img src=x onerror=alert(1)> マルウェア")
    hit = kz.search.search(SYSTEM, "マルウェア").hits[0]
    assert "<img" not in hit.snippet_html and "&lt;img" in hit.snippet_html
    assert "<script>" not in hit.title_html


def test_facets_count_what_matches(kz: Kizashi, corpus: dict[str, str]) -> None:
    result = kz.search.search(SYSTEM, "type:report", facets=True)
    facets = {k: dict(v) for k, v in result.facets.items()}
    assert facets["type"] == {"report": len(corpus)}
    assert facets["tag"]["ransomware"] == 2
    assert facets["tlp"] == {"none": len(corpus) - 2, "red": 1, "amber": 1}
    assert facets["lang"]["ja"] >= 7
    assert sum(facets["published"].values()) == len(corpus)
    assert facets["published"] == {"2024-05": len(corpus) - 1, "2025-02": 1}


def test_cursor_pages_cover_everything_once(kz: Kizashi) -> None:
    made = [
        report(kz, f"報告{i}", f"マルウェア{i}", published=f"2024-01-{i + 1:02d}T00:00:00.000Z")
        for i in range(25)
    ]
    for sort in ("relevance", "newest"):
        seen: list[str] = []
        cursor = None
        while True:
            page = kz.search.search(SYSTEM, "マルウェア", sort=sort, limit=10, cursor=cursor)
            seen += [h.id for h in page.hits]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(made), sort
    newest = kz.search.search(SYSTEM, "マルウェア", sort="newest", limit=10)
    assert [h.id for h in newest.hits] == made[::-1][:10]
    # A newer item arriving between pages does not shift the next page.
    report(kz, "新着", "マルウェア", published="2025-01-01T00:00:00.000Z")
    page2 = kz.search.search(
        SYSTEM, "マルウェア", sort="newest", limit=10, cursor=newest.next_cursor
    )
    assert [h.id for h in page2.hits] == made[::-1][10:20]
    with pytest.raises(KizashiError, match="cursor"):
        kz.search.search(SYSTEM, "マルウェア", sort="relevance", cursor=newest.next_cursor)


def test_index_follows_edits_tags_and_revocation(kz: Kizashi) -> None:
    rid = report(kz, "初報", "不審な通信を確認")
    assert ids(kz, "通信") == [rid]
    kz.objects.update(SYSTEM, rid, {"description": "マルウェアの感染を確認"})
    assert ids(kz, "通信") == []
    assert ids(kz, "感染") == [rid]
    kz.tags.tag(SYSTEM, rid, ["phishing"])
    assert ids(kz, "tag:phishing") == [rid]
    kz.tags.untag(SYSTEM, rid, ["phishing"])
    assert ids(kz, "tag:phishing") == []
    kz.objects.revoke(SYSTEM, rid)
    assert ids(kz, "感染") == []
    kz.objects.restore(SYSTEM, rid)
    assert ids(kz, "感染") == [rid]


def test_saved_searches(kz: Kizashi, corpus: dict[str, str], analyst: Actor) -> None:
    kz.search.save(analyst, "ransom", "tag:ransomware", "newest")
    assert [s.name for s in kz.search.saved(analyst)] == ["ransom"]
    assert kz.search.saved(SYSTEM) == []  # each user's own
    result = kz.search.run_saved(analyst, "ransom")
    assert result.sort == "newest"
    assert [h.id for h in result.hits] == [corpus["ransom"]]  # TLP:RED is not the analyst's
    kz.search.save(analyst, "ransom", "tag:ransomware AND 日本")
    assert kz.search.get_saved(analyst, "ransom").query == "tag:ransomware AND 日本"
    with pytest.raises(KizashiError, match="position"):
        kz.search.save(analyst, "broken", "(ログ")
    kz.search.delete_saved(analyst, "ransom")
    with pytest.raises(KizashiError):
        kz.search.run_saved(analyst, "ransom")


def test_reindex_rebuilds_the_same_index(kz: Kizashi, corpus: dict[str, str]) -> None:
    before = ids(kz, "ログ")
    count = kz.search.index.count()
    ticks: list[tuple[int, int]] = []
    assert kz.search.reindex(SYSTEM, lambda d, t: ticks.append((d, t))) == count
    assert ticks and ticks[-1][0] == ticks[-1][1]
    assert ids(kz, "ログ") == before
    assert kz.search.status()["pending"] == 0
