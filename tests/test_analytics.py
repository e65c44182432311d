"""Analytics over a selection: frequent and emerging words, co-occurrence, trends."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.services.analytics import log_likelihood
from test_api import _token

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
OLD = "フィッシング攻撃が確認された。送信元を偽装したメールに注意。"
NEW = "Ivanti Connect Secure の脆弱性を悪用した攻撃が確認された。Ivanti は修正を公開。"
SECRET = "社内の秘密作戦について。"


def report(kz: Kizashi, text: str, published: str, tags: list[str], title: str = "") -> str:
    view, _ = kz.objects.create(
        SYSTEM,
        {
            "type": "report",
            "name": title or text[:8],
            "description": text,
            "published": published,
            "object_refs": [SYSTEM.identity_ref],
        },
    )
    kz.tags.tag(SYSTEM, view.id, tags)
    return view.id


@pytest.fixture
def corpus(kz: Kizashi) -> Kizashi:
    """20 phishing reports over September and October, 6 Ivanti reports in the last
    week (Japanese, plus one in English), and one TLP:RED report."""
    for i in range(20):
        published = f"2026-{9 + i // 10:02d}-{1 + i:02d}T00:00:00Z"
        report(kz, OLD, published, ["phishing", "tlp:clear"], title="フィッシング注意喚起")
    for i in range(5):
        published = f"2026-11-{22 + i}T00:00:00Z"
        report(kz, NEW, published, ["product:ivanti", "tlp:clear"], title="脆弱性情報")
    report(
        kz,
        "Volt Typhoon exploited Ivanti Connect Secure.",
        "2026-11-27T00:00:00Z",
        ["product:ivanti", "apt", "tlp:clear"],
        title="Ivanti advisory",
    )
    report(kz, SECRET, "2026-11-27T00:00:00Z", ["tlp:red"])
    # Not an item: analytics leaves other objects out unless asked by type.
    kz.objects.create(
        SYSTEM, {"type": "identity", "name": "攻撃者グループ", "identity_class": "group"}
    )
    return kz


def test_log_likelihood_by_hand() -> None:
    assert log_likelihood(5, 50, 10, 100) == pytest.approx(0.0, abs=1e-9)
    # [[10, 0], [0, 10]]: 2 * 2 * 10 * ln(10 * 20 / (10 * 10)) = 40 ln 2.
    assert log_likelihood(10, 10, 0, 10) == pytest.approx(40 * math.log(2))
    assert log_likelihood(0, 10, 10, 10) == pytest.approx(-40 * math.log(2))
    assert log_likelihood(3, 10, 0, 0) == 0.0  # nothing to compare with


def test_frequent_words_count_occurrences_documents_and_keyness(corpus: Kizashi) -> None:
    a = corpus.analytics
    whole = a.terms(SYSTEM, order="count", limit=100)
    assert (whole.selected, whole.total) == (27, 27)  # the identity is no item
    by = {t.term: t for t in whole.terms}
    assert (by["攻撃"].docs, by["攻撃"].count) == (5, 5)
    assert (by["フィッシング攻撃"].docs, by["フィッシング攻撃"].count) == (20, 20)
    # Japanese reports: once as a name of three words, once alone; the English one:
    # the name in its text, the word in its title.
    assert (by["ivanti"].docs, by["ivanti"].count) == (6, 6)
    assert (by["ivanti connect secure"].docs, by["ivanti connect secure"].count) == (6, 6)
    assert by["確認"].docs == 25 and by["秘密作戦"].docs == 1
    assert "攻撃者グループ" not in by
    assert whole.terms[0].term == "確認"  # in 25 items
    assert all(t.lang == ("en" if t.term.isascii() else "ja") for t in whole.terms)

    ivanti = a.terms(SYSTEM, "tag:product:ivanti", limit=100)
    assert ivanti.selected == 6
    assert {t.term for t in ivanti.terms[:2]} == {"ivanti", "ivanti connect secure"}
    scores = {t.term: t.score for t in ivanti.terms}
    # In every Ivanti report and in no other: far above 確認, which is everywhere.
    assert scores["ivanti connect secure"] > 20
    assert scores["確認"] < scores["ivanti connect secure"] / 4
    english = a.terms(SYSTEM, "tag:product:ivanti", lang="en", limit=10)
    assert {t.lang for t in english.terms} == {"en"}
    assert "volt typhoon" in {t.term for t in english.terms}


def test_terms_in_several_orders_come_from_one_count_of_the_index(
    corpus: Kizashi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kizashi.search import stats

    a = corpus.analytics
    alone = {
        o: a.terms(SYSTEM, "tag:product:ivanti", limit=20, order=o) for o in ("score", "count")
    }
    calls = []
    real = stats.term_counts

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stats, "term_counts", counted)
    both = a.terms_in_orders(SYSTEM, "tag:product:ivanti", limit=20, orders=("score", "count"))
    assert len(calls) == 1
    for order in ("score", "count"):
        assert both[order].terms == alone[order].terms, order
    assert both["score"].terms != both["count"].terms  # two orders, not one list twice


def test_a_statistic_is_kept_until_the_index_changes(
    corpus: Kizashi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages ask the same questions of a store at rest: the answer is kept per state
    of the index, and a new item (a commit) makes the next answer count it."""
    from kizashi.search import stats

    computed = []
    real = stats.kept

    def counting(index: Any, key: tuple[Any, ...], compute: Any) -> Any:
        def counted() -> Any:
            computed.append(key[1])  # the selection's expression
            return compute()

        return real(index, key, counted if key[0] == "term_counts" else compute)

    monkeypatch.setattr(stats, "kept", counting)
    a = corpus.analytics
    first = a.terms(SYSTEM, order="count", limit=200)
    again = a.terms(SYSTEM, order="count", limit=200)
    assert len(computed) == 1 and again.terms == first.terms
    a.terms(SYSTEM, "tag:phishing", order="count", limit=200)  # another question
    assert len(computed) == 2
    report(corpus, "新種のワームが流行している。", "2026-11-27T00:00:00Z", ["tlp:clear"])
    fresh = a.terms(SYSTEM, order="count", limit=200)
    assert len(computed) == 3
    assert fresh.selected == first.selected + 1
    assert "ワーム" in {t.term for t in fresh.terms} - {t.term for t in first.terms}


