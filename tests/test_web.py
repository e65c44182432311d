"""The web UI's pages and forms, in process, on SQLite and PostgreSQL.

The browser test (test_browser.py) drives the same pages in Chromium.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(web: TestClient, user: str, password: str) -> str:
    token = csrf_of(web.get("/login").text)
    r = web.post(
        "/login",
        data={"username": user, "password": password, "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(web.get("/").text)


def test_anonymous_is_sent_to_login(web: TestClient) -> None:
    for path in (
        "/",
        "/objects",
        "/tags",
        "/objects/new/report",
        "/admin/users",
        "/settings/tokens",
    ):
        r = web.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")
    r = web.post("/objects/new/report", data={"title": "x"}, follow_redirects=False)
    assert r.status_code == 303


def test_login_failures_and_no_open_redirect(web: TestClient) -> None:
    token = csrf_of(web.get("/login").text)
    r = web.post("/login", data={"username": "alice", "password": "wrong", "csrf": token})
    assert r.status_code == 401
    assert "The user name or password is wrong." in r.text
    r = web.post("/login", data={"username": "nobody", "password": "wrong", "csrf": token})
    assert r.status_code == 401
    r = web.post(
        "/login", data={"username": "alice", "password": "alice-password", "csrf": "forged"}
    )
    assert r.status_code == 401
    assert web.get("/", follow_redirects=False).status_code == 303
    r = web.post(
        "/login",
        data={
            "username": "alice",
            "password": "alice-password",
            "csrf": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_create_report_round_trips_japanese_and_sanitises(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    body = "## 概要\n\n**攻撃**の説明。<script>alert(1)</script> [x](javascript:alert(2))"
    r = web.post(
        "/objects/new/report",
        data={
            "csrf": csrf,
            "title": "日本語のタイトル「兆し」",
            "body": body,
            "published": "2024-05-01",
            "source_url": "https://example.jp/記事",
            "tlp": "amber",
            "tags": "ランサムウェア、apt, tlp:amber",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = web.get(r.headers["location"])
    assert "日本語のタイトル「兆し」" in page.text
    assert "<strong>攻撃</strong>" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert 'href="javascript:' not in page.text
    assert "&lt;script&gt;" in page.text  # shown as text, never run
    [obj] = kz.objects.list(SYSTEM, types=["report"]).items
    assert obj.name == "日本語のタイトル「兆し」"
    assert obj.stix["description"] == body
    assert obj.tags == ["apt", "tlp:amber", "ランサムウェア"]
    assert obj.stix["external_references"] == [
        {"source_name": "source", "url": "https://example.jp/記事"}
    ]


def test_form_errors_keep_what_was_typed(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    r = web.post(
        "/objects/new/report",
        data={
            "csrf": csrf,
            "title": "残す題名",
            "body": "本文",
            "published": "01/05/2024",
            "tags": "x",
        },
    )
    assert r.status_code == 422
    assert "published must be a date" in r.text
    assert 'value="残す題名"' in r.text
    r = web.post(
        "/objects/new/observable",
        data={"csrf": csrf, "type": "indicator", "value": "[ipv4-addr:value = "},
    )
    assert r.status_code == 422
    assert "pattern" in r.text
    r = web.post(
        "/objects/new/report",
        data={"csrf": csrf, "title": "t", "published": "2024-01-01", "tags": "tlp:nope"},
    )
    assert r.status_code == 422
    assert kz.objects.list(SYSTEM, types=["report", "indicator"]).items == []


def test_entity_observable_note_edit_tag_relate_revoke(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    r = web.post(
        "/objects/new/entity",
        data={
            "csrf": csrf,
            "type": "malware",
            "name": "Kiza",
            "is_family": "on",
            "aliases": "KizaLoader, キザ",
        },
        follow_redirects=False,
    )
    mal = r.headers["location"].rsplit("/", 1)[1]
    assert kz.objects.get(SYSTEM, mal).stix["aliases"] == ["KizaLoader", "キザ"]
    r = web.post(
        "/objects/new/observable",
        data={"csrf": csrf, "type": "domain-name", "value": "evil.example", "tags": "c2"},
        follow_redirects=False,
    )
    dom = r.headers["location"].rsplit("/", 1)[1]
    assert dom.startswith("domain-name--")
    r = web.post(
        "/objects/new/note",
        data={"csrf": csrf, "content": "メモ", "object_refs": mal},
        follow_redirects=False,
    )
    assert r.status_code == 303

    # Edit: a new version, old one in the history.
    r = web.post(
        f"/objects/{mal}/edit",
        data={"csrf": csrf, "name": "Kiza v2", "description": "説明", "aliases": "K"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    view = kz.objects.get(SYSTEM, mal)
    assert (view.version, view.name, view.stix["aliases"]) == (2, "Kiza v2", ["K"])
    page = web.get(f"/objects/{mal}").text
    assert "Kiza v2" in page
    assert "メモ" in page  # the note refers to it
    # The history names each change and its editor; the newest is marked as current.
    rows = re.findall(r"<tr[^>]*><td>(\d+)(.*?)</td><td>(.*?)</td><td>(.*?)</td>", page)
    assert [(v, "<mark>" in mark, change, who) for v, mark, change, who in rows] == [
        ("2", True, "edited", "ana"), ("1", False, "created", "ana")
    ]  # fmt: skip
    ja = web.get(f"/objects/{mal}", headers={"accept-language": "ja"}).text
    rows = re.findall(r"<tr[^>]*><td>(\d+)(.*?)</td><td>(.*?)</td>", ja)
    assert rows == [("2", " <mark>現在</mark>", "更新"), ("1", "", "作成")]

    # Tags, relate, untag.
    web.post(f"/objects/{mal}/tags", data={"csrf": csrf, "tags": "tlp:red, ランサムウェア"})
    assert kz.objects.get(SYSTEM, mal).tags == ["tlp:red", "ランサムウェア"]
    r = web.post(f"/objects/{mal}/tags", data={"csrf": csrf, "tags": "tlp:reddish"})
    assert r.status_code == 422
    web.post(
        f"/objects/{mal}/relate",
        data={"csrf": csrf, "relationship_type": "communicates-with", "target_ref": dom},
    )
    hood = kz.relationships.neighbours(SYSTEM, mal)
    assert [(e.relationship_type, e.target_ref) for e in hood.edges] == [("communicates-with", dom)]
    web.post(f"/objects/{mal}/untag", data={"csrf": csrf, "tag": "ランサムウェア"})
    assert kz.objects.get(SYSTEM, mal).tags == ["tlp:red"]

    # Revoke hides it from the analyst; only an admin can restore.
    web.post(f"/objects/{mal}/revoke", data={"csrf": csrf})
    assert web.get(f"/objects/{mal}").status_code == 404
    assert web.post(f"/objects/{mal}/restore", data={"csrf": csrf}).status_code in (403, 404)
    web.post("/logout", data={"csrf": csrf_of(web.get("/").text)})
    csrf = login(web, "alice", "alice-password")
    assert "revoked" in web.get(f"/objects/{mal}").text
    web.post(f"/objects/{mal}/restore", data={"csrf": csrf})
    assert kz.objects.get(SYSTEM, mal).revoked is False


def test_writes_need_the_csrf_token(web: TestClient, kz: Kizashi) -> None:
    login(web, "ana", "analyst-password")
    r = web.post("/objects/new/report", data={"title": "t", "published": "2024-01-01"})
    assert r.status_code == 403
    assert kz.objects.list(SYSTEM, types=["report"]).items == []


def test_reader_gets_403_on_write_pages(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "rei", "reader-password")
    ta = kz.objects.create(SYSTEM, {"type": "threat-actor", "name": "X"})[0].id
    assert web.get("/objects/new/report").status_code == 403
    r = web.post(
        "/objects/new/report", data={"csrf": csrf, "title": "t", "published": "2024-01-01"}
    )
    assert r.status_code == 403
    assert web.post(f"/objects/{ta}/tags", data={"csrf": csrf, "tags": "x"}).status_code == 403
    assert web.post(f"/objects/{ta}/revoke", data={"csrf": csrf}).status_code == 403
    assert web.get("/admin/users").status_code == 403
    assert web.get(f"/objects/{ta}").status_code == 200
    assert kz.objects.get(SYSTEM, ta).tags == []


def test_lists_filters_and_tag_pages(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    a = kz.objects.create(
        SYSTEM,
        {"type": "report", "name": "甲", "published": "2024-01-01T00:00:00Z"},
        tags=["x", "y"],
    )[0]
    b = kz.objects.create(
        SYSTEM, {"type": "report", "name": "乙", "published": "2024-01-01T00:00:00Z"}, tags=["x"]
    )[0]
    page = web.get("/objects", params={"tags": "x NOT y"}).text
    assert b.id in page
    assert a.id not in page
    bad = web.get("/objects", params={"tags": "x AND (y"})
    assert bad.status_code == 422
    assert "position" in bad.text
    page = web.get("/tags/x").text
    assert "y" in page  # neighbour
    r = web.post(
        "/tags/y",
        data={"csrf": csrf, "name": "x", "colour": "#aabbcc", "description": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert kz.objects.get(SYSTEM, a.id).tags == ["x"]
    assert (
        web.get("/ui/tag-options", params={"field": "tags", "tags": "foo, tlp:gr"}).text.count(
            'value="foo, tlp:green"'
        )
        == 1
    )
    assert (
        b.id
        in web.get("/ui/object-options", params={"field": "target_ref", "target_ref": "乙"}).text
    )


def test_admin_pages_and_tokens(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "alice", "alice-password")
    r = web.post(
        "/admin/users",
        data={"csrf": csrf, "username": "new", "password": "new-password", "role": "reader"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert kz.users.get_actor("new").role.value == "reader"
    r = web.post("/admin/users", data={"csrf": csrf, "username": "bad name!", "password": "x"})
    assert r.status_code == 422
    web.post("/admin/taxonomies/workflow", data={"csrf": csrf, "enabled": "on"})
    assert kz.tags.taxonomy_states()["workflow"] is True
    page = web.post("/settings/tokens", data={"csrf": csrf, "name": "soar"}).text
    token = re.search(r'<code id="new-token">(kz_[^<]+)</code>', page)
    assert token
    assert kz.users.authenticate_token(token.group(1)).username == "alice"
    assert token.group(1) not in web.get("/settings/tokens").text


def test_html_error_pages_outside_the_api(web: TestClient) -> None:
    login(web, "ana", "analyst-password")
    r = web.get("/objects/report--00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    r = web.get("/no/such/page")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]


def test_change_own_password(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    form = {
        "csrf": csrf,
        "current": "wrong",
        "new": "brand-new-password",
        "confirm": "brand-new-password",
    }
    r = web.post("/settings/password", data=form)
    assert r.status_code == 422
    assert "current password is wrong" in r.text
    r = web.post(
        "/settings/password", data=form | {"current": "analyst-password", "confirm": "typo"}
    )
    assert r.status_code == 422
    r = web.post("/settings/password", data=form | {"current": "analyst-password"})
    assert r.status_code == 200
    assert "was changed" in r.text
    assert kz.users.authenticate("ana", "brand-new-password").username == "ana"


def test_security_headers_forbid_foreign_and_inline_scripts(web: TestClient) -> None:
    for r in (web.get("/login"), web.get("/api/v1/openapi.json"), web.get("/api/v1/objects")):
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    login(web, "ana", "analyst-password")
    for path in ("/", "/objects", "/objects/new/report", "/tags", "/settings/tokens"):
        html = web.get(path).text
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"
        assert "<script>" not in html
        assert "http://" not in html.replace("http://127.0.0.1", "").replace(
            "http://testserver", ""
        )


def test_report_page_shows_the_article_not_raw_json(web: TestClient, kz: Kizashi) -> None:
    from kizashi.model.article import ARTICLE_EXTENSION, article_properties

    login(web, "ana", "analyst-password")
    view, _ = kz.objects.create(
        SYSTEM,
        {
            "type": "report",
            "name": "記事",
            "published": "2024-05-01T00:00:00Z",
            "description": "本文",
            "extensions": article_properties(
                {
                    "url": "https://example.jp/a",
                    "author": "記者",
                    "full_text": "failed",
                    "extraction_error": "no main text was found on the page",
                }
            ),
        },
    )
    html = web.get(f"/objects/{view.id}").text
    assert 'href="https://example.jp/a"' in html
    assert "記者" in html
    assert "no main text was found on the page" in html
    # Shown as a table, not as a JSON property (the history keeps the raw STIX).
    assert "<code>extensions</code>" not in html
    assert html.count(ARTICLE_EXTENSION) == 1


def test_home_shows_feeds_and_those_failing(web: TestClient, kz: Kizashi) -> None:
    login(web, "ana", "analyst-password")
    assert "No feeds yet" in web.get("/").text
    feeds = web.app.state.feeds  # type: ignore[attr-defined]
    ok = feeds.add(SYSTEM, "https://feeds.example/ok.xml", title="Good feed")
    bad = feeds.add(SYSTEM, "https://feeds.example/bad.xml", title="Broken feed")
    from kizashi.store import feeds as feed_repo

    with kz.store.begin() as conn:
        feed_repo.update(conn, bad.id, {"last_error": "HTTP 500", "consecutive_failures": 3})
    html = web.get("/").text
    assert "2 feed(s)" in html
    assert "1 failing" in html
    assert f'href="/feeds/{bad.id}"' in html
    assert f'href="/feeds/{ok.id}"' not in html


def test_the_note_form_names_its_subject_and_reads_a_typed_id(web: TestClient, kz: Kizashi) -> None:
    """UX finding 24: the note form's subject is shown by name (from an object page's
    "add a note"); without scripts, an id typed in the picker's box is read."""
    report, _ = kz.objects.create(
        SYSTEM, {"type": "report", "name": "調査対象の報告", "published": "2026-11-01T00:00:00Z"}
    )
    csrf = login(web, "ana", "analyst-password")
    form = web.get("/objects/new/note", params={"ref": report.id}).text
    assert f'<a href="/objects/{report.id}" lang="ja">調査対象の報告</a>' in form
    assert f'name="object_refs" id="object_refs" value="{report.id}"' in form
    made = web.post(
        "/objects/new/note",
        data={"csrf": csrf, "content": "メモ", "about": report.id, "object_refs": ""},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    note = kz.objects.get(SYSTEM, made.headers["location"].rsplit("/", 1)[1])
    assert note.stix["object_refs"] == [report.id]
    missing = web.post("/objects/new/note", data={"csrf": csrf, "content": "メモ", "about": "調査"})
    assert missing.status_code == 422


def test_an_object_page_lists_its_newest_referrers(
    web: TestClient, kz: Kizashi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group named in thousands of reports lists the newest few that refer to it (the
    graph expands to more), not all it can find."""
    from kizashi.web import object_pages

    monkeypatch.setattr(object_pages, "REFERRERS_SHOWN", 3)
    mal, _ = kz.objects.create(SYSTEM, {"type": "malware", "name": "Kagerou", "is_family": True})
    made = [
        kz.objects.create(
            SYSTEM,
            {
                "type": "report",
                "name": f"報告 {i}",
                "published": "2026-11-01T00:00:00Z",
                "object_refs": [mal.id],
            },
        )[0].id
        for i in range(5)
    ]
    login(web, "ana", "analyst-password")
    page = web.get(f"/objects/{mal.id}", headers={"Accept-Language": "ja"}).text
    listed = page.split("<h3>参照元</h3>")[1].split("</ul>")[0]
    assert all(f'href="/objects/{i}"' in listed for i in made[2:])  # the newest three
    assert not any(f'href="/objects/{i}"' in listed for i in made[:2])
    assert "新しい 3 件を表示しています。" in page
