"""The analytics pages (word cloud, trends, emerging terms, relation map) and the home
dashboard, in process, on SQLite and PostgreSQL.

The browser test (test_browser_analytics.py) draws the same pages in Chromium.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from conftest import FakeClock
from kizashi.ingest.feeds import FeedService
from kizashi.ingest.fetch import Fetcher
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from kizashi.model.actor import SYSTEM, Actor
from kizashi.services import Kizashi
from kizashi.services.dashboard import DashboardService
from kizashi.store import feeds as feed_repo
from kizashi.web.analytics_pages import _periods, narrowed, selection_query
from test_web import login

HOSTILE_TAG = "<script>alert('tag')</script>"
HOSTILE_TITLE = '<img src=x onerror="alert(1)">攻撃'


def _stamp(clock: FakeClock, days: float) -> str:
    return (clock.now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _report(kz: Kizashi, clock: FakeClock, title: str, text: str, days: float, **kw: object) -> str:
    body = {"type": "report", "name": title, "description": text, "published": _stamp(clock, days)}
    view, _ = kz.objects.create(SYSTEM, body, **kw)  # type: ignore[arg-type]
    return view.id


@pytest.fixture
def corpus(kz: Kizashi, clock: FakeClock) -> dict[str, list[str]]:
    """Five recent Japanese reports about ransomware (one with a hostile title and tag),
    six older ones about vulnerabilities: ランサムウェア emerges this week."""
    recent = [
        _report(
            kz,
            clock,
            HOSTILE_TITLE if i == 0 else f"ランサムウェア攻撃の報告 {i}",
            "国内の製造業を狙ったランサムウェア攻撃。ファイルが暗号化された。"
            f"通信先は45.77.12.{30 + i}であった。",
            1 + i,
            tags=["ランサムウェア", "actor:テスト集団", HOSTILE_TAG],
        )
        for i in range(5)
    ]
    older = [
        _report(
            kz,
            clock,
            f"脆弱性情報 {i}",
            "ソフトウェアの脆弱性に関する注意喚起。更新プログラムの適用を推奨する。",
            10 + i,
            tags=["脆弱性"],
        )
        for i in range(6)
    ]
    return {"recent": recent, "older": older}


def _json_block(page: str, element_id: str) -> object:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    assert m, f"no #{element_id} on the page"
    return json.loads(m.group(1))


def test_pages_need_a_login(web: TestClient) -> None:
    for path in ("/analytics", "/analytics?q=tag:x", "/graph", "/graph?kind=words"):
        r = web.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")
    # The JSON the pages fetch is refused too without a session.
    assert web.get("/api/v1/stats/graph/tags").status_code == 401
    assert web.get("/api/v1/search?q=x").status_code == 401


def test_selection_query_keeps_the_selection_whole() -> None:
    assert selection_query("") == ""
    assert selection_query("tag:a") == "tag:a"
    # OR binds looser than the AND a term is added with: parenthesised.
    assert selection_query("a OR b") == "(a OR b)"
    assert selection_query("a b", "2024-05", "") == "a b published:2024-05.."
    assert selection_query("", "", "2024-06-30") == "published:..2024-06-30"
    assert narrowed("(a OR b)", "tag", 'say "hi"') == '(a OR b) tag:"say hi"'
    assert narrowed("", "keyword", "攻撃") == 'keyword:"攻撃"'


def test_chart_periods_have_no_holes() -> None:
    assert _periods({"2024-11", "2025-02"}, "month") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert _periods({"2024-01-01", "2024-01-22"}, "week") == [
        "2024-01-01",
        "2024-01-08",
        "2024-01-15",
        "2024-01-22",
    ]
    leap = ["2024-02-28", "2024-02-29", "2024-03-01"]
    assert _periods({leap[0], leap[-1]}, "day") == leap
    assert _periods({"2024-05-01"}, "day") == ["2024-05-01"]


def test_analytics_page_shows_cloud_trends_and_emerging(
    web: TestClient, corpus: dict[str, list[str]]
) -> None:
    login(web, "ana", "analyst-password")
    r = web.get("/analytics", params={"q": "lang:ja"})
    assert r.status_code == 200, r.text
    page = r.text
    assert '<script src="/static/dist/charts.js" defer></script>' in page
    assert "/static/dist/graph.js" not in page
    assert "11</strong> item(s) selected" in page

    cloud = _json_block(page, "cloud-data")
    assert isinstance(cloud, list) and cloud
    terms = {w["term"]: w for w in cloud}
    assert "ランサムウェア攻撃" in terms or "ランサムウェア" in terms
    assert {w["lang"] for w in cloud} <= {"ja", "en"}
    # Every term's link searches the selection narrowed to the keyword.
    for w in cloud:
        q = parse_qs(urlsplit(w["href"]).query)["q"][0]
        assert q == f'lang:ja keyword:"{w["term"]}"'
    # The selection is every item: keyness is zero, so the cloud is sized by count.
    assert all(w["weight"] == w["count"] for w in cloud)
    assert 'value="count" data-autosubmit checked' in page

    chart = _json_block(page, "trend-data")
    assert isinstance(chart, dict)
    names = [s["name"] for s in chart["series"]]
    assert names[0] == "all" and "ランサムウェア" in names and HOSTILE_TAG in names
    everything = chart["series"][0]["counts"]
    # Published 1-5 and 10-15 days ago: every day from the first to the last, quiet ones 0.
    assert len(chart["periods"]) == len(everything) == 15
    assert sum(everything) == 11 and everything.count(0) == 4

    # ランサムウェア is new this week; its articles link to their object pages.
    # The section, up to the end of the page's content (the shortcuts dialog after it
    # links to /objects/new/… pages too).
    emerging = page.split('id="emerging-section"')[1].split("</main>")[0]
    assert re.search(r'class="term" href="[^"]+">ランサムウェア', emerging)
    # ... the newest three of them (published 1, 2 and 3 days ago).
    for report_id in corpus["recent"][:3]:
        assert f'href="/objects/{report_id}"' in emerging
    assert "脆弱性情報" not in emerging


def test_the_trend_interval_fits_the_range_and_is_described_in_a_sentence(
    web: TestClient, kz: Kizashi, clock: FakeClock
) -> None:
    """UX finding 14: five weeks per day zig-zagged between 0 and 1, and ECharts' aria
    text read every point's index and value."""
    for days in (2, 9, 16, 23, 30, 37):
        _report(kz, clock, f"週の報告 {days}", "ランサムウェアの報告。", days)
    login(web, "ana", "analyst-password")
    page = web.get("/analytics", headers={"Accept-Language": "ja"}).text
    chart = _json_block(page, "trend-data")
    assert isinstance(chart, dict)
    assert len(chart["periods"]) in (6, 7) and sum(chart["series"][0]["counts"]) == 6  # weeks
    assert '<option value="" selected>範囲に合わせる (週)</option>' in page
    label = re.search(r'id="trend-chart"[^>]*aria-label="([^"]+)"', page)
    assert label, "the chart has a label"
    said = html.unescape(label.group(1))
    assert said.startswith(f"{chart['periods'][0]} から {chart['periods'][-1]} までの週ごとの件数")
    assert "選択範囲の最多は" in said and len(said) < 200
    # Chosen by the user, the interval is theirs.
    daily = web.get("/analytics", params={"interval": "day"}).text
    per_day = _json_block(daily, "trend-data")
    assert isinstance(per_day, dict) and len(per_day["periods"]) == 36
    assert '<option value="day" selected>' in daily


