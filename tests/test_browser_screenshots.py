"""Screenshots of the main pages in Japanese (issue 20), made by the test suite so that
they never go stale: `kizashi run` on an empty store, an admin logged in through the form
in a Japanese browser (Asia/Tokyo, 1280×900), the demo data loaded with the home page's
button, then each page once its charts and graphs are drawn. Each step first checks a
Japanese heading of the page, so that a screenshot is never of an error page.

    KIZASHI_SCREENSHOTS=1 .venv/bin/pytest tests/test_browser_screenshots.py -p no:randomly

writes them to ``docs/screenshots/<name>.jpg`` (the README shows some of them); without
the variable they go to a temporary directory, so that a normal run takes them all the
same and leaves the checkout as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from support import browser_login, chromium, kizashi_server, need

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "src" / "kizashi" / "web" / "static" / "dist"
DOCS = ROOT / "docs" / "screenshots"
PASSWORD = "screenshots-admin-password"
VIEWPORT = {"width": 1280, "height": 900}
#: A JPEG of a blank 1280×900 page is about 15 kB; every page here has far more on it.
MIN_BYTES = 30_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("KIZASHI_SCREENSHOTS") == "1":
        path = DOCS
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {path}")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The server's URL and a Japanese page of its admin, with the demo data loaded."""
    from playwright.sync_api import expect

    if not all((DIST / n).exists() for n in ("app.js", "charts.js", "graph.js", "entity.js")):
        need("front-end assets are not built (run `make install`)")
    with kizashi_server(tmp_path_factory.mktemp("data"), PASSWORD) as url, chromium() as b:
        context = b.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=VIEWPORT)
        page = context.new_page()
        browser_login(page, url, "admin", PASSWORD)
        # An admin on an empty store is offered the demo data on the home page.
        page.get_by_role("button", name="デモデータを読み込む", exact=True).click()
        page.wait_for_url(url + "/")
        expect(page.locator("article.demo-loaded")).to_be_visible()
        yield url, page
        context.close()


def _open(site: tuple[str, Any], path: str) -> Any:
    url, page = site
    response = page.goto(url + path)
    assert response is not None and response.status == 200, (path, response and response.status)
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("lang", "ja")
    return page


def _heading(page: Any, name: str, level: int) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=name, level=level).first).to_be_visible()


def _snap(page: Any, shots: Path, name: str) -> None:
    """The viewport as ``<name>.jpg``; the file must be new and more than a blank page."""
    path = shots / f"{name}.jpg"
    path.unlink(missing_ok=True)
    page.mouse.move(0, 0)  # no hover state in the picture
    page.evaluate("() => document.fonts.ready")
    page.screenshot(path=str(path), type="jpeg", quality=70)
    data = path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff", f"{path} is not a JPEG"
    assert len(data) > MIN_BYTES, f"{path} is only {len(data)} bytes"


def test_home(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/")
    _heading(page, "最近の更新", 2)
    expect(page.locator("#new-week")).not_to_have_text("0")
    _snap(page, shots, "home")


def test_search(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/search?q=" + quote("ランサムウェア"))
    _heading(page, "検索", 1)
    expect(page.locator("main")).to_contain_text("の検索結果")
    expect(page.locator("ol.hits li.hit").first).to_be_visible()
    _snap(page, shots, "search")


def test_object_page(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/search?q=" + quote("ランサムウェア"))
    page.locator("ol.hits a.hit-title", has_text="インシデント対応報告").first.click()
    page.wait_for_url("**/objects/report--*")
    expect(page.locator("h1")).to_contain_text("インシデント対応報告")
    _heading(page, "このレポートの侵害指標 (IoC)", 2)
    expect(page.locator("#entity-graph")).to_have_attribute("data-state", "ready", timeout=30_000)
    _snap(page, shots, "object")


def test_tag_page(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/tags/" + quote("ランサムウェア", safe=""))
    expect(page.locator("h1")).to_contain_text("ランサムウェア")
    _heading(page, "一緒に使われるタグ", 2)
    _snap(page, shots, "tag")


def test_analytics(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/analytics?interval=week")  # five weeks of demo data
    _heading(page, "分析", 1)
    expect(page.locator("#word-cloud")).to_have_attribute("data-state", "drawn", timeout=30_000)
    expect(page.locator("#trend-chart")).to_have_attribute("data-state", "drawn", timeout=30_000)
    assert page.locator("#word-cloud .wc-word.wc-ja").count() >= 3
    _heading(page, "頻出語", 2)
    # The word cloud and the trends together in the picture.
    page.evaluate(
        "() => window.scrollTo(0, document.getElementById('cloud-title')"
        ".getBoundingClientRect().top + window.scrollY - 16)"
    )
    _snap(page, shots, "analytics")


def test_relation_map(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/graph")
    _heading(page, "関係マップ", 1)
    expect(page.locator("#cy")).to_have_attribute("data-state", "ready", timeout=60_000)
    expect(page.locator("#graph-status")).to_contain_text("ノード")
    _snap(page, shots, "graph")


def test_feeds(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/feeds")
    _heading(page, "フィード", 1)
    expect(page.get_by_text("フィードを追加", exact=True).first).to_be_visible()
    _snap(page, shots, "feeds")


def test_import(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/import")
    _heading(page, "インポートとエクスポート", 1)
    expect(page.get_by_text("ファイルをインポート", exact=True).first).to_be_visible()
    _snap(page, shots, "import")


def test_settings(site: tuple[str, Any], shots: Path) -> None:
    from playwright.sync_api import expect

    page = _open(site, "/settings")
    _heading(page, "設定", 1)
    expect(page.locator("main")).to_contain_text("タイムゾーン")
    _snap(page, shots, "settings")
