"""The web UI in real Chromium (Debian's), driven by Playwright, against `kizashi run`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support import chromium, kizashi_server, need

PASSWORD = "browser-test-password"
ASSETS = (
    Path(__file__).resolve().parents[1] / "src" / "kizashi" / "web" / "static" / "dist" / "app.js"
)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not ASSETS.exists():
        need("front-end assets are not built (run `make install`)")
    data = tmp_path_factory.mktemp("data")
    with kizashi_server(data, PASSWORD) as url:
        yield Server(url, data)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def test_report_with_japanese_title_tagged_related_and_found(
    srv: Server, browser: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    server = srv.url
    page = browser.new_page(locale="ja-JP")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

    # Log in; the first screen says how to start.
    page.goto(server + "/")
    expect(page).to_have_url(server + "/login?next=%2F")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="兆し Kizashi")).to_be_visible()

    # A threat actor to relate the report to.
    page.goto(server + "/objects/new/entity")
    page.select_option("#type", "threat-actor")
    page.fill("#name", "テスト攻撃者グループ")
    page.get_by_role("button", name="エンティティを保存", exact=True).click()
    expect(page.locator("h1")).to_contain_text("テスト攻撃者グループ")
    actor_id = page.url.rsplit("/", 1)[1]
    assert actor_id.startswith("threat-actor--")

    # The report, with a Japanese title and body.
    title = "ランサムウェア攻撃に関する報告 2024年5月"
    page.goto(server + "/objects/new/report")
    page.fill("#title", title)
    page.fill("#body", "## 概要\n\n国内の製造業を狙った**ランサムウェア**攻撃。")
    page.fill("#published", "2024-05-01")
    page.get_by_role("button", name="レポートを保存", exact=True).click()
    expect(page.locator("h1")).to_contain_text(title)
    report_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".body strong")).to_have_text("ランサムウェア")

    # Tag it with the tag picker: the taxonomy value is suggested as one types.
    tag_input = page.locator("#add-tags")
    tag_input.fill("tlp:am")
    expect(page.locator("#add-tags-options option[value='tlp:amber']")).to_have_count(1)
    tag_input.fill("tlp:amber, ランサムウェア")
    page.get_by_role("button", name="タグを追加", exact=True).click()
    tags = page.locator("#tags")
    expect(tags.get_by_role("link", name="tlp:amber")).to_be_visible()
    expect(tags.get_by_role("link", name="ランサムウェア")).to_be_visible()
    expect(page.locator("h1 .tlp-badge")).to_have_text("TLP:AMBER")

    # Relate it to the threat actor, picking the actor by name.
    page.fill("#relationship_type", "related-to")
    target = page.locator("#target_ref")
    target.fill("テスト攻撃者")
    expect(page.locator(f"#target-options option[value='{actor_id}']")).to_have_count(1)
    target.fill(actor_id)
    page.get_by_role("button", name="関係付ける", exact=True).click()
    rel_row = page.locator("#relationships tbody tr").first
    expect(rel_row).to_contain_text("related-to")
    expect(rel_row.get_by_role("link", name="テスト攻撃者グループ")).to_be_visible()

    # Find it through the tag filter.
    page.goto(server + "/objects")
    page.fill("#tag-filter", "ランサムウェア AND tlp:amber")
    page.get_by_role("button", name="絞り込む", exact=True).click()  # the page is in Japanese
    rows = page.locator("table.objects tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name=title)).to_have_attribute(
        "href", f"/objects/{report_id}"
    )
    page.screenshot(path=str(tmp_path / "tag-filter.png"), full_page=True)

    # Full-text search from the box on every page: Japanese without spaces, marked.
    box = page.locator("form.nav-search input[name=q]")
    box.fill("製造業ランサムウェア")
    box.press("Enter")
    hit = page.locator("ol.hits li.hit").first
    expect(hit.locator("a.hit-title")).to_contain_text("ランサムウェア")
    expect(hit.locator("a.hit-title")).to_have_attribute("href", f"/objects/{report_id}")
    expect(hit.locator(".snippet mark").first).to_be_visible()
    assert "製造業" in hit.locator(".snippet").inner_text()
    expect(page.locator("aside.facets")).to_contain_text("レポート")  # the type, named
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    # A filter that excludes it finds nothing; the actor's page shows the incoming link.
    page.goto(server + "/objects?tags=" + "ランサムウェア%20NOT%20tlp:amber")
    expect(page.locator("table.objects tbody")).to_contain_text("まだ何もありません。")
    page.goto(server + f"/objects/{actor_id}")
    expect(page.locator("#relationships")).to_contain_text(title)

    # Revoking asks first (script from the bundle, allowed by the CSP); dismissing keeps it.
    page.goto(server + f"/objects/{actor_id}")
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss() if len(dialogs) == 1 else dialog.accept()

    page.on("dialog", answer)
    revoke = page.get_by_role("button", name="失効させる", exact=True)
    revoke.click()
    expect(page.locator("h1")).to_contain_text("テスト攻撃者グループ")
    assert "mark" not in page.locator("hgroup").inner_html()
    revoke.click()
    expect(page.locator("hgroup mark")).to_have_text("失効")
    assert dialogs == ["このオブジェクトを失効させますか？管理者は復元できます。"] * 2
    assert not console_errors, console_errors

    # Nothing was loaded from anywhere but this server.
    assert requests
    assert all(u.startswith(server) for u in requests), [
        u for u in requests if not u.startswith(server)
    ]
    page.close()


def test_reader_sees_no_write_controls(srv: Server, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    server = srv.url
    env = os.environ | {
        "KIZASHI_DATA_DIR": str(srv.data_dir),
        "KIZASHI_NEW_PASSWORD": "reader-password",
    }
    subprocess.run(
        [sys.executable, "-m", "kizashi", "user", "add", "reader1", "--role", "reader"],
        env=env,
        check=True,
    )
    page = browser.new_page()
    page.goto(server + "/login")
    page.fill("#username", "reader1")
    page.fill("#password", "reader-password")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="兆し Kizashi")).to_be_visible()
    expect(page.get_by_role("link", name="New report")).to_have_count(0)
    page.goto(server + "/objects/new/report")
    expect(page.locator("article.error")).to_contain_text("Readers cannot change anything")
    page.close()


def test_import_page_previews_then_imports(srv: Server, browser: object, tmp_path: Path) -> None:
    import json

    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    server = srv.url
    bundle = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {
                "type": "threat-actor",
                "spec_version": "2.1",
                "id": "threat-actor--6d179234-61fc-40c4-ae86-3d53308d8e65",
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "name": "ブラウザ経由の攻撃者",
            },
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--broken"},
        ],
    }
    path = tmp_path / "partner.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), "utf-8")
    page = browser.new_page(locale="ja-JP")
    page.goto(server + "/login?next=/import")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(server + "/import")
    page.set_input_files("#import-file", str(path))
    page.get_by_role("button", name="プレビュー", exact=True).click()
    expect(page.locator("#preview-title")).to_contain_text("partner.json")
    expect(page.locator("td[data-total=new]")).to_have_text("1")
    expect(page.locator("td[data-total=invalid]")).to_have_text("1")
    expect(page.locator("table.import-problems")).to_contain_text("indicator--broken")
    page.get_by_role("button", name="1 件のオブジェクトをインポート", exact=True).click()
    expect(page.locator(".import-status")).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator("td[data-total=new]")).to_have_text("1")
    page.screenshot(path=str(tmp_path / "import-done.png"), full_page=True)
    page.goto(server + "/objects?type=threat-actor")
    expect(page.get_by_role("link", name="ブラウザ経由の攻撃者")).to_be_visible()
    page.close()