def test_term_statistics_respect_tlp(corpus: Kizashi, analyst: Actor) -> None:
    a = corpus.analytics
    theirs = a.terms(analyst, order="count", limit=200)
    assert theirs.selected == 26 and theirs.total == 26
    assert "秘密作戦" not in {t.term for t in theirs.terms}
    assert "秘密作戦" in {t.term for t in a.terms(SYSTEM, order="count", limit=200).terms}


def test_emerging_terms_come_with_the_articles_that_drive_them(corpus: Kizashi) -> None:
    found = corpus.analytics.emerging(SYSTEM, days=7, baseline_days=90, now=NOW)
    terms = [e.term for e in found]
    assert "ivanti connect secure" in terms and "ivanti" in terms
    assert "確認" not in terms and "フィッシング攻撃" not in terms
    ivanti = found[terms.index("ivanti connect secure")]
    assert (ivanti.docs, ivanti.before) == (6, 0)
    assert len(ivanti.drivers) == 3
    assert ivanti.drivers[0].published == "2026-11-27T00:00:00Z"  # newest first
    assert ivanti.drivers[0].title == "Ivanti advisory"


def test_emerging_terms_of_a_chosen_period(corpus: Kizashi, api: TestClient) -> None:
    a = corpus.analytics
    # The 7 days up to 26 November: five of the six Ivanti reports, the newest left out.
    found = a.emerging(SYSTEM, days=7, baseline_days=90, now=NOW, until="2026-11-26")
    ivanti = next(e for e in found if e.term == "ivanti connect secure")
    assert (ivanti.docs, ivanti.before) == (5, 0)
    assert ivanti.drivers[0].published == "2026-11-26T00:00:00Z"
    assert "volt typhoon" not in {e.term for e in found}
    # From 22 to 27 November (a whole day, inclusive): all six.
    found = a.emerging(SYSTEM, baseline_days=90, now=NOW, since="2026-11-22", until="2026-11-27")
    ivanti = next(e for e in found if e.term == "ivanti connect secure")
    assert ivanti.docs == 6
    # October's phishing against September's: the same words as often, nothing emerges.
    october = a.emerging(SYSTEM, baseline_days=60, now=NOW, since="2026-10", until="2026-10")
    assert october == []
    with pytest.raises(KizashiError) as info:
        a.emerging(SYSTEM, now=NOW, since="2026-11-27", until="2026-11-01")
    assert info.value.code == "validation_failed"
    token = _token(corpus, "rei", "reader")
    params = {"since": "2026-11-22", "until": "2026-11-27", "baseline_days": "90"}
    body = api.get("/api/v1/stats/emerging", params=params, headers=token).json()
    assert next(e for e in body if e["term"] == "ivanti connect secure")["docs"] == 6
    bad = api.get("/api/v1/stats/emerging", params={"since": "later"}, headers=token)
    assert bad.status_code == 422


