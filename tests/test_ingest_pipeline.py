"""Polling feeds into reports, on SQLite and PostgreSQL, against a local misbehaving server."""

from __future__ import annotations

import html
import random
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from time import time
from typing import Any

import pytest

from conftest import FakeClock
from feedserver import LAST_MODIFIED, RSS, FeedServer, article_page, description, gzip_bomb
from kizashi.ingest.feeds import FeedService, FeedView
from kizashi.ingest.fetch import Fetcher, FetchLimits
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from kizashi.ingest.normalise import html_to_text
from kizashi.ingest.schedule import MAX_BACKOFF, next_poll
from kizashi.model.actor import SYSTEM
from kizashi.model.article import ARTICLE_EXTENSION
from kizashi.model.stix import format_timestamp
from kizashi.model.tlp import MARKING_IDS
from kizashi.services import Kizashi
from kizashi.services.objects.views import ObjectView
from kizashi.store import feeds as feed_repo
from kizashi.store import objects as object_repo

TIMEOUT = 2.0
HTTP_500 = "HTTP 500 Internal Server Error"


@pytest.fixture(scope="module")
def running() -> Iterator[FeedServer]:
    gzip_bomb()  # compressed once, before any request has a deadline
    with FeedServer(slow_seconds=TIMEOUT + 3) as server:
        yield server


@pytest.fixture
def server(running: FeedServer) -> FeedServer:
    running.reset()
    return running


@pytest.fixture
def feeds(kz: Kizashi) -> Iterator[FeedService]:
    policy = AddressPolicy(parse_allowlist("127.0.0.1/32"))
    fetcher = Fetcher(policy, FetchLimits(max_bytes=2 * 1024 * 1024, total_timeout=TIMEOUT))
    yield FeedService(kz, fetcher, rng=random.Random(2026))
    fetcher.close()


def item(n: int, *, guid: str = "", link: str = "", title: str = "", body: str = "") -> str:
    day = formatdate(datetime(2025, 3, n, 9, 0, tzinfo=UTC).timestamp(), usegmt=True)
    return (
        f"<item><title>{html.escape(title or f'記事{n}: advisory {n}')}</title>"
        f"<link>{html.escape(link or f'http://example.jp/news/{n}')}</link>"
        f'<guid isPermaLink="false">{guid or f"guid-{n}"}</guid><pubDate>{day}</pubDate>'
        f"<description>{html.escape(body or f'<p>本文{n}: the article text {n}.</p>')}"
        "</description></item>"
    )


def rss(*items: str, title: str = "Test feed") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.jp/</link><description>d</description>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


def serve(server: FeedServer, path: str, *items: str) -> str:
    server.set(path, rss(*items), {"Content-Type": RSS})
    return server.url(path)


def reports(feeds: FeedService) -> list[ObjectView]:
    return feeds.kz.objects.list(SYSTEM, types=["report"], limit=500).items


def ext(report: ObjectView) -> dict[str, Any]:
    props: dict[str, Any] = report.stix["extensions"][ARTICLE_EXTENSION]
    return props


def content(feeds: FeedService, report_id: str) -> Any:
    with feeds.kz.store.read() as conn:
        row = object_repo.get(conn, report_id)
        assert row is not None
        return feed_repo.content_of(conn, row.pk)


def at(stamp: str | None) -> datetime:
    assert stamp is not None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def counts(feeds: FeedService, feed: FeedView) -> dict[str, int]:
    result = feeds.poll(feed.id)
    assert result.error is None, result.error
    return result.counts


def outcome(stored: int = 0, updated: int = 0, duplicate: int = 0, rejected: int = 0) -> Any:
    return {"stored": stored, "updated": updated, "duplicate": duplicate, "rejected": rejected}


# -- stored reports --------------------------------------------------------------------


