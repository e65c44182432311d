"""The objects list (issue 20): keyset pages in each sort, the address that keeps the
filters, htmx fragments, and the bulk form and API (tags, TLP, access), on SQLite and
PostgreSQL. In Chromium: tests/test_browser_lists.py."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.store.listing import DESCENDING, SORTS
from test_web import login

#: Three dates for eleven reports, and names that repeat: every sort has ties.
DAYS = ["2024-03-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"]


def _seed(kz: Kizashi, n: int = 11) -> list[str]:
    ids = []
    for i in range(n):
        day = DAYS[i % 3]
        stix = {
            "type": "report",
            "name": f"報告 {i % 4}",
            "published": day,
            "created": day,
            "modified": day,
        }
        ids.append(kz.objects.create(SYSTEM, stix)[0].id)
    for i in range(4):  # observables have no created or modified: the stored time counts
        ids.append(kz.objects.create(SYSTEM, {"type": "ipv4-addr", "value": f"10.9.0.{i}"})[0].id)
    return ids


def _report(kz: Kizashi, name: str, day: str, actor: Actor = SYSTEM, **kw: Any) -> str:
    stix = {"type": "report", "name": name, "published": day, "created": day, "modified": day}
    return kz.objects.create(actor, stix, **kw)[0].id


def _key(sort: str, o: Any) -> str:
    if sort == "name":
        return str(o.name)
    return str((o.created if sort == "created" else o.modified) or o.updated_at)


def _walk(kz: Kizashi, sort: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = kz.objects.list(SYSTEM, sort=sort, limit=limit, cursor=cursor)
        pages.append([o.id for o in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages


@pytest.mark.parametrize("sort", SORTS)
def test_keyset_pages_cover_every_object_once_in_each_sort(kz: Kizashi, sort: str) -> None:
    _seed(kz)
    everything = kz.objects.list(SYSTEM, sort=sort, limit=500).items
    keys = [_key(sort, o) for o in everything]
    if sort != "stored":  # in the order of the key shown, ties and all
        assert keys == sorted(keys, reverse=DESCENDING[sort])
        assert len(set(keys)) < len(keys)
    for limit in (1, 2, 4, 7):
        pages = _walk(kz, sort, limit)
        walked = [i for p in pages for i in p]
        assert walked == [o.id for o in everything], (sort, limit)  # none skipped or repeated
        # And back again: each page's "previous" is the page before, the first has none.
        cursor = kz.objects.list(SYSTEM, sort=sort, limit=limit).next_cursor
        back: list[list[str]] = []
        page = None
        for _ in pages[1:]:
            page = kz.objects.list(SYSTEM, sort=sort, limit=limit, cursor=cursor)
            back.append([o.id for o in page.items])
            cursor = page.next_cursor
        assert back == pages[1:]
        if page is not None:
            prev = kz.objects.list(SYSTEM, sort=sort, limit=limit, cursor=page.prev_cursor)
            assert [o.id for o in prev.items] == pages[-2]
            first = _first_by_going_back(kz, sort, limit, page.prev_cursor)
            assert first == pages[0]


def _first_by_going_back(kz: Kizashi, sort: str, limit: int, cursor: str | None) -> list[str]:
    while True:
        page = kz.objects.list(SYSTEM, sort=sort, limit=limit, cursor=cursor)
        if page.prev_cursor is None:
            assert page.next_cursor is not None
            return [o.id for o in page.items]
        cursor = page.prev_cursor


def test_a_cursor_is_only_good_for_its_own_sort(kz: Kizashi) -> None:
    _seed(kz)
    by_name = kz.objects.list(SYSTEM, sort="name", limit=3).next_cursor
    with pytest.raises(KizashiError, match="another sort order"):
        kz.objects.list(SYSTEM, sort="modified", limit=3, cursor=by_name)
    for bad in ("garbage!", "cGs6eA", "WyJmIiwibmFtZSIsIngiLCJ5Il0", "bnVsbA"):
        with pytest.raises(KizashiError, match="not one this server gave out"):
            kz.objects.list(SYSTEM, sort="name", cursor=bad)
    with pytest.raises(KizashiError, match="Sort by one of"):
        kz.objects.list(SYSTEM, sort="random")


def _links(html: str) -> dict[str, str]:
    return {
        rel: unescape(href) for rel, href in re.findall(r'rel="(prev|next)" href="([^"]+)"', html)
    }


def test_the_address_keeps_filters_sort_and_page(web: TestClient, kz: Kizashi) -> None:
    login(web, "ana", "analyst-password")
    for i in range(60):
        kz.objects.create(SYSTEM, {"type": "ipv4-addr", "value": f"10.1.{i // 10}.{i}"})
    query = {"type": "ipv4-addr", "q": "10.1.", "sort": "name"}
    first = web.get("/objects", params=query)
    assert first.status_code == 200
    assert 'hx-push-url="true"' in first.text
    links = _links(first.text)
    assert set(links) == {"next"}  # the first page has no previous
    assert re.fullmatch(
        r"/objects\?type=ipv4-addr&q=10\.1\.&sort=name&cursor=[\w-]+", links["next"]
    )
    names = re.findall(r">(10\.1\.\d\.\d+)</a>", first.text)
    assert names == sorted(names) and len(names) == 50
    # The next page through htmx: the list's region only, the filters still applied.
    second = web.get(links["next"], headers={"HX-Request": "true"})
    assert second.status_code == 200
    assert second.text.lstrip().startswith('<div id="object-list">') and "<html" not in second.text
    assert "HX-Request" in second.headers["vary"]
    rest = re.findall(r">(10\.1\.\d\.\d+)</a>", second.text)
    assert len(rest) == 10 and not set(rest) & set(names) and min(rest) > max(names)
    assert set(_links(second.text)) == {"prev"}
    # The bulk form goes back to this same page.
    back = unescape(re.search(r'name="back" value="([^"]*)"', second.text).group(1))  # type: ignore[union-attr]
    assert "/objects?" + back == links["next"]
    # Its previous link leads to the first page again; a reload (or a shared link, or
    # htmx restoring history) gets the whole page.
    again = web.get(_links(second.text)["prev"])
    assert re.findall(r">(10\.1\.\d\.\d+)</a>", again.text) == names
    whole = web.get(
        links["next"], headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in whole.text and "selected>" in whole.text


def test_the_default_order_is_stored_and_dates_are_chosen(web: TestClient, kz: Kizashi) -> None:
    login(web, "ana", "analyst-password")
    _report(kz, "Old news", DAYS[2])
    _report(kz, "Fresh news", DAYS[0])  # stored last but one, modified last
    _report(kz, "Middle", DAYS[1])
    # The default is the order of storing (the primary key's, fast at any size) ...
    page = web.get("/objects", params={"type": "report"}).text
    assert page.index("Middle") < page.index("Fresh news") < page.index("Old news")
    # ... and the dates' orders are a choice.
    page = web.get("/objects", params={"type": "report", "sort": "modified"}).text
    assert page.index("Fresh news") < page.index("Middle") < page.index("Old news")
    page = web.get("/objects", params={"type": "report", "sort": "oldest"}).text
    assert page.index("Old news") < page.index("Middle") < page.index("Fresh news")
    # Sorted by creation, the date column says so.
    page = web.get("/objects", params={"type": "report", "sort": "created"}).text
    assert "<th>Created</th>" in page and "<th>Modified</th>" not in page
    ja = web.get("/objects", headers={"Accept-Language": "ja"}).text
    assert "更新日時の新しい順" in ja


def test_a_bad_cursor_is_a_400_with_a_clear_message(web: TestClient, kz: Kizashi) -> None:
    login(web, "rei", "reader-password")
    _seed(kz, 3)
    r = web.get("/objects", params={"cursor": "garbage!"})
    assert r.status_code == 400
    assert "The cursor is not one this server gave out." in r.text
    by_name = kz.objects.list(SYSTEM, sort="name", limit=1).next_cursor
    r = web.get("/objects", params={"cursor": by_name, "sort": "modified"})
    assert r.status_code == 400
    assert "This cursor belongs to another sort order" in r.text
    r = web.get("/objects", params={"cursor": "garbage!"}, headers={"Accept-Language": "ja"})
    assert r.status_code == 400 and "カーソル" in r.text


def _red_of_alice(kz: Kizashi) -> str:
    return _report(kz, "極秘", DAYS[0], kz.users.get_actor("alice"), tlp="red")


def _notice(html: str) -> str:
    m = re.search(r'<article class="notice" role="status">(.*?)</article>', html, re.S)
    return " ".join(m.group(1).split()) if m else ""


def test_bulk_tags_and_tlp_with_what_may_not_be_touched(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    a, b = (_report(kz, n, DAYS[0], tags=["old"]) for n in ("一", "二"))
    red = _red_of_alice(kz)
    back = "type=report&sort=name"
    r = web.post(
        "/objects/bulk",
        data={
            "csrf": csrf,
            "ids": [a, b, red],
            "add_tags": "apt-x, キャンペーン",
            "tlp": "amber",
            "back": back,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/objects?type=report&sort=name"  # the same list
    page = web.get(r.headers["location"]).text
    assert _notice(page) == (
        "2 objects changed. 1 object was left as it was: it is not there, or you may not change it."
    )
    assert _notice(web.get("/objects").text) == ""  # said once
    for i in (a, b):
        view = kz.objects.get(SYSTEM, i)
        assert view.tlp == "amber" and {"apt-x", "キャンペーン", "old", "tlp:amber"} <= set(
            view.tags
        )
    kept = kz.objects.get(SYSTEM, red)
    assert kept.tlp == "red" and kept.tags == ["tlp:red"]  # refused whole
    # Remove, and "all on this page" (without scripts: the page's ids come along).
    r = web.post(
        "/objects/bulk",
        data={
            "csrf": csrf,
            "all": "1",
            "page_ids": [a, b],
            "remove_tags": "old, apt-x",
            "back": back,
        },
    )
    assert _notice(r.text) == "2 objects changed."
    assert kz.objects.get(SYSTEM, a).tags == ["tlp:amber", "キャンペーン"]
    # Already so: nothing changes, and the notice says it.
    r = web.post("/objects/bulk", data={"csrf": csrf, "ids": [a], "tlp": "amber", "back": back})
    assert _notice(r.text) == "1 object was already so."
    # A request that cannot be done is refused whole, before any object changes.
    r = web.post(
        "/objects/bulk",
        data={"csrf": csrf, "ids": [a, b], "add_tags": "z", "remove_tags": "z", "back": back},
    )
    assert r.status_code == 200 and "A tag cannot be added and removed at once: z" in r.text
    assert "z" not in kz.objects.get(SYSTEM, a).tags
    r = web.post("/objects/bulk", data={"csrf": csrf, "back": back})
    assert "Select at least one object." in r.text


def test_bulk_is_for_writers_with_the_form_s_token(web: TestClient, kz: Kizashi) -> None:
    a = kz.objects.create(SYSTEM, {"type": "report", "name": "一", "published": DAYS[0]})[0].id
    csrf = login(web, "ana", "analyst-password")
    page = web.get("/objects").text
    assert 'id="bulk"' in page and 'aria-label="Select all objects on this page"' in page
    assert f'name="ids" value="{a}"' in page
    r = web.post("/objects/bulk", data={"csrf": "forged", "ids": [a], "add_tags": "x"})
    assert r.status_code == 403
    assert "x" not in kz.objects.get(SYSTEM, a).tags
    web.post("/logout", data={"csrf": csrf})
    csrf = login(web, "rei", "reader-password")
    page = web.get("/objects").text
    assert 'id="bulk"' not in page and 'type="checkbox"' not in page
    r = web.post("/objects/bulk", data={"csrf": csrf, "ids": [a], "add_tags": "x"})
    assert r.status_code == 403
    assert kz.objects.get(SYSTEM, a).tags == []


def _token(kz: Kizashi, actor: Actor) -> dict[str, str]:
    token, _ = kz.users.create_token(actor, "lists")
    return {"authorization": f"Bearer {token}"}


def test_bulk_api(api: TestClient, kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    kz.users.create(SYSTEM, "alice", "alice-password", "admin")
    a = kz.objects.create(SYSTEM, {"type": "report", "name": "一", "published": DAYS[0]})[0].id
    red = _red_of_alice(kz)
    missing = "report--0b8c7d1e-0000-4a1a-8a1a-000000000000"
    body = {"ids": [a, red, missing], "add_tags": ["apt"], "tlp": "green"}
    r = api.post("/api/v1/objects/bulk", json=body, headers=_token(kz, analyst))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["changed"], out["unchanged"], out["refused"]) == (1, 0, 2)
    assert [(x["id"], x["status"]) for x in out["results"]] == [
        (a, "changed"),
        (red, "not_found"),  # as a missing one: whether it exists is not told
        (missing, "not_found"),
    ]
    assert out["results"][0]["tags"] == ["apt", "tlp:green"]
    assert out["results"][1]["tags"] == []
    assert kz.objects.get(SYSTEM, red).tags == ["tlp:red"]
    r = api.post("/api/v1/objects/bulk", json=body, headers=_token(kz, reader))
    assert r.status_code == 403
    r = api.post("/api/v1/objects/bulk", json=body | {"tlp": "purple"}, headers=_token(kz, analyst))
    assert r.status_code == 422
    r = api.get("/api/v1/objects", params={"sort": "name", "limit": 1}, headers=_token(kz, reader))
    assert r.status_code == 200 and r.json()["next_cursor"]


def test_the_list_leaves_out_relationships_and_accounts_unless_asked(
    web: TestClient, kz: Kizashi
) -> None:
    """UX finding 4: rows named by two raw ids (relationships) and the user accounts'
    identities were listed as if they were intelligence."""
    a, b = _seed(kz, 2)[:2]
    rel = kz.relationships.create(SYSTEM, a, "related-to", b)
    account = kz.users.get_actor("ana").identity_ref
    analysis = kz.objects.create(
        SYSTEM, {"type": "identity", "name": "分析チーム", "identity_class": "organization"}
    )[0]
    login(web, "ana", "analyst-password")
    everything = web.get("/objects").text
    assert a in everything and analysis.id in everything
    assert rel.id not in everything and account not in everything
    assert rel.id in web.get("/objects", params={"type": "relationship"}).text
    identities = web.get("/objects", params={"type": "identity"}).text
    assert account in identities and analysis.id in identities
    # The API lists what it always listed.
    page = kz.objects.list(SYSTEM, limit=200)
    assert {rel.id, account} <= {o.id for o in page.items}


def test_lists_in_stored_order_show_when_each_was_stored(
    web: TestClient, kz: Kizashi, clock: Any
) -> None:
    """UX finding 3: the home page, a tag's page and the objects list are in the order
    Kizashi stored the items but showed each one's STIX modified time (imported data
    looked unsorted). They show when each was stored, which an edit does not move."""
    made = []
    for title, day in (("Old news", DAYS[2]), ("Fresh news", DAYS[0]), ("Middle", DAYS[1])):
        made.append(_report(kz, title, day))
        kz.tags.tag(SYSTEM, made[-1], ["finding-3"])
        clock.tick(3600)
    first = kz.objects.get(SYSTEM, made[0])
    kz.objects.update(SYSTEM, made[0], {"description": "edited later"})
    assert kz.objects.get(SYSTEM, made[0]).stored_at == first.stored_at
    assert kz.objects.get(SYSTEM, made[0]).updated_at != first.stored_at
    login(web, "ana", "analyst-password")
    for url in ("/objects?type=report", "/tags/finding-3", "/"):
        page = web.get(url, headers={"Accept-Language": "ja"}).text
        table = page[page.index('<table class="striped objects">') :]
        table = table[: table.index("</table>")]
        assert "<th>取り込み日時</th>" in table and "<th>更新日時</th>" not in table, url
        shown = re.findall(r'<time datetime="([^"]+)"', table)
        assert len(shown) >= 3 and shown == sorted(shown, reverse=True), (url, shown)
        assert table.index("Middle") < table.index("Fresh news") < table.index("Old news")