def test_tag_graph_weights_pairs_so_ubiquitous_tags_tie_nothing(corpus: Kizashi) -> None:
    g = corpus.analytics.tag_graph(SYSTEM)
    nodes = {n.id: n for n in g.nodes}
    assert nodes["tlp:clear"].count == 26 and nodes["tlp:clear"].group == "tlp"
    edges = {(e.source, e.target): e for e in g.edges}
    with_clear = edges[("product:ivanti", "tlp:clear")]
    assert with_clear.count == 6
    # On all but one item: PMI ln(27 * 6 / (6 * 26)), about nothing.
    assert with_clear.pmi == pytest.approx(math.log(27 / 26), abs=1e-3)
    apt = edges[("apt", "product:ivanti")]
    assert apt.count == 1 and apt.pmi == pytest.approx(math.log(27 / 6), abs=1e-3)
    assert apt.jaccard == pytest.approx(1 / 6)
    assert ("phishing", "product:ivanti") not in edges

    only = corpus.analytics.tag_graph(SYSTEM, namespaces=["product", "tlp"], min_count=2)
    assert {n.id for n in only.nodes} == {"product:ivanti", "tlp:clear", "tlp:red"}
    assert all(e.count >= 2 for e in only.edges)


def test_word_graph_joins_words_of_the_same_article(corpus: Kizashi) -> None:
    g = corpus.analytics.word_graph(SYSTEM, "tag:product:ivanti", min_count=5)
    edges = {(e.source, e.target): e.count for e in g.edges}
    assert edges[("ivanti", "ivanti connect secure")] == 6
    assert edges[("攻撃", "脆弱性")] == 5
    assert all(n >= 5 for n in edges.values())


def test_trends_per_day_week_and_month(corpus: Kizashi) -> None:
    a = corpus.analytics
    daily = a.trends(SYSTEM, by="tag", values=["product:ivanti"], interval="day", since="2026-11")
    assert [s.name for s in daily] == ["all", "product:ivanti"]
    assert daily[1].points == [
        ("2026-11-22", 1),
        ("2026-11-23", 1),
        ("2026-11-24", 1),
        ("2026-11-25", 1),
        ("2026-11-26", 1),
        ("2026-11-27", 1),
    ]
    weekly = a.trends(SYSTEM, by="tag", values=["product:ivanti"], interval="week")
    # ISO weeks start on Monday: the 22nd is a Sunday.
    assert weekly[1].points == [("2026-11-16", 1), ("2026-11-23", 5)]
    monthly = a.trends(SYSTEM, by="tag", interval="month", top=2)
    # tlp:clear is on 26 items, more than any, but marks them: no trend of its own.
    assert [s.name for s in monthly] == ["all", "phishing", "product:ivanti"]
    marked = a.trends(SYSTEM, by="tag", values=["tlp:clear"], interval="month")
    assert [s.name for s in marked] == ["all", "tlp:clear"]  # asked for by name
    assert monthly[0].points == [("2026-09", 10), ("2026-10", 10), ("2026-11", 7)]
    terms = a.trends(SYSTEM, by="term", values=["Ivanti"], interval="month")
    assert terms[1].points == [("2026-11", 6)]


