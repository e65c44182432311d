"""The UI's languages (issue 20, first part): one gettext catalogue, Japanese complete
for every message the code and templates hold, the language chosen by the switcher or
the browser, and ``<html lang>`` saying which."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from kizashi.web import i18n

ROOT = Path(__file__).resolve().parents[1]
JA = ROOT / "src" / "kizashi" / "locale" / "ja" / "LC_MESSAGES" / "messages.po"


def extracted() -> set[str]:
    """Every message id the UI holds, as ``pybabel extract -F babel.cfg`` finds them
    (babel.cfg read as pybabel reads it, so the two cannot differ)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fp:
        method_map, options = parse_mapping_cfg(fp)
    out: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options):
        if isinstance(message, tuple):
            out.add(message[0])  # a plural entry is filed under its singular
        elif message:
            out.add(message)
    return out


def test_babel_cfg_says_what_the_test_extracts() -> None:
    cfg = (ROOT / "babel.cfg").read_text()
    assert "[python: src/kizashi/web/**.py]" in cfg
    assert "[jinja2: src/kizashi/web/templates/**.html]" in cfg
    assert "[javascript: frontend/src/**.js]\nkeywords = t\n" in cfg


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


def test_the_japanese_catalogue_holds_each_message_once() -> None:
    # read_po keeps the last of two entries with one id, so duplicates would pass the
    # test above while the file grows and the first translation silently stops counting.
    ids: list[str] = []
    for block in JA.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        if not lines or not lines[0].startswith("msgid "):
            continue
        end = next(i for i, line in enumerate(lines) if line.startswith(("msgstr", "msgid_plural")))
        ids.append(
            "".join(part.strip()[1:-1] for part in [lines[0][len("msgid ") :], *lines[1:end]])
        )
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert len(ids) > 30
    assert not duplicated, f"more than once in the Japanese catalogue: {duplicated}"


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
    from test_web import csrf_of, login

    web.get("/language/ja")
    login(web, "ana", "analyst-password")
    home = web.get("/").text
    assert '<html lang="ja">' in home
    for label in ("オブジェクト", "レポート", "タグ", "フィード", "ログアウト", "本文へスキップ"):
        assert label in home
    assert re.search(r'24 時間で <strong id="new-day">\d+</strong> 件の新着', home)
    assert "フィードはまだありません。" in home and "new in 24 hours" not in home
    missing = web.get("/objects/report--0b8c7d1e-0000-4a1a-8a1a-000000000000")
    assert missing.status_code == 404 and "<h1>見つかりません</h1>" in missing.text
    assert "<title>見つかりません" in missing.text and "処理できませんでした" not in missing.text
    assert "オブジェクト report--0b8c7d1e-0000-4a1a-8a1a-000000000000 は見つかりませんでした" in (
        missing.text
    )
    # Not allowed is said as such (a reader is not allowed in the users' page).
    web.post("/logout", data={"csrf": csrf_of(home)})
    login(web, "rei", "reader-password")
    refused = web.get("/admin/users")
    assert refused.status_code == 403 and "<h1>権限がありません</h1>" in refused.text


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


# -- the front-end's messages (frontend/src/i18n.js) ----------------------------------------