def test_emerging_terms_follow_the_dates_of_the_page(
    web: TestClient, corpus: dict[str, list[str]]
) -> None:
    login(web, "ana", "analyst-password")
    # The 7 days up to 30 December: the reports of 3, 4 and 5 days ago, not the newer two.
    page = web.get("/analytics", params={"q": "lang:ja", "until": "2025-12-30"}).text
    # The section, up to the end of the page's content (the shortcuts dialog after it
    # links to /objects/new/… pages too).
    emerging = page.split('id="emerging-section"')[1].split("</main>")[0]
    assert "the 7 days up to 2025-12-30" in emerging
    assert re.search(r'class="term" href="[^"]+">ランサムウェア', emerging)
    linked = set(re.findall(r'href="/objects/([^"]+)"', emerging))
    assert linked == set(corpus["recent"][2:5])
    # From a date on: the period is from it to now, and a term's search keeps the dates.
    page = web.get("/analytics", params={"q": "lang:ja", "since": "2025-12-27"}).text
    # The section, up to the end of the page's content (the shortcuts dialog after it
    # links to /objects/new/… pages too).
    emerging = page.split('id="emerging-section"')[1].split("</main>")[0]
    assert "published from 2025-12-27 to now" in emerging
    href = re.search(r'class="term" href="([^"]+)">ランサムウェア', emerging)
    assert href
    query = parse_qs(urlsplit(href.group(1).replace("&amp;", "&")).query)["q"][0]
    assert query.startswith("lang:ja published:2025-12-27..")