def test_keyword_field_in_the_query_language(corpus: Kizashi) -> None:
    assert corpus.search.search(SYSTEM, "keyword:フィッシング攻撃").total == 20
    assert corpus.search.search(SYSTEM, "keyword:Ivanti").total == 6
    assert corpus.search.search(SYSTEM, 'keyword:"volt typhoon"').total == 1


def test_bad_arguments_are_refused_with_a_reason(corpus: Kizashi) -> None:
    a = corpus.analytics
    for call in (
        lambda: a.terms(SYSTEM, order="loudest"),
        lambda: a.terms(SYSTEM, limit=0),
        lambda: a.trends(SYSTEM, by="colour"),
        lambda: a.trends(SYSTEM, interval="hour"),
        lambda: a.tag_graph(SYSTEM, size=100_000),
        lambda: a.terms(SYSTEM, "tag:(", limit=5),
    ):
        with pytest.raises(KizashiError):
            call()


def test_api_statistics_need_a_login_and_count_what_the_caller_may_read(
    api: TestClient, corpus: Kizashi
) -> None:
    reader = _token(corpus, "rei", "reader")
    assert api.get("/api/v1/stats/terms").status_code == 401
    got = api.get("/api/v1/stats/terms", params={"order": "count", "limit": 500}, headers=reader)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["selected"] == 26 and body["counts_exact"] is True
    first = body["terms"][0]
    assert set(first) == {"term", "lang", "count", "docs", "score"}
    assert first["term"] == "確認" and first["docs"] == 25
    assert "秘密作戦" not in {t["term"] for t in body["terms"]}
    graph = api.get(
        "/api/v1/stats/graph/tags", params={"namespace": ["product", "tlp"]}, headers=reader
    ).json()
    assert {n["id"] for n in graph["nodes"]} == {"product:ivanti", "tlp:clear"}
    words = api.get(
        "/api/v1/stats/graph/words", params={"q": "tag:product:ivanti"}, headers=reader
    ).json()
    assert words["selected"] == 6 and words["edges"]
    trend = api.get(
        "/api/v1/stats/trends",
        params={"interval": "month", "by": "term", "value": "Ivanti"},
        headers=reader,
    ).json()
    assert trend[1] == {"name": "Ivanti", "points": [{"t": "2026-11", "count": 6}]}
    assert api.get("/api/v1/stats/emerging", headers=reader).status_code == 200
    bad = api.get("/api/v1/stats/terms", params={"q": '"unclosed'}, headers=reader)
    assert bad.status_code == 422, bad.text
    assert api.get("/api/v1/stats/trends", params={"by": "x"}, headers=reader).status_code == 422


def test_cli_stats_tables_and_json(run, corpus: Kizashi) -> None:  # type: ignore[no-untyped-def]
    rows = json.loads(run("stats", "terms", "--json", "--order", "count", "--limit", "3"))
    assert [set(r) for r in rows] == [{"term", "lang", "count", "docs", "score"}] * 3
    assert rows[0] == {"term": "確認", "lang": "ja", "count": 25, "docs": 25, "score": 0.0}
    table = run("stats", "terms", "--query", "tag:product:ivanti", "--limit", "5")
    assert "ivanti connect secure" in table and "6 of 27 item(s) selected" in table
    graph = json.loads(run("stats", "tags", "--json", "--namespace", "product"))
    assert [n["id"] for n in graph["nodes"]] == ["product:ivanti"]
    assert "product:ivanti" in run("stats", "tags")
    trends = json.loads(run("stats", "trends", "--interval", "month", "--json", "--top", "1"))
    assert [s["name"] for s in trends] == ["all", "phishing"]
    assert "2026-11" in run("stats", "trends", "--interval", "month")
    assert "ivanti" in run("stats", "words", "--query", "tag:product:ivanti")
    run("stats", "terms", "--order", "loudest", code=2)
    period = ("--since", "2026-11-22", "--until", "2026-11-27", "--baseline", "90")
    found = json.loads(run("stats", "emerging", *period, "--json"))
    assert next(e for e in found if e["term"] == "ivanti connect secure")["docs"] == 6
    assert "ivanti connect secure" in run("stats", "emerging", *period)


