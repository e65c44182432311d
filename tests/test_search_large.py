"""Large result sets: how the index answers without reading every match, checked on a
small index with the thresholds turned down, against a plain read of every match.

Newest first reads windows of the newest documents; relevance reads the word matches
first. Both must give the pages a full read gives (the order of matches, no match lost or
repeated across cursor pages), say when their total is a lower bound, and keep TLP and
NOT exactly as the full query does.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest
import tantivy

from kizashi.model.searchquery import parse
from kizashi.model.tlp import LEVELS
from kizashi.search import reading as index_module
from kizashi.search.compile import Access
from kizashi.search.documents import build
from kizashi.search.index import SearchIndex
from kizashi.store.search import DocRow

NOW = time.mktime((2026, 11, 28, 12, 0, 0, 0, 0, 0))
EVERYONE = Access(frozenset(LEVELS))
ANALYST = Access(frozenset(LEVELS) - {"red"}, user_pk=7)

#: (title, text) kinds: the word ログ, ログ only inside プログラム, neither.
WORD = ("ログの確認", "侵入後にログを削除した。ログを確認する。")
INSIDE = ("更新情報", "新しいプログラムを公開した。")
OTHER = ("別件", "通信先を確認した。")


def _row(pk: int, kind: tuple[str, str], published: float, r: random.Random) -> DocRow:
    title, text = kind
    return DocRow(
        pk=pk,
        id=f"report--{uuid.UUID(int=r.getrandbits(128), version=4)}",
        type="report",
        name=title,
        value=None,
        created=None,
        modified=None,
        published=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(published)),
        tlp="red" if pk % 17 == 0 else None,
        revoked=False,
        data={"description": text},
        created_by=7 if pk % 34 == 0 else None,
        tags=["even"] if pk % 2 == 0 else [],
        author_name=None,
    )


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    r = random.Random(5)
    kinds = [WORD] * 200 + [INSIDE] * 100 + [OTHER] * 100
    r.shuffle(kinds)
    idx = SearchIndex(None)
    docs = []
    for pk, kind in enumerate(kinds, 1):
        # Spread over the last 400 days, some a little in the future; none at the same second.
        published = NOW - r.uniform(-3, 400) * 86_400
        doc = build(_row(pk, kind, published, r))
        assert doc is not None
        docs.append(doc)
    idx.add(docs)
    idx.apply({}, 1, {})
    return idx


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "EXACT_TOTAL", 50)
    monkeypatch.setattr(index_module, "NEWEST_CHEAP", 10)
    monkeypatch.setattr(index_module, "NEWEST_SHARE", 0.0)


def full_read(idx: SearchIndex, text: str, access: Access, sort: str) -> list[int]:
    """Every match, ordered as the page asks, by one plain query over the whole index."""
    searcher = idx.searcher()
    query = idx.compiler.query(parse(text), access)
    kw: dict[str, Any] = {"order_by_field": "sortkey"} if sort == "newest" else {}
    found = searcher.search(query, 10_000, count=True, **kw)
    return [int(pk) for pk in searcher.fast_field_values("pk", [a for _, a in found.hits])]


def pages(idx: SearchIndex, text: str, access: Access, sort: str, limit: int) -> list[Any]:
    out = []
    cursor = None
    while True:
        page = idx.search(parse(text), access, sort=sort, limit=limit, cursor=cursor, now=NOW)
        out.append(page)
        cursor = page.next_cursor
        if cursor is None or len(out) > 100:
            return out


QUERIES = ["ログ", "プログラム OR ログ", "確認 NOT ログ", "ログ tag:even", '"ログを削除"', "確認"]


@pytest.mark.usefixtures("small_thresholds")
@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize("access", [EVERYONE, ANALYST], ids=["everyone", "analyst"])
def test_newest_first_pages_are_those_of_a_full_read(
    index: SearchIndex, text: str, access: Access
) -> None:
    expected = full_read(index, text, access, "newest")
    got = pages(index, text, access, "newest", 7)
    assert [h.pk for p in got for h in p.hits] == expected
    first = got[0]
    if first.total_exact:
        assert first.total == len(expected)
    else:
        assert len(first.hits) <= first.total <= len(expected)


@pytest.mark.usefixtures("small_thresholds")
def test_newest_first_reads_a_window_when_the_result_is_large(index: SearchIndex) -> None:
    page = index.search(parse("ログ"), EVERYONE, sort="newest", limit=5, now=NOW)
    assert not page.total_exact  # the window held a page: the rest was not counted
    assert 5 <= page.total < 300
    # A small result is read whole and counted exactly.
    rare = index.search(parse("ログ 存在しない"), EVERYONE, sort="newest", now=NOW)
    assert rare.total_exact and rare.total == 0


def test_the_window_search_reaches_all_of_time(index: SearchIndex) -> None:
    searcher = index.searcher()
    # More documents asked for than there are: no window start, and no error.
    assert index._newest_key(searcher, 10_000, None, NOW) is None
    # The 10th newest document's sort key, whatever range it took to find it.
    tenth = searcher.search(tantivy.Query.all_query(), 10, order_by_field="sortkey").hits[-1]
    assert index._newest_key(searcher, 10, None, NOW) == tenth[0]
    assert index._newest_key(searcher, 10, tenth[0], NOW) < tenth[0]


def test_exact_count_of_a_large_result(index: SearchIndex) -> None:
    assert index.count_matches(parse("ログ"), EVERYONE) == 300


def test_without_large_results_every_total_is_exact(index: SearchIndex) -> None:
    for text in QUERIES:
        for sort in ("relevance", "newest"):
            page = index.search(parse(text), EVERYONE, sort=sort, limit=5, now=NOW)
            assert page.total_exact
            assert page.total == len(full_read(index, text, EVERYONE, sort))


@pytest.mark.usefixtures("small_thresholds")
def test_relevance_reads_word_matches_first(index: SearchIndex) -> None:
    words = set(full_read(index, "ログ", EVERYONE, "relevance")[:200])
    page = index.search(parse("ログ"), EVERYONE, limit=20)
    assert not page.total_exact and page.total == 200  # the word matches, at least
    assert {h.pk for h in page.hits} <= words
    assert page.next_cursor is not None
    # Past the word matches the full query answers: the bigram-only matches, counted.
    every = []
    cursor = page.next_cursor
    every += [h.pk for h in page.hits]
    while cursor is not None:
        nxt = index.search(parse("ログ"), EVERYONE, limit=20, cursor=cursor)
        every += [h.pk for h in nxt.hits]
        cursor = nxt.next_cursor
    assert sorted(every) == sorted(full_read(index, "ログ", EVERYONE, "relevance"))
    assert len(every) == 300


@pytest.mark.usefixtures("small_thresholds")
def test_a_not_keeps_its_full_meaning_in_the_words_only_read(index: SearchIndex) -> None:
    # プログラム holds ログ only as characters: NOT ログ must exclude it all the same.
    words = index.compiler.variant(words_only=True)
    searcher = index.searcher()
    query = words.query(parse("プログラム NOT ログ"), EVERYONE)
    assert searcher.search(query, 10, count=True).count == 0
    query = words.query(parse("確認 NOT ログ"), EVERYONE)
    found = searcher.search(query, 1000, count=True)
    assert found.count == len(full_read(index, "確認 NOT ログ", EVERYONE, "relevance"))


def test_tlp_red_stays_out_for_those_who_may_not_read_it(index: SearchIndex) -> None:
    red = {pk for pk in range(1, 401) if pk % 17 == 0}
    own = {pk for pk in red if pk % 34 == 0}
    seen = set(full_read(index, "確認 OR プログラム", ANALYST, "relevance"))
    assert seen and not (seen & (red - own))
    assert own <= set(full_read(index, "確認 OR プログラム", EVERYONE, "relevance"))
    assert own & seen  # their own red reports