def test_items_become_reports_with_the_feeds_settings(
    feeds: FeedService, server: FeedServer, clock: FakeClock
) -> None:
    tags = ["apt", "ランサムウェア"]
    feed = feeds.add(SYSTEM, server.url("/items/3"), title="兆し", tags=tags, tlp="amber")
    assert counts(feeds, feed) == outcome(stored=3)
    found = {r.name: r for r in reports(feeds)}
    assert len(found) == 3
    for i in (1, 2, 3):
        report = found[f"テスト記事{i}：脆弱性情報 / Test advisory {i}"]
        text = html_to_text(description(i))
        stix = report.stix
        assert stix["description"] == text
        assert stix["published"] == f"2025-01-01T{9 - i:02d}:00:00Z"
        assert stix["lang"] == "ja"
        assert stix["labels"] == tags
        assert report.tags == ["apt", "tlp:amber", "ランサムウェア"] and report.tlp == "amber"
        assert stix["object_marking_refs"] == [MARKING_IDS["amber"]]
        assert stix["created_by_ref"] == feed.identity_id
        url = server.url(f"/article/{i}")
        assert stix["external_references"] == [{"source_name": "兆し", "url": url}]
        assert ext(report) == {
            "extension_type": "property-extension",
            "url": url,
            "canonical_url": url,
            "feed_url": server.url("/items/3"),
            "feed_title": "兆し",
            "summary": text,
            "full_text": "feed",
            "detected_language": "mixed",
        }
        assert content(feeds, report.id) is None  # nothing fetched, nothing kept
    source = feeds.kz.objects.get(SYSTEM, feed.identity_id)
    assert (source.type, source.name) == ("identity", "兆し")
    state = feeds.get(SYSTEM, feed.id)
    assert (state.last_status, state.last_error, state.consecutive_failures) == (200, None, 0)
    assert state.last_success_at == format_timestamp(clock.now)
    assert (state.items_seen, state.items_stored, state.polling) == (3, 3, False)
    assert state.site_url == server.url("/")
    due = at(state.next_poll_at) - clock.now
    assert timedelta(seconds=1620) <= due <= timedelta(seconds=1980)
    guids = [i["guid"] for i in feeds.items(SYSTEM, feed.id)]
    assert guids == [f"kizashi-test-item-{n}" for n in (3, 2, 1)]


def test_feed_without_a_title_takes_the_feeds_own(feeds: FeedService, server: FeedServer) -> None:
    feed = feeds.add(SYSTEM, server.url("/items/1"))
    assert feed.title == "127.0.0.1"
    counts(feeds, feed)
    assert feeds.get(SYSTEM, feed.id).title == "Kizashi items (1)"


def test_first_poll_items_carry_the_feeds_own_title(feeds: FeedService, server: FeedServer) -> None:
    """The first poll's reports name the feed by its title, not by the placeholder host name."""
    counts(feeds, feeds.add(SYSTEM, server.url("/items/1")))
    [report] = reports(feeds)
    assert ext(report)["feed_title"] == "Kizashi items (1)"
    assert report.stix["external_references"][0]["source_name"] == "Kizashi items (1)"


def test_an_item_with_nothing_in_it_is_rejected(feeds: FeedService, server: FeedServer) -> None:
    empty = '<item><guid isPermaLink="false">void</guid></item>'
    feed = feeds.add(SYSTEM, serve(server, "/void.xml", empty, item(1)))
    result = feeds.poll(feed.id)
    assert result.counts == outcome(stored=1, rejected=1)
    assert result.rejections == ["void: the item has no title, link or text"]
    assert len(reports(feeds)) == 1


# -- full text -------------------------------------------------------------------------


def test_full_text_is_extracted_and_kept_three_ways(feeds: FeedService, server: FeedServer) -> None:
    feed = feeds.add(SYSTEM, server.url("/items/2"), title="FT", full_text=True)
    assert counts(feeds, feed) == outcome(stored=2)
    assert server.count("/article/1") == server.count("/article/2") == 1
    for report in reports(feeds):
        i = int(report.name[5])
        props = ext(report)
        assert props["full_text"] == "extracted" and "extraction_error" not in props
        assert props["canonical_url"] == server.url(f"/article/{i}")
        assert props["author"].startswith("テスト 太郎")
        assert props["detected_language"] == "mixed" and report.stix["lang"] == "ja"
        assert props["summary"] == html_to_text(description(i))  # the feed's own text
        text = report.stix["description"]
        assert "(para 1)" not in text and "専門家は、多要素認証の導入" in text
        assert report.stix["published"] == f"2025-01-01T{9 - i:02d}:00:00Z"
        row = content(feeds, report.id)
        assert row.extraction_error is None
        assert "<p>" in row.html and "<nav" not in row.html and "ホーム" not in row.html
        assert zlib.decompress(row.raw_html) == article_page(server.base, i)