def test_png_word_cloud_draws_japanese_with_a_font_shipped_in_a_package(
    api: TestClient,
    corpus: Kizashi,
    run,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from fontTools.ttLib import TTFont
    from PIL import Image

    from kizashi.services.cloud import COLOURS, font_path

    cmap = TTFont(str(font_path())).getBestCmap()
    assert all(ord(c) in cmap for c in "確認脆弱性フィッシング攻撃秘密作戦")
    reader = _token(corpus, "rei", "reader")
    got = api.get("/api/v1/stats/cloud.png", params={"width": 600, "height": 400}, headers=reader)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(got.content)).convert("RGB")
    assert image.size == (600, 400)
    colours = {c for _, c in image.getcolors(maxcolors=600 * 400) or []}
    # Words of both languages drawn, each in its colour.
    for hex_colour in COLOURS.values():
        assert tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)) in colours
    empty = api.get("/api/v1/stats/cloud.png", params={"q": "nothing-matches-this"}, headers=reader)
    assert Image.open(io.BytesIO(empty.content)).getcolors() == [(1200 * 800, (255, 255, 255))]
    target = tmp_path / "cloud.png"
    assert "drawn to" in run("stats", "cloud", "--out", str(target), "--by", "score")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_indicator_graph_joins_reports_that_share_indicators(
    kz: Kizashi, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = report(kz, "C2 は 10.0.0.7 と evil.example.com。", "2026-11-01T00:00:00Z", [])
    b = report(kz, "同じ 10.0.0.7 と evil.example.com を確認。", "2026-11-02T00:00:00Z", [])
    c = report(kz, "evil.example.com への通信。", "2026-11-03T00:00:00Z", [])
    report(kz, "関係のない記事。", "2026-11-04T00:00:00Z", [])
    g = kz.analytics.indicator_graph(SYSTEM)
    assert len(g.nodes) == 4
    edges = {frozenset((e.source, e.target)): e for e in g.edges}
    assert set(edges) == {frozenset((a, b)), frozenset((a, c)), frozenset((b, c))}
    assert edges[frozenset((a, b))].count == 2
    assert set(edges[frozenset((a, b))].values) == {"10.0.0.7", "evil.example.com"}
    assert edges[frozenset((a, c))].values == ("evil.example.com",)
    assert kz.analytics.indicator_graph(SYSTEM, min_shared=2).edges[0].count == 2
    # A value in more reports than HUB_REPORTS joins none of them.
    monkeypatch.setattr("kizashi.services.analytics.graphs.HUB_REPORTS", 2)
    hubbed = kz.analytics.indicator_graph(SYSTEM)
    assert [(e.count, e.values) for e in hubbed.edges] == [(1, ("10.0.0.7",))]
    assert hubbed.hubs == [("evil.example.com", 3)]
    token = _token(kz, "rei", "reader")
    body = api.get("/api/v1/stats/graph/indicators", headers=token).json()
    assert body["kind"] == "indicators" and body["hubs"] == [
        {"value": "evil.example.com", "reports": 3}
    ]
    labels = {n["label"] for n in body["nodes"]}
    assert "関係のない記事。" in labels  # reports are labelled by their titles
    # A node's group is its source (here the author of reports made by hand).
    assert {n["group"] for n in body["nodes"]} == {"Kizashi"}
    monkeypatch.setattr("kizashi.services.analytics.graphs.HUB_REPORTS", 25)
    # Expanding c: c and the reports that share an indicator with it, none other.
    around = api.get("/api/v1/stats/graph/indicators", params={"around": c}, headers=token)
    assert {n["id"] for n in around.json()["nodes"]} == {a, b, c}
    around_a = kz.analytics.indicator_graph(SYSTEM, "published:2026-11-02..", around=a)
    assert {n.id for n in around_a.nodes} == {b, c}
    missing = "report--6d0f3b8e-2a4c-4e5f-9a1b-3c7d8e9f0a1b"
    assert (
        api.get(
            "/api/v1/stats/graph/indicators", params={"around": missing}, headers=token
        ).status_code
        == 404
    )
