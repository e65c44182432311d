"""The objects list in real Chromium (issue 20): paging and sorting swap the list without
reloading the page and put the query in the address bar; rows ticked get tags in bulk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import browser_login, chromium, kizashi_server, need

ASSETS = (
    Path(__file__).resolve().parents[1] / "src" / "kizashi" / "web" / "static" / "dist" / "app.js"
)
PASSWORD = "lists-admin-password"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    if not ASSETS.exists():
        need("front-end assets are not built (run `make install`)")
    with chromium() as browser, kizashi_server(tmp_path_factory.mktemp("data"), PASSWORD) as url:
        page = browser.new_page()
        browser_login(page, url, "admin", PASSWORD)
        token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
        for i in range(55):  # more than one page of 50
            r = page.request.post(
                url + "/api/v1/objects",
                data={"type": "ipv4-addr", "value": f"198.51.100.{i}"},
                headers={"X-CSRF-Token": token},
            )
            assert r.status == 201, r.text()
        page.close()
        yield url, browser


def _page(site: tuple[str, Any]) -> Any:
    url, browser = site
    page = browser.new_page(locale="en-GB")
    browser_login(page, url, "admin", PASSWORD)
    page.goto(url + "/objects?type=ipv4-addr")
    page.evaluate("window.__marker = 1")  # gone if the page reloads
    return page


def _names(page: Any) -> list[str]:
    cells = page.locator("#object-list tbody td:nth-child(2) a")
    return [t.strip() for t in cells.all_inner_texts()]


def test_paging_and_sorting_do_not_reload_the_page(site: tuple[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(site)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    first = _names(page)
    assert len(first) == 50
    page.get_by_role("button", name="Next →").click()
    expect(page).to_have_url(re.compile(r"/objects\?type=ipv4-addr&.*cursor="))
    expect(page.get_by_role("button", name="← Previous")).to_be_visible()
    second = _names(page)
    assert len(second) == 5 and not set(second) & set(first)
    assert page.evaluate("window.__marker") == 1
    # A sort: chosen from the list, applied at once (no button), the address says it.
    page.select_option("#sort", "name")
    expect(page).to_have_url(re.compile(r"sort=name"))
    expect(page.locator("#object-list tbody tr").first).to_contain_text("198.51.100.0")
    by_name = _names(page)
    assert by_name == sorted(by_name) and "cursor=" not in page.url
    assert page.evaluate("window.__marker") == 1
    # The address is the page: loaded afresh, it shows the same rows.
    address = page.url
    page.get_by_role("button", name="Next →").click()
    expect(page).to_have_url(re.compile(r"sort=name&cursor="))
    shown = _names(page)
    assert page.evaluate("window.__marker") == 1
    page.goto(page.url)
    assert _names(page) == shown
    page.go_back()
    expect(page).to_have_url(address)
    assert not errors, errors


def test_two_rows_ticked_get_a_tag(site: tuple[str, Any]) -> None:
    from playwright.sync_api import expect

    page = _page(site)
    rows = page.locator("#object-list tbody tr")
    picked = [rows.nth(i).locator("td:nth-child(2) a").inner_text() for i in (0, 1)]
    for name in picked:
        page.get_by_role("checkbox", name=f"Select {name}").check()
    page.fill("#bulk-add", "ブラウザ一括")
    page.get_by_role("button", name="Apply to the selected objects").click()
    expect(page.locator("article.notice")).to_have_text("2 objects changed.")
    expect(page).to_have_url(re.compile(r"/objects\?type=ipv4-addr&sort=stored$"))
    for i in (0, 1):
        expect(rows.nth(i)).to_contain_text("ブラウザ一括")
    expect(rows.nth(2)).not_to_contain_text("ブラウザ一括")
    # "Select all on this page" ticks every row, and follows them when one is unticked.
    everything = page.get_by_role("checkbox", name="Select all objects on this page")
    everything.check()
    assert page.locator("[data-select-row]:checked").count() == 50
    page.locator("[data-select-row]").first.uncheck()
    assert everything.evaluate("box => box.indeterminate") is True


@pytest.mark.parametrize("width", [1280, 800])
@pytest.mark.parametrize("locale", ["en-GB", "ja-JP"])
def test_the_filter_form_keeps_its_fields_readable(
    site: tuple[str, Any], width: int, locale: str
) -> None:
    """Each filter's label is on one line above a field wide enough to use: the form
    wraps to more rows rather than squeezing its fields (the sort field, a sixth, once
    made every label 16 px wide)."""
    url, browser = site
    page = browser.new_page(locale=locale, viewport={"width": width, "height": 900})
    browser_login(page, url, "admin", PASSWORD)
    page.goto(url + "/objects")
    assert page.get_by_role("search", name="絞り込む" if locale == "ja-JP" else "Filter").count()
    for field in ("type", "q", "created_from", "created_to", "sort"):
        label = page.locator(f"form.filters label[for={field}]").bounding_box()
        box = page.locator(f"form.filters #{field}").bounding_box()
        line = page.locator(f"form.filters label[for={field}]").evaluate(
            "l => parseFloat(getComputedStyle(l).lineHeight) || 24"
        )
        assert label and box, field
        assert label["height"] <= line * 1.5, (field, label)  # one line, not a column
        assert box["width"] >= 150, (field, box)
        assert box["y"] > label["y"], field
    page.close()


#: Elements whose text a Range finds on more than one line (a word wrapped inside).
WRAPPED = """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const boxes = [...range.getClientRects()].filter((r) => r.width > 0);
  boxes.sort((a, b) => a.top - b.top);
  let lines = 0, bottom = -Infinity;
  for (const r of boxes) {
    if (r.top >= bottom - 1) { lines += 1; bottom = r.bottom; }  // below the line so far
    else bottom = Math.max(bottom, r.bottom);  // on it (smaller text sits lower)
  }
  return lines > 1;
}).map((el) => el.textContent.trim())"""


@pytest.mark.parametrize("locale", ["ja-JP", "en-GB"])
def test_menu_entries_type_codes_and_times_are_not_split(
    site: tuple[str, Any], locale: str
) -> None:
    """At 1280 px the menu wraps between its entries, never inside one (オブジェ/クト),
    and a list's type codes, times and column heads stay on one line each."""
    url, browser = site
    page = browser.new_page(locale=locale, viewport={"width": 1280, "height": 900})
    browser_login(page, url, "admin", PASSWORD)
    for where in ("/", "/objects", "/tags"):
        page.goto(url + where)
        menu = page.evaluate(WRAPPED, ".topbar nav a, .topbar nav summary")
        assert menu == [], (where, menu)
        cells = page.evaluate(
            WRAPPED, "table.objects th, table.objects td .type, table.objects td small"
        )
        assert cells == [], (where, cells)
        if where == "/objects":  # a list was there to be measured
            assert page.locator("table.objects td .type").count() > 0, where
    page.close()