def test_display_html_is_sanitised(feeds: FeedService, server: FeedServer) -> None:
    paragraph = (
        "<p onclick='steal()'>This paragraph is long enough to be the article's main text, "
        "<a href='javascript:alert(1)'>bad</a> <a href='http://ok.example/' onmouseover='x()'>"
        "good</a>.</p><script>alert('inline')</script><img src=x onerror=alert(2)>"
    )
    page = f"<html><body><article><h1>Hostile</h1>{paragraph * 6}</article></body></html>"
    server.set("/hostile", page.encode(), {"Content-Type": "text/html; charset=utf-8"})
    link = server.url("/hostile")
    feed = feeds.add(SYSTEM, serve(server, "/h.xml", item(1, link=link)), full_text=True)
    assert counts(feeds, feed) == outcome(stored=1)
    [report] = reports(feeds)
    row = content(feeds, report.id)
    lowered = row.html.lower()
    for bad in ("<script", "onclick", "onerror", "onmouseover", "javascript:", "<img"):
        assert bad not in lowered, bad
    assert 'href="http://ok.example/"' in row.html and "main text" in row.html
    assert "alert('inline')" not in report.stix["description"]
    assert zlib.decompress(row.raw_html) == page.encode()  # the page as it was, for the record


def test_failed_extraction_keeps_the_feed_item(feeds: FeedService, server: FeedServer) -> None:
    server.set("/blank", b"<html><body></body></html>", {"Content-Type": "text/html"})
    one = item(1, link=server.url("/blank"), body="<p>Feed text one.</p>")
    two = item(2, link=server.url("/500"), body="<p>Feed text two.</p>")
    feed = feeds.add(SYSTEM, serve(server, "/f.xml", one, two), full_text=True)
    assert counts(feeds, feed) == outcome(stored=2)
    by_text = {r.stix["description"]: r for r in reports(feeds)}
    blank, broken = by_text["Feed text one."], by_text["Feed text two."]
    assert ext(blank)["full_text"] == ext(broken)["full_text"] == "failed"
    assert ext(blank)["extraction_error"] == "no main text was found on the page"
    assert ext(broken)["extraction_error"] == f"fetching the article failed: {HTTP_500}"
    assert ext(blank)["summary"] == "Feed text one."
    row = content(feeds, blank.id)
    assert row.extraction_error == "no main text was found on the page" and row.html is None
    assert zlib.decompress(row.raw_html) == b"<html><body></body></html>"
    assert content(feeds, broken.id).raw_html is None


def test_full_text_keeps_the_pages_publication_date(feeds: FeedService, server: FeedServer) -> None:
    """An item without a date takes the one the article page states (2024-12-31 for #3)."""
    undated = f"<item><title>Undated</title><link>{server.url('/article/3')}</link></item>"
    feed = feeds.add(SYSTEM, serve(server, "/undated.xml", undated), full_text=True)
    assert counts(feeds, feed) == outcome(stored=1)
    [report] = reports(feeds)
    dates = [report.stix["published"], str(ext(report).get("published"))]
    assert any(d.startswith("2024-12-31") for d in dates), dates


# -- dedupe and updates ----------------------------------------------------------------


def test_repolling_and_redated_items_are_duplicates(feeds: FeedService, server: FeedServer) -> None:
    feed = feeds.add(SYSTEM, serve(server, "/d.xml", item(1), item(2)))
    assert counts(feeds, feed) == outcome(stored=2)
    assert counts(feeds, feed) == outcome(duplicate=2)
    redated = [item(1).replace("Sat, 01 Mar", "Mon, 10 Mar"), item(2).replace("0 GMT", "7 GMT")]
    assert redated[0] != item(1) and redated[1] != item(2)
    serve(server, "/d.xml", *redated)
    assert counts(feeds, feed) == outcome(duplicate=2)
    assert len(reports(feeds)) == 2 and all(r.version == 1 for r in reports(feeds))
    assert feeds.get(SYSTEM, feed.id).items_seen == 6


def test_changed_article_is_a_new_version(
    feeds: FeedService, server: FeedServer, clock: FakeClock
) -> None:
    feed = feeds.add(SYSTEM, serve(server, "/c.xml", item(1)))
    counts(feeds, feed)
    [before] = reports(feeds)
    clock.tick(60)
    serve(server, "/c.xml", item(1, title="記事1（更新）", body="<p>新しい本文です。</p>"))
    assert counts(feeds, feed) == outcome(updated=1)
    [after] = reports(feeds)
    assert after.id == before.id and after.version == 2
    assert (after.name, after.stix["description"]) == ("記事1（更新）", "新しい本文です。")
    assert after.stix["modified"] > before.stix["modified"]
    history = feeds.kz.objects.history(SYSTEM, after.id)
    assert [v.version for v in history] == [2, 1]
    assert history[1].stix["name"] == "記事1: advisory 1"
    assert counts(feeds, feed) == outcome(duplicate=1)  # and the new text is now known