def test_keyness_sizes_a_narrow_selection_and_count_on_request(
    web: TestClient, corpus: dict[str, list[str]]
) -> None:
    login(web, "ana", "analyst-password")
    page = web.get("/analytics", params={"q": "tag:ランサムウェア"}).text
    cloud = _json_block(page, "cloud-data")
    assert isinstance(cloud, list)
    assert cloud and all(w["weight"] == w["score"] > 0 for w in cloud)
    assert "脆弱性" not in {w["term"] for w in cloud}  # rarer here than elsewhere
    assert 'value="score" data-autosubmit checked' in page
    page = web.get("/analytics", params={"q": "tag:ランサムウェア", "by": "count"}).text
    cloud = _json_block(page, "cloud-data")
    assert isinstance(cloud, list)
    assert all(w["weight"] == w["count"] for w in cloud)


def test_a_word_of_the_cloud_finds_its_items(web: TestClient, corpus: dict[str, list[str]]) -> None:
    login(web, "ana", "analyst-password")
    page = web.get("/analytics", params={"q": "tag:ランサムウェア"}).text
    cloud = _json_block(page, "cloud-data")
    assert isinstance(cloud, list)
    word = next(w for w in cloud if w["term"].startswith("ランサムウェア"))
    found = web.get(word["href"]).text
    for report_id in corpus["recent"]:
        assert f'href="/objects/{report_id}"' in found
    for report_id in corpus["older"]:
        assert f'href="/objects/{report_id}"' not in found


def test_dates_narrow_the_selection_and_bad_queries_are_shown(
    web: TestClient, clock: FakeClock, corpus: dict[str, list[str]]
) -> None:
    login(web, "ana", "analyst-password")
    since = _stamp(clock, 3)[:10]
    page = web.get("/analytics", params={"since": since}).text
    selected = int(re.search(r"<strong>(\d+)</strong> item\(s\) selected", page).group(1))  # type: ignore[union-attr]
    assert selected == 3  # published 1, 2 and 3 days ago
    cloud = _json_block(page, "cloud-data")
    assert isinstance(cloud, list)
    assert all(f"published%3A{since}.." in w["href"] for w in cloud)
    r = web.get("/analytics", params={"q": '"unclosed'})
    assert r.status_code == 422
    assert "unclosed quote" in r.text


def test_graph_page_points_at_the_api_with_the_selection(
    web: TestClient, corpus: dict[str, list[str]]
) -> None:
    login(web, "ana", "analyst-password")
    r = web.get(
        "/graph",
        params={"kind": "tags", "q": "a OR b", "since": "2025", "namespace": "actor, misp"},
    )
    assert r.status_code == 200
    page = r.text
    assert '<script src="/static/dist/graph.js" defer></script>' in page
    assert "/static/dist/charts.js" not in page
    box = re.search(r'<div id="cy"[^>]*>', page, re.S)
    assert box
    attrs = {k: html.unescape(v) for k, v in re.findall(r'data-(\w+)="([^"]*)"', box.group(0))}
    assert attrs["kind"] == "tags"
    assert attrs["query"] == "(a OR b)"
    assert attrs["selection"] == "(a OR b) published:2025.."
    api = urlsplit(attrs["api"])
    assert api.path == "/api/v1/stats/graph/tags"
    assert parse_qs(api.query) == {
        "q": ["a OR b"],
        "size": ["100"],
        "since": ["2025"],
        "namespace": ["actor", "misp"],
    }
    # Words have no namespaces; an unknown kind is a tag map.
    page = web.get("/graph", params={"kind": "words", "namespace": "actor"}).text
    assert "/api/v1/stats/graph/words?q=&amp;size=100" in page
    assert 'name="namespace"' not in page
    assert 'data-kind="tags"' in web.get("/graph", params={"kind": "<x>"}).text
    # Form fields that are not numbers, or out of range, fall back rather than fail.
    for given, sent in (("abc", "100"), ("999999", "2000"), ("0", "1")):
        page = web.get("/graph", params={"size": given, "min_count": "-3"}).text
        api_url = html.unescape(re.search(r'data-api="([^"]*)"', page).group(1))  # type: ignore[union-attr]
        assert parse_qs(urlsplit(api_url).query, keep_blank_values=True) == {
            "q": [""],
            "size": [sent],
        }
    assert "last 7 days" in web.get("/analytics", params={"days": "abc"}).text

    # The API the page fetches answers the browser's session (a GET needs no CSRF), with
    # the page's namespace filter.
    url = attrs["api"].replace("a+OR+b", "lang%3Aja").replace("since=2025&", "")
    graph = web.get(url).json()
    assert [n["id"] for n in graph["nodes"]] == ["actor:テスト集団"]
    graph = web.get("/api/v1/stats/graph/tags", params={"q": "lang:ja"}).json()
    assert {n["id"] for n in graph["nodes"]} == {
        "ランサムウェア",
        "actor:テスト集団",
        HOSTILE_TAG,
        "脆弱性",
    }
    hits = web.get("/api/v1/search", params={"q": 'tag:"actor:テスト集団"', "sort": "newest"})
    assert {h["id"] for h in hits.json()["hits"]} == set(corpus["recent"])