def embedded_messages(page: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="kizashi-messages">(.*?)</script>', page)
    assert found, "no kizashi-messages element"
    data: dict[str, str] = json.loads(found.group(1))
    return data


def test_a_page_carries_the_scripts_messages_in_its_language(web: TestClient) -> None:
    ids = set(i18n.js_ids())
    assert {"Loading…", "Loading the graph…", "Show hidden (%(n)s)"} <= ids
    assert ids <= extracted()  # the catalogue test covers them
    japanese = embedded_messages(web.get("/login", headers={"Accept-Language": "ja"}).text)
    assert japanese["Loading…"] == "読み込み中…"
    assert japanese["%(n)s new from %(name)s"] == "%(name)s から新たに %(n)s 件"
    assert len(japanese) > 20 and set(japanese) <= ids  # the scripts' only: no "Log in"
    assert embedded_messages(web.get("/login", headers={"Accept-Language": "en"}).text) == {}


def test_the_embedded_messages_cannot_close_their_script_element(
    web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kizashi.web.render import templates

    hostile = {"</script><script>alert(1)</script>": "<!-- ' & </SCRIPT>"}
    monkeypatch.setitem(templates.env.globals, "js_messages", lambda _language: hostile)
    page = web.get("/login").text
    assert "<script>alert(1)" not in page and "</SCRIPT>" not in page and "<!--" not in page
    assert embedded_messages(page) == hostile


def test_an_installed_package_reads_the_ids_make_install_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = tmp_path / "messages.json"
    subprocess.run([sys.executable, "-m", "kizashi.web.i18n", str(listed)], check=True, cwd=ROOT)
    assert json.loads(listed.read_text(encoding="utf-8")) == list(i18n.js_ids())
    monkeypatch.setattr(i18n, "SOURCE", tmp_path)  # no babel.cfg, no frontend/src
    monkeypatch.setattr(i18n, "JS_IDS", listed)
    i18n.js_ids.cache_clear()
    try:
        assert i18n.js_ids() == tuple(i18n.extract_js_ids(ROOT))
    finally:
        i18n.js_ids.cache_clear()


def test_the_scripts_translate_and_fill_in_values() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs Node.js")
    script = """
const messages = {"%(n)s nodes": "ノード %(n)s 個", "Loading…": "読み込み中…"};
globalThis.document = {getElementById: (id) =>
  id === "kizashi-messages" ? {textContent: JSON.stringify(messages)} : null};
const { t } = await import(process.argv[1]);
console.log(JSON.stringify([t("Loading…"), t("%(n)s nodes", {n: 3}), t("%(a)s, %(b)s", {a: "<b>"}),
  t("100%% of %(n)s", {n: 2}), t("100%"), t("constructor")]));
"""
    i18n_js = (ROOT / "frontend" / "src" / "i18n.js").as_uri()
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, i18n_js],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out) == [
        "読み込み中…",
        "ノード 3 個",
        "<b>, %(b)s",  # a value left out stays visible, not "undefined"
        "100% of 2",
        "100%",
        "constructor",
    ]


def without_script_messages(page: str) -> str:
    """A page without the scripts' messages, whose English ids it carries."""
    return re.sub(r'<script type="application/json" id="kizashi-messages">.*?</script>', "", page)


def test_the_object_page_is_japanese_in_japanese(web: TestClient, kz: Kizashi) -> None:
    from test_web import login

    actor, _ = kz.objects.create(SYSTEM, {"type": "threat-actor", "name": "APT-X"}, tags=["apt"])
    web.get("/language/ja")
    login(web, "ana", "analyst-password")
    page = without_script_messages(web.get(f"/objects/{actor.id}").text)
    for label in (
        "第 1 版",
        '<button type="submit">タグを追加</button>',
        '<button type="submit">関係付ける</button>',
        'data-confirm="このオブジェクトを失効させますか？管理者は復元できます。"',
        "<h2>関係</h2>",
        "関係はまだありません。",
        'aria-label="グラフのツール"',
        "グラフを読み込み中…",
        "<h2>履歴</h2>",
        "<th>作成者</th>",
    ):
        assert label in page, label
    for english in (
        "Add tags",
        ">Relate<",
        "Revoke this object?",
        "No relationships yet.",
        "Loading the graph…",
        "<h2>History</h2>",
        "version 1",
    ):
        assert english not in page, english
    # The values put into the messages stay as they are: STIX types, tags.
    assert "<code>threat-actor</code>" in page and ">apt</a>" in page