def test_revoked_report_stays_revoked(feeds: FeedService, server: FeedServer) -> None:
    feed = feeds.add(SYSTEM, serve(server, "/r.xml", item(1)))
    counts(feeds, feed)
    [report] = reports(feeds)
    feeds.kz.objects.revoke(SYSTEM, report.id)
    serve(server, "/r.xml", item(1, title="changed after revoking"))
    assert counts(feeds, feed) == outcome(duplicate=1)
    assert reports(feeds) == [] and feeds.kz.objects.get(SYSTEM, report.id).revoked


def test_same_article_elsewhere_is_one_report(feeds: FeedService, server: FeedServer) -> None:
    first = feeds.add(SYSTEM, serve(server, "/a.xml", item(1)))
    assert counts(feeds, first) == outcome(stored=1)
    [report] = reports(feeds)
    tracked = "http://EXAMPLE.jp:80/news/1?utm_source=rss&fbclid=zz#comments"
    other = feeds.add(SYSTEM, serve(server, "/b.xml", item(1, guid="b-1", link=tracked)))
    assert counts(feeds, other) == outcome(duplicate=1)  # another feed, canonical URL
    serve(server, "/a.xml", item(1), item(1, guid="renamed-guid"))
    assert counts(feeds, first) == outcome(duplicate=2)  # the same article, a new GUID
    reworded = item(
        7, guid="copy", link="http://mirror.example/x", title="記事1:  ADVISORY 1",
        body="<div>本文1:   The article text 1.</div>",
    )  # fmt: skip
    serve(server, "/a.xml", item(1), reworded)
    assert counts(feeds, first) == outcome(duplicate=2)  # same words elsewhere: content hash
    serve(server, "/a.xml", item(1), item(2))
    assert counts(feeds, first) == outcome(stored=1, duplicate=1)  # a new article is new
    assert len(reports(feeds)) == 2
    [shared] = feeds.items(SYSTEM, other.id)
    assert shared["report_id"] == report.id and shared["url"] == tracked


# -- conditional requests, state, backoff ------------------------------------------------


CONDITIONAL = [("/etag", "if-none-match", '"v1"'), ("/lastmod", "if-modified-since", LAST_MODIFIED)]


@pytest.mark.parametrize("case", CONDITIONAL, ids=["etag", "last-modified"])
def test_conditional_get_gives_not_modified(
    feeds: FeedService, server: FeedServer, clock: FakeClock, case: tuple[str, ...]
) -> None:
    path, header, value = case
    feed = feeds.add(SYSTEM, server.url(path))
    first = feeds.poll(feed.id)
    assert first.counts == outcome(stored=1) and not first.not_modified
    assert header not in server.last_headers(path)
    clock.tick(3600)
    second = feeds.poll(feed.id)
    assert server.last_headers(path)[header] == value
    assert second.not_modified and second.error is None and second.counts == outcome()
    state = feeds.get(SYSTEM, feed.id)
    assert (state.last_status, state.consecutive_failures, state.items_seen) == (304, 0, 1)
    assert state.last_success_at == format_timestamp(clock.now)
    assert len(reports(feeds)) == 1


def test_unasked_304_and_redirects_are_not_failures(feeds: FeedService, server: FeedServer) -> None:
    server.set("/always-304", b"", status=304)
    odd = feeds.add(SYSTEM, server.url("/always-304"))
    assert feeds.poll(odd.id).not_modified
    assert feeds.get(SYSTEM, odd.id).consecutive_failures == 0
    moved = feeds.add(SYSTEM, server.url("/redirect/3"))
    assert counts(feeds, moved) == outcome(stored=1)
    assert server.count("/redirect/0") == 1
    assert [r.name for r in reports(feeds)] == ["一件目 first item"]


def test_backoff_grows_with_each_failure_and_resets(
    feeds: FeedService, server: FeedServer, clock: FakeClock
) -> None:
    server.set("/flaky", b"boom", {"Content-Type": "text/plain"}, status=500)
    feed = feeds.add(SYSTEM, server.url("/flaky"), interval_seconds=60)
    for failures in (1, 2, 3):
        result = feeds.poll(feed.id)
        state = feeds.get(SYSTEM, feed.id)
        assert result.error == state.last_error == HTTP_500
        assert (state.consecutive_failures, state.last_status) == (failures, 500)
        assert state.last_success_at is None
        base = 60 * 2**failures
        assert 0.9 * base <= (at(state.next_poll_at) - clock.now).total_seconds() <= 1.1 * base
        clock.tick(1)
    serve(server, "/flaky", item(1))
    assert counts(feeds, feed) == outcome(stored=1)
    state = feeds.get(SYSTEM, feed.id)
    assert (state.consecutive_failures, state.last_error, state.last_status) == (0, None, 200)
    assert (at(state.next_poll_at) - clock.now).total_seconds() <= 66


