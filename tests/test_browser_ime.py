"""Typing in real Chromium (issue 20): while an IME composes, nothing reacts; the keyboard
shortcuts work where no field has the focus.
The composition is driven through the DevTools protocol (``Input.imeSetComposition``,
``Input.insertText``), which makes Chromium raise the same composition, input and key
events that a Japanese IME does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import browser_login, chromium, kizashi_server, need

PASSWORD = "ime-test-password"
ASSETS = (
    Path(__file__).resolve().parents[1] / "src" / "kizashi" / "web" / "static" / "dist" / "app.js"
)
#: Longer than any of the UI's typing delays (150–200 ms), so that a request a
#: composition wrongly set off would have been sent.
SETTLE = 0.6

pytestmark = pytest.mark.browser

#: Every keydown and input event a page's own handlers would see (bubbling, after
#: Kizashi's capturing guards), and every submission.
WATCH = """() => {
  window.seen = [];
  for (const type of ["keydown", "input", "submit"]) {
    document.addEventListener(type, (e) =>
      window.seen.push(`${type}:${e.key ?? ""}:${e.isComposing ?? ""}:${e.target.value ?? ""}`));
  }
}"""


@pytest.fixture(scope="module")
def session() -> Iterator[tuple[str, Any]]:
    if not ASSETS.exists():
        need("front-end assets are not built (run `make install`)")
    import tempfile

    with (
        tempfile.TemporaryDirectory() as data,
        kizashi_server(Path(data), PASSWORD) as url,
        chromium() as browser,
    ):
        page = browser.new_page(locale="ja-JP")
        browser_login(page, url, "admin", PASSWORD)
        # A tag to be suggested.
        page.goto(url + "/objects/new/report")
        page.fill("#title", "IME テスト用レポート")
        page.fill("#published", "2026-12-01")
        page.fill("#tags", "ランサムウェア")
        page.get_by_role("button", name="レポートを保存", exact=True).click()
        page.wait_for_url("**/objects/report--*")
        yield url, page


def _compose(page: Any, steps: list[str]) -> Any:
    cdp = page.context.new_cdp_session(page)
    for text in steps:
        cdp.send(
            "Input.imeSetComposition",
            {"text": text, "selectionStart": len(text), "selectionEnd": len(text)},
        )
    return cdp


def _enter(cdp: Any) -> None:
    """A real (trusted) Enter, as the key that confirms a conversion."""
    key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
    cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **key})
    cdp.send("Input.dispatchKeyEvent", {"type": "char", "text": "\r", **key})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **key})


def test_a_tag_field_waits_for_the_composition(session: tuple[str, Any]) -> None:
    url, page = session
    page.goto(url + "/objects/new/report")
    # Every required field filled: an Enter that got through would save the report.
    page.fill("#title", "変換中は送らない")
    page.fill("#published", "2026-12-02")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/ui/tag-options" in r.url else None)
    page.focus("#tags")
    page.wait_for_timeout(300)
    asked.clear()  # focusing asks for the full list; typing is what is tested
    page.evaluate(WATCH)
    cdp = _compose(page, ["ら", "らん", "らんさ", "らんさむ"])
    time.sleep(SETTLE)
    _enter(cdp)  # confirms the conversion: must not submit the form
    time.sleep(SETTLE)
    assert asked == [], "a suggestion request fired while the IME was composing"
    assert page.url.endswith("/objects/new/report"), "the confirming Enter submitted the form"
    seen = page.evaluate("window.seen")
    assert not [s for s in seen if s.startswith(("submit", "keydown:Enter"))], seen
    assert not [s for s in seen if s.endswith(("らん", "らんさ"))], seen
    # The composition ends with ランサム: one input, one request, the tag suggested.
    with page.expect_response(lambda r: "/ui/tag-options" in r.url):
        cdp.send("Input.insertText", {"text": "ランサム"})
    assert len(asked) == 1 and "%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0" in asked[0]
    assert page.locator("#tags-options option[value='ランサムウェア']").count() == 1
    assert page.input_value("#tags") == "ランサム"
    assert page.evaluate("window.seen").count("input::false:ランサム") <= 1


def test_a_search_box_is_not_submitted_by_the_confirming_enter(session: tuple[str, Any]) -> None:
    url, page = session
    page.goto(url + "/search")
    box = page.locator("input[name=q]").first
    box.focus()
    page.evaluate(WATCH)
    cdp = _compose(page, ["ら", "らんさむうぇあ"])
    _enter(cdp)
    time.sleep(SETTLE)
    assert page.url.endswith("/search"), "the confirming Enter searched for the kana"
    cdp.send("Input.insertText", {"text": "ランサムウェア"})
    # Once the text is composed, Enter searches for it.
    with page.expect_navigation():
        _enter(cdp)
    assert "q=%E3%83%A9%E3%83%B3%E3%82%B5%E3%83%A0%E3%82%A6%E3%82%A7%E3%82%A2" in page.url
    assert "IME テスト用レポート" in page.content()  # the tag's item, found by its name


def test_keyboard_shortcuts_and_their_help(session: tuple[str, Any]) -> None:
    """The shortcuts the help dialog lists are the ones that work; none fires while
    typing in a field."""
    from playwright.sync_api import expect

    url, page = session
    page.goto(url + "/objects")
    page.keyboard.press("?")
    dialog = page.locator("dialog#shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("キーボードショートカット")
    expect(dialog.locator("tr[data-keys='g t']")).to_contain_text("タグ")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # g then t: the tags page.
    page.keyboard.press("g")
    page.keyboard.press("t")
    page.wait_for_url(url + "/tags")
    # / puts the cursor in the search box; typing there is typing, not a shortcut.
    page.keyboard.press("/")
    box = page.locator(".nav-search input[name=q]")
    expect(box).to_be_focused()
    page.keyboard.type("g t")
    assert page.url == url + "/tags" and box.input_value() == "g t"
    page.keyboard.press("Escape")
    page.evaluate("() => document.activeElement.blur()")
    # n then r: a new report (the admin may write); an unknown pair does nothing.
    page.keyboard.press("g")
    page.keyboard.press("z")
    assert page.url == url + "/tags"
    page.keyboard.press("n")
    page.keyboard.press("r")
    page.wait_for_url(url + "/objects/new/report")
    # The footer link opens the same help.
    page.get_by_role("link", name="キーボードショートカット").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="閉じる").click()
    expect(dialog).to_be_hidden()