def test_the_tag_page_and_its_summary_are_japanese_in_japanese(
    web: TestClient, kz: Kizashi
) -> None:
    from test_web import csrf_of, login

    text = "Attackers exploited CVE-2024-21887 in VPN appliances of Japanese manufacturers. " * 8
    for i in range(2):
        kz.objects.create(
            SYSTEM,
            {
                "type": "report",
                "name": f"r{i}",
                "description": text,
                "published": "2026-01-01T00:00:00Z",
            },
            tags=["vpn"],
        )
    web.get("/language/ja")
    login(web, "ana", "analyst-password")
    page = without_script_messages(web.get("/tags/vpn").text)
    for label in ("オブジェクト 2 件", "<h2>一緒に使われるタグ</h2>", "(このタグの付いた項目)"):
        assert label in page, label
    assert '<option value="7">過去 7 日間</option>' in page and ">要約する</button>" in page
    for english in ("object(s)", "Occurs with", "items with this tag", "last 7 days", "Summarise"):
        assert english not in page, english
    fragment = web.post("/ui/summaries", data={"csrf": csrf_of(page), "q": "tag:vpn", "days": "0"})
    job_id = int(re.search(r'data-job="(\d+)"', fragment.text).group(1))  # type: ignore[union-attr]
    kz.summaries.wait(kz.users.get_actor("ana"), job_id, timeout=60)
    shown = web.get(f"/ui/summaries/{job_id}").text
    assert 'data-status="done"' in shown
    assert "脆弱性: CVE-2024-21887。" in shown and " · 2 件 · " in shown
    assert "Vulnerabilities:" not in shown and "item(s)" not in shown
    # How a summary was made (its note) is said in the page's language too.
    fragment = web.post(
        "/ui/summaries", data={"csrf": csrf_of(page), "q": "tag:nothing-has-this", "days": "0"}
    )
    assert fragment.status_code == 200, fragment.text
    job_id = int(re.search(r'data-job="(\d+)"', fragment.text).group(1))  # type: ignore[union-attr]
    kz.summaries.wait(kz.users.get_actor("ana"), job_id, timeout=60)
    shown = web.get(f"/ui/summaries/{job_id}").text
    assert "要約するものがありません。選択した範囲に項目がありません。" in shown
    assert "Nothing to summarise" not in shown


def test_a_summary_keeps_its_notes_as_phrases_with_their_values() -> None:
    from kizashi.model.errors import Text
    from kizashi.services.summaries.views import Summary

    fallback = Text(
        "The %(provider)s provider gave no summary (%(reason)s).",
        {"provider": "openai", "reason": "the server could not be reached"},
    )
    made = Summary("collection", "q", "extractive", None, "1", [], [], [], {}, [], "now",
                   note=str(fallback), notes=[fallback])  # fmt: skip
    again = Summary.from_dict(made.as_dict())
    assert [(n.template, n.values) for n in again.notes] == [(fallback.template, fallback.values)]
    assert again.note == made.note
    assert made.note == "The openai provider gave no summary (the server could not be reached)."
    old = {**made.as_dict(), "notes": None}
    del old["notes"]  # kept before notes were phrases: the English note alone
    assert [n.template for n in Summary.from_dict(old).notes] == [made.note]
    token = i18n.use("ja")
    try:
        stored = made.as_dict()["notes"][0]
        assert i18n.say_text(stored) == (
            "openai プロバイダーは要約を返しませんでした(the server could not be reached)。"
        )
        assert i18n.say_text(Text("Not in the catalogue.")) == "Not in the catalogue."
    finally:
        i18n._current.reset(token)


def test_the_feed_page_is_japanese_in_japanese(web: TestClient) -> None:
    from test_web import login

    feed = web.app.state.feeds.add(  # type: ignore[attr-defined]
        SYSTEM, "https://feeds.example/jp.xml", title="国内 速報"
    )
    web.get("/language/ja")
    login(web, "alice", "alice-password")
    page = without_script_messages(web.get(f"/feeds/{feed.id}").text)
    for label in (
        '<button type="submit" class="secondary">今すぐ取得</button>',
        '<button type="submit" class="secondary">一時停止</button>',
        'data-confirm="購読を解除しますか？このフィードで届いたレポートは残ります。"',
        '<th scope="row">連続失敗回数</th>',
        "<h2>最近の項目</h2>",
        "まだありません。",
        "設定を保存",
        "(このフィードで届いた記事)",
    ):
        assert label in page, label
    for english in (
        "Poll now",
        "Unsubscribe?",
        "Consecutive failures",
        "Nothing yet.",
        "Save settings",
    ):
        assert english not in page, english


