"""The UI's languages (issue 20, first part): one gettext catalogue, Japanese complete
for every message the code and templates hold, the language chosen by the switcher or
the browser, and ``<html lang>`` saying which."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from kizashi.web import i18n

ROOT = Path(__file__).resolve().parents[1]
JA = ROOT / "src" / "kizashi" / "locale" / "ja" / "LC_MESSAGES" / "messages.po"


def extracted() -> set[str]:
    """Every message id the UI holds, as ``pybabel extract -F babel.cfg`` finds them."""
    method_map = [
        ("src/kizashi/web/**.py", "python"),
        ("src/kizashi/web/templates/**.html", "jinja2"),
    ]
    options = {"src/kizashi/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    out: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        if isinstance(message, tuple):
            out.update(m for m in message if m)
        elif message:
            out.add(message)
    return out


def test_babel_cfg_says_what_the_test_extracts() -> None:
    cfg = (ROOT / "babel.cfg").read_text()
    assert "[python: src/kizashi/web/**.py]" in cfg
    assert "[jinja2: src/kizashi/web/templates/**.html]" in cfg


def test_the_japanese_catalogue_is_complete_and_current() -> None:
    with JA.open("rb") as fp:
        catalogue = read_po(fp, locale="ja")
    ids = extracted()
    assert len(ids) >= 30  # the extraction does find the messages
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
    missing = sorted(ids - set(entries))
    empty = sorted(i for i, m in entries.items() if not m.string or m.string == ("",))
    fuzzy = sorted(i for i, m in entries.items() if m.fuzzy)
    stale = sorted(set(entries) - ids)
    assert not missing, f"not in the Japanese catalogue: {missing}"
    assert not empty, f"empty in the Japanese catalogue: {empty}"
    assert not fuzzy, f"fuzzy in the Japanese catalogue: {fuzzy}"
    assert not stale, f"in the catalogue but no longer in the UI: {stale}"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ja,en-US;q=0.9,en;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("ja-JP", "ja"),
        ("fr-FR,ja;q=0.5", "ja"),
        ("en;q=0.2, ja;q=0.7", "ja"),
        ("ja;q=0, en;q=0.1", "en"),
        ("fr, de", None),
        ("ja;q=zzz", None),
        ("", None),
        (None, None),
    ],
)
def test_accept_language_is_negotiated(header: str | None, language: str | None) -> None:
    assert i18n.negotiate(header) == language


def test_the_page_follows_the_browser_then_the_switcher(web: TestClient) -> None:
    english = web.get("/login")
    assert '<html lang="en">' in english.text and "<h1>Log in</h1>" in english.text
    japanese = web.get("/login", headers={"Accept-Language": "ja,en;q=0.5"})
    assert '<html lang="ja">' in japanese.text
    assert "<h1>ログイン</h1>" in japanese.text and "ユーザー名" in japanese.text
    assert "<h1>Log in</h1>" not in japanese.text
    # The switcher is on the page, and names each language in itself.
    assert 'href="/language/en?next=%2Flogin"' in html.unescape(japanese.text)
    # Switching is remembered, over what the browser says.
    switched = web.get("/language/ja?next=/login%3Fnext%3D%2Ftags", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login?next=/tags"
    assert i18n.COOKIE in switched.cookies
    chosen = web.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="ja">' in chosen.text and "<h1>ログイン</h1>" in chosen.text
    web.get("/language/en")
    assert '<html lang="en">' in web.get("/login", headers={"Accept-Language": "ja"}).text


def test_the_switcher_goes_back_only_to_this_site(web: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = web.get("/language/ja", params={"next": target}, follow_redirects=False)
        assert r.headers["location"] == "/"
    unknown = web.get("/language/xx?next=/login", follow_redirects=False)
    assert unknown.status_code == 303 and i18n.COOKIE not in unknown.cookies


def test_logged_in_pages_are_japanese_in_japanese(web: TestClient) -> None:
    from test_web import login

    web.get("/language/ja")
    login(web, "ana", "analyst-password")
    home = web.get("/").text
    assert '<html lang="ja">' in home
    for label in ("オブジェクト", "レポート", "タグ", "フィード", "ログアウト", "本文へスキップ"):
        assert label in home
    assert re.search(r'24 時間で <strong id="new-day">\d+</strong> 件の新着', home)
    assert "フィードはまだありません。" in home and "new in 24 hours" not in home
    missing = web.get("/objects/report--0b8c7d1e-0000-4a1a-8a1a-000000000000")
    assert missing.status_code == 404 and "処理できませんでした" in missing.text


def test_a_message_with_values_escapes_the_values(web: TestClient, kz: Kizashi) -> None:
    """Translated messages may hold markup (the translator's); the values put into them
    are escaped like any other."""
    from test_web import login

    made, _ = kz.objects.create(
        SYSTEM, {"type": "malware", "name": "m", "is_family": True}, tags=["<i>x</i>"]
    )
    login(web, "ana", "analyst-password")
    page = web.get(f"/objects/{made.id}", headers={"Accept-Language": "ja"}).text
    assert 'aria-label="タグ &lt;i&gt;x&lt;/i&gt; を外す"' in page
    assert "<i>x</i>" not in page


def test_the_lookup_answers_in_japanese(web: TestClient, kz: Kizashi) -> None:
    from test_web import login

    kz.objects.create(
        SYSTEM,
        {
            "type": "report",
            "name": "r",
            "description": "Beacon to kizashi-c2.top seen.",
            "published": "2025-04-01T00:00:00Z",
        },
    )
    web.get("/language/ja")
    csrf = login(web, "rei", "reader-password")
    page = web.post("/lookup", data={"csrf": csrf, "values": "kizashi-c2[.]top\n203.0.113.99"})
    text = html.unescape(page.text)
    assert "2 件中 1 件が既知" in text and "<th>初観測</th>" in text
    assert "1 of 2 known" not in text


def test_the_feed_and_user_pages_are_japanese_in_japanese(web: TestClient) -> None:
    from test_web import login

    web.get("/language/ja")
    login(web, "alice", "alice-password")
    feeds = web.get("/feeds").text
    assert "フィードを追加" in feeds and "取得間隔 (分)" in feeds and "Add feed" not in feeds
    users = web.get("/admin/users").text
    assert '<option value="analyst" selected>アナリスト</option>' in users
    assert "新しいユーザー" in users


def test_the_edit_page_names_the_object_escaped_in_japanese(web: TestClient, kz: Kizashi) -> None:
    from test_web import login

    made, _ = kz.objects.create(SYSTEM, {"type": "tool", "name": "<script>x</script>"})
    web.get("/language/ja")
    login(web, "ana", "analyst-password")
    page = web.get(f"/objects/{made.id}/edit").text
    assert "&lt;script&gt;x&lt;/script&gt;</a> を編集" in page and "<script>x" not in page
    assert "キャンセル" in page