def test_saving_a_search_is_a_small_action_beside_the_count(site: tuple[str, Any]) -> None:
    """UX finding 18: a full-width name field and its button sat between the count and
    the first hit, read as a second search box."""
    url, browser = site
    page = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 900})
    browser_login(page, url, "admin", PASSWORD)
    page.goto(url + "/search?q=" + "198.51.100.7")
    count = page.locator("#results .results-head > p").bounding_box()
    save = page.locator("#results .save-search > summary")
    box = save.bounding_box()
    assert count and box, "the count and the save action are drawn"
    # On the count's line, to its right; the name field is hidden until asked for.
    assert box["y"] < count["y"] + count["height"] and count["y"] < box["y"] + box["height"]
    assert box["x"] > count["x"] + count["width"]
    name = page.locator('#results .save-search input[name="name"]')
    assert not name.is_visible()
    assert save.inner_text().strip() == "検索を保存"
    save.click()
    name.fill("調査中の IP")
    page.locator("#results .save-search button[type=submit]").click()
    page.wait_for_load_state()
    assert "調査中の IP" in page.locator(".saved-searches").inner_text()
    page.close()


def test_a_note_picks_what_it_is_about_by_name(site: tuple[str, Any]) -> None:
    """UX finding 24: the new-note form asked for raw STIX ids. Its box suggests objects
    by name; each picked one is a chip (removable), and the note refers to them."""
    url, browser = site
    page = browser.new_page(locale="ja-JP")
    browser_login(page, url, "admin", PASSWORD)
    page.goto(url + "/objects/new/note")
    assert "STIX" not in page.locator('label[for="about"]').inner_text()
    box = page.locator("#about")
    box.fill("198.51.100.1")  # the suggestions come from the server as one types
    options = page.locator("#about-options option")
    options.first.wait_for(state="attached")
    picked = [options.nth(i).get_attribute("value") for i in range(min(2, options.count()))]
    assert len(picked) == 2 and all(p and p.startswith("ipv4-addr--") for p in picked)
    for value in picked:  # what choosing a suggestion does: the box takes its value
        box.fill(value or "")
        box.dispatch_event("change")
    chips = page.locator("#about-chosen li")
    assert chips.count() == 2 and box.input_value() == ""
    assert chips.first.locator("a").inner_text().startswith("198.51.100.1")
    chips.nth(1).locator("button[data-unchoose]").click()
    assert chips.count() == 1
    assert page.locator("#object_refs").input_value() == picked[0]
    page.locator("#content").fill("調査メモ")
    page.locator('form[action="/objects/new/note"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"/objects/note--"))
    assert page.locator(f'a[href="/objects/{picked[0]}"]').count() >= 1
    page.close()