def test_the_search_analytics_and_map_pages_are_japanese_in_japanese(
    web: TestClient, kz: Kizashi
) -> None:
    from test_web import login

    kz.objects.create(
        SYSTEM,
        {
            "type": "report",
            "name": "標的型攻撃の報告",
            "description": "標的型攻撃メールでマルウェアを配布",
            "published": "2024-05-01T00:00:00Z",
        },
    )
    web.get("/language/ja")
    login(web, "ana", "analyst-password")
    found = without_script_messages(web.get("/search", params={"q": "標的型攻撃"}).text)
    for label in (
        "<code>標的型攻撃</code> の検索結果 <strong>1</strong> 件",
        "検索を保存",
        "検索構文",
    ):
        assert label in found, label
    assert '<h2 class="facet-title">種類</h2>' in found
    for english in ("result for", "Save search", "Query syntax", "Relevance"):
        assert english not in found, english
    none = without_script_messages(web.get("/search", params={"q": "存在しない語句"}).text)
    assert "<code>存在しない語句</code> の検索結果 <strong>0</strong> 件" in none
    assert "results for" not in none
    analytics = without_script_messages(web.get("/analytics", params={"q": "lang:ja"}).text)
    for label in (
        "<h1>分析</h1>",
        "頻出語",
        "急上昇語",
        "推移の単位",
        "(直近 7 日間。その前の 28 日間と比較)",
        "選択範囲",
    ):
        assert label in analytics, label
    for english in ("Frequent words", "Emerging terms", "Trend per", "Selection"):
        assert english not in analytics, english
    graph = without_script_messages(web.get("/graph", params={"kind": "indicators"}).text)
    assert "関係マップ <small>(侵害指標を共有するレポート)</small>" in graph
    assert "関係マップを読み込み中…" in graph and "件以上のエッジ" in graph
    for english in ("Relation map", "Loading the map", "Edge weight", "shared indicators"):
        assert english not in graph, english