@pytest.mark.parametrize("retry_after", ["7200", "date"])
def test_retry_after_is_honoured(
    feeds: FeedService, server: FeedServer, clock: FakeClock, retry_after: str
) -> None:
    value = formatdate(time() + 7200, usegmt=True) if retry_after == "date" else retry_after
    server.set("/busy", b"later", {"Retry-After": value}, status=429)
    feed = feeds.add(SYSTEM, server.url("/busy"), interval_seconds=60)
    result = feeds.poll(feed.id)
    assert re.fullmatch(r"HTTP 429 from the server; retry after [\d.]+ s", str(result.error))
    state = feeds.get(SYSTEM, feed.id)
    assert (state.last_status, state.consecutive_failures) == (429, 1)
    assert at(state.next_poll_at) >= clock.now + timedelta(seconds=7200 - 5)


def test_next_poll_bounds_spread_and_cap() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(7)
    for failures, base in [(0, 1800), (1, 3600), (3, 14400), (5, 57600), (6, 86400), (40, 86400)]:
        times = [next_poll(now, 1800, failures=failures, rng=rng) for _ in range(300)]
        delays = [(t - now).total_seconds() for t in times]
        assert min(delays) >= 0.9 * base and max(delays) <= 1.1 * base
        assert max(delays) - min(delays) > 0.15 * base  # spread, not one instant
        assert len(set(delays)) > 290
    assert timedelta(hours=24) == MAX_BACKOFF
    late = next_poll(now, 60, failures=1, retry_after=5000, rng=random.Random(1))
    assert late == now + timedelta(seconds=5000)
    same = [next_poll(now, 600, rng=random.Random(3)) for _ in range(2)]
    assert same[0] == same[1]


# -- misbehaving servers -----------------------------------------------------------------

BAD = [
    ("/500", HTTP_500, 500),
    ("/429", r"HTTP 429 from the server; retry after 120 s", 429),
    ("/loop/a", r"redirect loop: .*/loop/a → .*/loop/b → .*/loop/a", None),
    ("/redirect/9", r"more than 5 redirects", None),
    ("/to-private", r"refused", None),
    ("/slow", r"no answer within the time limit|took longer|gave up", None),
    ("/trickle", r"no answer within the time limit|took longer|gave up", None),
    ("/big", r"over the limit of 2,097,152", 200),
    ("/big-chunked", r"over the limit of 2,097,152", 200),
    ("/gzip-bomb", r"over the limit of 2,097,152", 200),
    ("/billion-laughs", r"not a feed", 200),
    ("/html", r"not a feed: the document is an HTML page, not a feed", 200),
    ("/empty", r"not a feed: the document is empty", 200),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0][1:] for b in BAD])
def test_misbehaving_server_fails_only_its_own_feed(
    feeds: FeedService, server: FeedServer, clock: FakeClock, case: tuple[Any, ...]
) -> None:
    path, words, status = case
    good = feeds.add(SYSTEM, serve(server, "/good.xml", item(1), item(2)), title="good")
    bad = feeds.add(SYSTEM, server.url(path), title="bad", interval_seconds=600)
    assert counts(feeds, good) == outcome(stored=2)
    before = len(reports(feeds))
    result = feeds.poll(bad.id)
    state = feeds.get(SYSTEM, bad.id)
    assert result.error is not None and result.counts == outcome()
    assert state.last_error == result.error and re.search(words, state.last_error)
    assert state.consecutive_failures == 1 and state.last_success_at is None
    assert at(state.next_poll_at) >= clock.now + timedelta(seconds=1080)
    if status is not None:
        assert state.last_status == status
    assert (state.items_seen, state.items_stored, state.polling) == (0, 0, False)
    assert len(reports(feeds)) == before and feeds.items(SYSTEM, bad.id) == []
    serve(server, "/good.xml", item(1), item(2), item(3))
    assert counts(feeds, good) == outcome(stored=1, duplicate=2)
    fine = feeds.get(SYSTEM, good.id)
    assert (fine.consecutive_failures, fine.last_error, fine.items_stored) == (0, None, 3)