def test_hostile_tags_titles_and_queries_are_escaped(
    web: TestClient, corpus: dict[str, list[str]]
) -> None:
    login(web, "ana", "analyst-password")
    evil_q = '"><script>alert(3)</script>'
    pages = {
        "home": web.get("/").text,
        "analytics": web.get("/analytics", params={"q": "lang:ja"}).text,
        "graph": web.get("/graph", params={"q": evil_q}).text,
        "analytics-q": web.get("/analytics", params={"q": evil_q}).text,
    }
    for name, page in pages.items():
        assert "<script>alert" not in page, name
        assert "<img src=x" not in page, name
        assert "alert(3)</script>" not in page, name
    # Shown, as text, where they belong.
    assert str(escape(HOSTILE_TITLE)) in pages["analytics"]
    assert str(escape(HOSTILE_TAG)) in pages["home"]
    # JSON for the scripts cannot close its <script> element.
    assert "\\u003cscript\\u003e" in pages["analytics"]


def test_home_dashboard_widgets(web: TestClient, kz: Kizashi, clock: FakeClock) -> None:
    # Made at different times: the windows are of creation, not publication.
    _report(kz, clock, "古い報告", "先月の報告。", 40, tags=["週次"])
    clock.tick(8 * 86400)
    _report(kz, clock, "今週の報告", "今週の報告。", 40, tags=["週次"])
    clock.tick(2 * 86400)
    for i in range(2):
        _report(kz, clock, f"今日の報告 {i}", "標的型攻撃の報告。", 0, tags=["週次", "tlp:green"])
    login(web, "ana", "analyst-password")
    page = web.get("/").text
    assert re.search(r'id="new-day">2<', page)
    assert re.search(r'id="new-week">3<', page)
    top_tags = page.split("Top tags")[1].split("</aside>")[0]
    assert re.search(r">週次</a>\s*</span><small>3</small>", top_tags)
    assert "tlp:green" not in top_tags
    assert "/static/dist/charts.js" not in page and "/static/dist/graph.js" not in page


def test_dashboard_service(kz: Kizashi, clock: FakeClock, analyst: Actor) -> None:
    feeds = FeedService(kz, Fetcher(AddressPolicy(parse_allowlist(None))))
    feeds.add(SYSTEM, "https://feeds.example/ok.xml", title="良いフィード")
    bad = feeds.add(SYSTEM, "https://feeds.example/bad.xml", title="壊れたフィード")
    feeds.fetcher.close()
    with kz.store.begin() as conn:
        feed_repo.update(
            conn, bad.id, {"last_error": "HTTP 500", "consecutive_failures": 2, "items_stored": 4}
        )
    # Identities made at start-up (users, the feeds' sources) are older than a week.
    clock.tick(8 * 86400)
    for i in range(4):
        _report(kz, clock, f"報告 {i}", f"通信先は198.51.100.{i + 1}であった。", i + 1)
    clock.tick(2 * 86400)
    _report(kz, clock, "赤の報告", "秘密の報告。", 1, tlp="red")
    _report(kz, clock, "緑の報告", "公開の報告。", 1, tlp="green")
    service = DashboardService(kz.ctx, kz.search, kz.analytics, kz.objects)

    mine = service.build(analyst)
    # The RED report is for named recipients: neither counted nor listed for an analyst.
    assert (mine.new_items.day, mine.new_items.week) == (1, 5)
    assert mine.new_items.by_type == [("report", 5)]
    assert [(f.title, f.id, f.failures) for f in mine.feeds.failing] == [
        ("壊れたフィード", bad.id, 2)
    ]
    assert (mine.feeds.count, mine.feeds.stored) == (2, 4)
    assert [i.value for i in mine.indicators] == [f"198.51.100.{i}" for i in (4, 3, 2, 1)]
    assert {i.type for i in mine.indicators} == {"ipv4-addr"}

    admin = service.build(SYSTEM)
    assert (admin.new_items.day, admin.new_items.week) == (2, 6)
    assert json.loads(json.dumps(admin.as_dict()))["new_items"]["week"] == 6
    # A new account and a relationship are not new intelligence (UX finding 4).
    kz.users.create(SYSTEM, "newcomer", "newcomer-password", "reader")
    green = kz.search.search(SYSTEM, "緑の報告").hits[0].id
    red = kz.search.search(SYSTEM, "赤の報告").hits[0].id
    kz.relationships.create(SYSTEM, green, "related-to", red)
    kz.search.follower.catch_up()
    after = service.build(SYSTEM)
    assert (after.new_items.day, after.new_items.week) == (2, 6)
    assert after.new_items.by_type == [("report", 6)]