def test_the_rule_and_digest_pages_are_japanese_in_japanese(web: TestClient) -> None:
    from test_web import csrf_of, login

    web.get("/language/ja")
    csrf = login(web, "ana", "analyst-password")
    rules = without_script_messages(web.get("/rules").text)
    assert "ルールはまだありません。" in rules and "新しいルール (YAML)" in rules
    assert "No rules yet" not in rules and "New rule" not in rules
    yaml_text = "name: ivanti\nwhen:\n  words: [Ivanti]\nthen:\n  add_tags: [product:ivanti]\n"
    saved = web.post("/rules/save", data={"csrf": csrf, "yaml": yaml_text, "action": "save"})
    page = without_script_messages(saved.text)
    assert "<h1>ルール: ivanti</h1>" in page and "既存の項目に適用" in page
    # When it was updated: in the page's zone (Tokyo for a Japanese page without one).
    shown = r'<small><time datetime="[^"]+Z" title="[^"]+">[-0-9]{10} [0-9:]{5} JST<'
    assert re.search(shown, page)
    assert 'data-confirm="このルールを削除しますか？"' in page
    assert "Apply to existing items" not in page and "Delete this rule?" not in page
    tested = web.post("/rules/save", data={"csrf": csrf, "yaml": yaml_text, "action": "test"})
    assert "保存済みの項目のうち 0 件が一致します" in tested.text
    # YAML the parser cannot read: where it stopped, in Japanese, said once.
    broken = web.post(
        "/rules/save", data={"csrf": csrf, "yaml": "name: x\nwhen: [\n", "action": "test"}
    )
    shown = without_script_messages(broken.text)
    assert broken.status_code == 422 and "YAML として読めません: 3 行目 1 文字目 (" in shown
    assert shown.count("expected the node content") == 1
    assert "would match" not in tested.text
    digests = without_script_messages(web.get("/digests").text)
    assert "ダイジェストはまだありません。" in digests and "新しいダイジェスト" in digests
    assert '<label>直近 <input name="days"' in digests
    assert "No digests yet." not in digests and "Over the last" not in digests
    made = web.post(
        "/digests",
        data={"csrf": csrf_of(digests), "name": "週報", "q": "tag:x", "every": "weekly"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    shown = without_script_messages(web.get("/digests").text)
    assert "毎週、<code>tag:x</code> の直近 7 日間" in shown and "まだ実行していません。" in shown
    assert "weekly" not in shown.replace('value="weekly"', "") and "Not run yet" not in shown
    # How the digest is made is said as the form offers it, not by the provider's id
    # (finding 20), and its label is 生成方法, not 作成者 (author).
    assert "の直近 7 日間 · 記事から抜き出した文 · 次回" in shown
    assert "· extractive ·" not in shown
    assert '<label>生成方法 <select name="provider">' in shown and "作成者" not in shown


def test_the_import_pages_are_japanese_in_japanese(web: TestClient) -> None:
    import time

    from test_web import login

    web.get("/language/ja")
    csrf = login(web, "ana", "analyst-password")
    form = without_script_messages(web.get("/import").text)
    assert "<h1>インポートとエクスポート</h1>" in form and ">プレビュー</button>" in form
    assert "失効したオブジェクトも含める" in form and "Preview" not in form
    tool = {
        "type": "tool",
        "spec_version": "2.1",
        "id": "tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "PsExec",
    }
    broken = {"type": "indicator", "spec_version": "2.1", "id": "indicator--1"}
    body = json.dumps({"type": "bundle", "id": "bundle--1", "objects": [tool, broken]})
    preview = web.post(
        "/import",
        data={"csrf": csrf, "format": ""},
        files={"file": ("partner.json", body.encode(), "application/json")},
    )
    page = without_script_messages(preview.text)
    for label in (
        "プレビュー: partner.json",
        "まだ何も保存していません。",
        '<th scope="col">新規</th>',
        "<strong>競合</strong>: 版が同じで内容が異なる",
        "問題 (1 件)",
        ">1 件のオブジェクトをインポート</button>",
        f" · {len(body.encode())} バイト · ",
        # The bundle's second object, counted from 1; why, in Japanese.
        "<tr><td>2</td><td><code>indicator--1</code></td><td><code>id</code></td>"
        "<td>&#39;indicator--1&#39; は STIX の識別子(型--UUID)ではありません</td></tr>",
    ):
        assert label in page, label
    for english in (
        "Nothing has been stored",
        "Import 1 object(s)",
        "Problems",
        "<strong>unchanged",
        "Bytes",
        "is not a STIX identifier",
    ):
        assert english not in page, english
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    confirmed = web.post("/import/confirm", data={"csrf": csrf, "token": token, "format": "stix"})
    deadline = time.monotonic() + 60
    job = confirmed.text
    while 'data-status="done"' not in job and time.monotonic() < deadline:
        time.sleep(0.05)
        job = web.get(str(confirmed.url)).text
    job = without_script_messages(job)
    assert "<strong>完了</strong>" in job and "オブジェクトを見る" in job and "開始 " in job
    assert "See the objects" not in job and "started" not in job
    # The job keeps the problem with its phrase: its page says it in Japanese too.
    assert "<td>2</td>" in job and "は STIX の識別子(型--UUID)ではありません" in job
    # A file no format reads: said once, in Japanese (not again as "format: …").
    junk = web.post(
        "/import",
        data={"csrf": csrf, "format": ""},
        files={"file": ("notes.txt", "ただのメモ".encode(), "text/plain")},
    )
    said = without_script_messages(junk.text)
    assert said.count("この入力を認識できる形式がありません") == 1, said
    assert "not recognised" not in said and "No format" not in said


# -- the errors a page shows (model/errors.py, web/i18n.error_message) ----------------------


def error_shown(page: str) -> str:
    found = re.search(r'<article class="error" role="alert">\s*<strong>(.*?)</strong>', page, re.S)
    assert found, "no error on the page"
    return found.group(1)


def test_the_errors_of_the_services_are_in_the_catalogue() -> None:
    ids = extracted()
    # Babel's own extractor loses a message whose call holds a Problem(...) (and takes
    # the error's code instead): babel.cfg reads Python with kizashi.web.extract.
    assert "Search query: %(reason)s at position %(position)s." in ids
    assert "A tag name cannot be empty." in ids and "empty" in ids  # message and problem
    assert "Object %(stix_id)s was not found." in ids
    assert not {"validation_failed", "unknown_type", "unreadable_input", " "} & ids


def test_a_service_error_is_japanese_on_the_page_and_english_in_the_api(
    web: TestClient, kz: Kizashi
) -> None:
    from test_web import login

    login(web, "ana", "analyst-password")
    ja = {"Accept-Language": "ja"}
    searched = web.get("/search", params={"q": "("}, headers=ja)
    assert searched.status_code == 422
    # The parser's reason is a phrase of the catalogue too, said once (no problem line
    # repeating it).
    shown = html.unescape(error_shown(searched.text))
    assert shown == "検索クエリ: 1 文字目で括弧 ( が閉じられていません。"
    assert "unclosed" not in searched.text and searched.text.count("閉じられていません") == 1
    # The place in what was typed is marked (here: the "(" itself).
    assert '<p class="error-at"><code><mark>(</mark></code></p>' in searched.text
    # The objects list's tag filter: the place marked (the end, where a tag was due), and
    # no "nothing here yet" as if the filter had run.
    typed = "ランサムウェア AND ("
    listed = web.get("/objects", params={"tags": typed}, headers=ja)
    assert listed.status_code == 422 and "タグの絞り込み" in error_shown(listed.text)
    assert f'<p class="error-at"><code>{typed}<mark>\u00a0</mark></code></p>' in listed.text
    assert "まだ何もありません" not in listed.text
    missing = web.get("/objects/report--0b8c7d1e-0000-4a1a-8a1a-000000000000", headers=ja)
    assert missing.status_code == 404
    assert error_shown(missing.text) == (
        "オブジェクト report--0b8c7d1e-0000-4a1a-8a1a-000000000000 は見つかりませんでした。"
    )
    nowhere = web.get("/no-such-page", headers=ja)
    assert error_shown(nowhere.text) == "このアドレスには何もありません。"
    english = web.get("/search", params={"q": "("}, headers={"Accept-Language": "en"})
    assert html.unescape(error_shown(english.text)) == "Search query: unclosed '(' at position 1."
    token, _ = kz.users.create_token(kz.users.get_actor("ana"), "tests")
    api = web.get(
        "/api/v1/search", params={"q": "("}, headers={"Authorization": f"Bearer {token}", **ja}
    )
    assert api.status_code == 422
    assert api.json()["error"]["message"] == "Search query: unclosed '(' at position 1."


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("ja", "&#39;&lt;script&gt;alert(1)&#39; のフォームはありません。"),
        ("en", "There is no form for &#39;&lt;script&gt;alert(1)&#39;."),
    ],
)
def test_the_values_in_an_error_are_escaped_on_the_page(
    web: TestClient, language: str, shown: str
) -> None:
    from test_web import login

    login(web, "ana", "analyst-password")
    page = web.get("/objects/new/%3Cscript%3Ealert(1)", headers={"Accept-Language": language})
    assert page.status_code == 422
    assert error_shown(page.text) == shown
    assert "<script>alert(1)" not in page.text


def test_an_error_keeps_its_template_and_values() -> None:
    from kizashi.model.errors import KizashiError, failure, invalid

    exc = failure("Unknown time zone %(zone)r.", "validation_failed", zone="Mars/Olympus")
    assert exc.message == "Unknown time zone 'Mars/Olympus'." and exc.code == "validation_failed"
    assert exc.template == "Unknown time zone %(zone)r." and exc.values == {"zone": "Mars/Olympus"}
    plain = invalid("100% of the batch failed.")  # no values: taken as it is, % included
    assert plain.message == plain.template == "100% of the batch failed." and plain.values == {}
    assert KizashiError("As it is.").template == "As it is."
    token = i18n.use("ja")
    try:
        # Values are put in as they are: the page escapes them, not error_message.
        named = failure("Tag %(name)r was not found.", "not_found", name="<b>x</b>")
        assert i18n.error_message(named) == "タグ '<b>x</b>' は見つかりませんでした。"
        assert i18n.error_message(plain) == "100% of the batch failed."  # not in the catalogue
        unknown = failure("Nothing like %(this)s here.", "error", this="that")
        assert i18n.error_message(unknown) == "Nothing like that here."
        # A translation whose placeholder has no value: the English message, not a crash.
        short = KizashiError(
            "Tag 'x' was not found.", "not_found", template="Tag %(name)r was not found."
        )
        assert i18n.error_message(short) == "Tag 'x' was not found."
        wrong = KizashiError(
            "Tag 'x' was not found.",
            "not_found",
            template="Tag %(name)r was not found.",
            values={"other": "x"},
        )
        assert i18n.error_message(wrong) == "Tag 'x' was not found."
    finally:
        i18n._current.reset(token)


def test_types_languages_and_levels_are_named_not_coded(web: TestClient, kz: Kizashi) -> None:
    """A Japanese page names a STIX type (レポート, its STIX name in the title or beside
    it), a language (日本語) and a TLP level (TLP:AMBER) instead of their codes."""
    from test_web import login

    kz.objects.create(
        SYSTEM,
        {"type": "report", "name": "国内の攻撃", "description": "ランサムウェアの攻撃。",
         "published": "2026-01-01T00:00:00Z"},
        tlp="amber",
    )  # fmt: skip
    kz.objects.create(SYSTEM, {"type": "ipv4-addr", "value": "198.51.100.9"})
    kz.search.follower.catch_up()
    login(web, "ana", "analyst-password")
    ja = {"Accept-Language": "ja"}
    listed = web.get("/objects", headers=ja).text
    assert '<span class="type" title="ipv4-addr">IPv4 アドレス</span>' in listed
    assert '<option value="report" >レポート</option>' in listed
    found = web.get("/search", params={"q": "攻撃"}, headers=ja).text
    facets = found.split('class="facets"')[1]
    for shown in ('title="report">レポート</a>', ">日本語</a>", ">TLP:AMBER</a>"):
        assert shown in facets, shown
    assert "<small>レポート · " in found  # the hit's line
    english = web.get("/search", params={"q": "攻撃"}, headers={"Accept-Language": "en"}).text
    assert 'title="report">Report</a>' in english and ">Japanese</a>" in english


def test_a_format_s_reason_to_leave_an_item_out_is_japanese(web: TestClient) -> None:
    """A reader's Rejected.why may be a catalogue phrase (formats/contract.py): the
    import preview says it in the page's language; the API says it in English."""
    from test_web import login

    web.get("/language/ja")
    csrf = login(web, "ana", "analyst-password")
    body = json.dumps({"type": "bundle", "id": "bundle--1", "objects": [7]})
    preview = web.post(
        "/import",
        data={"csrf": csrf, "format": ""},
        files={"file": ("odd.json", body.encode(), "application/json")},
    )
    page = without_script_messages(preview.text)
    assert "STIX オブジェクトではなく JSON の number です" in page
    assert "not a STIX object" not in page
