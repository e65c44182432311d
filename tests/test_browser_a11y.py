"""Accessibility of every page (issue 20): axe-core (npm, ``frontend/node_modules``) over
each page in Chromium, as an admin and as a reader, in Japanese and in English: no
serious or critical violation of WCAG 2.1 A/AA (colour contrast included); and every
control of a page can be reached with the Tab key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support import browser_login, chromium, kizashi_server, need

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ASSETS = ROOT / "src" / "kizashi" / "web" / "static" / "dist" / "app.js"
PASSWORD = "a11y-admin-password"
READER_PASSWORD = "a11y-reader-password"

pytestmark = pytest.mark.browser

#: What axe runs: WCAG 2.0/2.1 levels A and AA, which include colour contrast (AA).
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => [n.target.join(" "), n.failureSummary]),
    }));
}"""

#: Every control a keyboard user must reach: visible, enabled, not inside a closed
#: <details> (its <summary> is the control then).
CONTROLS = """() => {
  const selector =
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]";
  const shown = (el) => {
    if (el.closest("details:not([open])") && el.tagName !== "SUMMARY") {
      const own = el.closest("details:not([open])").querySelector(":scope > summary");
      if (own !== el) return false;
    }
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const visible = style.visibility !== "hidden" && style.display !== "none";
    return visible && box.width > 0 && box.height > 0;
  };
  // A radio group is one stop of the Tab key (arrows move inside it): its checked one.
  const groupStop = (el) => {
    if (el.type !== "radio" || !el.name) return true;
    const group = [...document.querySelectorAll(`input[type=radio][name="${el.name}"]`)];
    return el.checked || (!group.some((r) => r.checked) && group[0] === el);
  };
  return [...document.querySelectorAll(selector)]
    .filter((el) => !el.disabled && el.getAttribute("tabindex") !== "-1" && shown(el))
    .filter(groupStop)
    .map((el, i) => { el.dataset.a11yControl = String(i); return i; });
}"""


@dataclass(frozen=True)
class Site:
    url: str
    pages: dict[str, list[str]]  # role -> paths


def _api(page: Any, url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    r = page.request.post(url + path, data=body, headers={"X-CSRF-Token": token or ""})
    assert r.status in (200, 201), (path, r.status, r.text())
    answer: dict[str, Any] = r.json()
    return answer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not AXE.exists():
        need("axe-core is not installed in frontend/node_modules (run `make install`)")
    if not ASSETS.exists():
        need("front-end assets are not built (run `make install`)")
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with kizashi_server(tmp_path_factory.mktemp("data"), PASSWORD) as url:
        page = browser.new_page()
        browser_login(page, url, "admin", PASSWORD)
        _api(
            page,
            url,
            "/api/v1/users",
            {"username": "reader", "password": READER_PASSWORD, "role": "reader"},
        )
        actor = _api(page, url, "/api/v1/objects", {"type": "threat-actor", "name": "テスト集団"})[
            "id"
        ]
        malware = _api(
            page,
            url,
            "/api/v1/objects",
            {"type": "malware", "name": "ShadowPad", "is_family": True},
        )["id"]
        _api(
            page,
            url,
            "/api/v1/relationships",
            {"source_ref": actor, "relationship_type": "uses", "target_ref": malware},
        )
        report = _api(
            page,
            url,
            "/api/v1/objects",
            {
                "type": "report",
                "name": "ランサムウェア攻撃の注意喚起",
                "description": "攻撃者は 203.0.113.9 を使い、ShadowPad を展開した。",
                "published": "2026-12-01T00:00:00Z",
                "labels": ["ランサムウェア", "tlp:green"],
                "object_refs": [malware],
            },
        )["id"]
        feed = _api(
            page,
            url,
            "/api/v1/feeds",
            {"url": "http://127.0.0.1:9/feed.xml", "title": "テストフィード", "enabled": False},
        )["id"]
        _api(
            page,
            url,
            "/api/v1/rules",
            {
                "name": "ransom",
                "when": {"words": ["ランサムウェア"]},
                "then": {"add_tags": ["ransomware"]},
            },
        )
        _api(page, url, "/api/v1/digests", {"name": "weekly", "query": "tag:ランサムウェア"})
        page.close()
        common = [
            "/",
            "/objects",
            "/objects?tags=ランサムウェア",
            f"/objects/{report}",
            f"/objects/{actor}",
            "/tags",
            "/tags/ランサムウェア",
            "/search?q=ランサムウェア",
            "/search",
            "/lookup",
            "/analytics",
            "/graph",
            "/feeds",
            f"/feeds/{feed}",
            "/rules",
            "/rules/ransom",
            "/digests",
            "/settings",
            "/settings/password",
            "/settings/tokens",
            "/objects/report--00000000-0000-4000-8000-000000000000",  # the error page
        ]
        writer = [
            "/objects/new/report",
            "/objects/new/note",
            "/objects/new/entity",
            "/objects/new/observable",
            f"/objects/{report}/edit",
            "/import",
            "/admin/users",
            "/admin/taxonomies",
        ]
        yield Site(url, {"admin": common + writer, "reader": common})


def _walk(browser: Any, site: Site, role: str, locale: str) -> dict[str, list[Any]]:
    context = browser.new_context(locale=locale, bypass_csp=True)  # to inject axe
    page = context.new_page()
    user, password = ("admin", PASSWORD) if role == "admin" else ("reader", READER_PASSWORD)
    browser_login(page, site.url, user, password)
    found: dict[str, list[Any]] = {}
    for path in site.pages[role]:
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(AXE_RUN)
        if violations:
            found[path] = violations
    context.close()
    return found


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
@pytest.mark.parametrize("role", ["admin", "reader"])
def test_no_serious_accessibility_violation(
    browser: Any, site: Site, role: str, locale: str
) -> None:
    found = _walk(browser, site, role, locale)
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


def test_the_checker_finds_a_violation(browser: Any, site: Site) -> None:
    """axe itself, on a page made to fail: light grey on white and an unlabelled field."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_content(
        '<html lang="en"><body><main><p style="color:#ccc;background:#fff">faint</p>'
        '<input type="text"></main></body></html>'
    )
    page.add_script_tag(path=str(AXE))
    ids = {v["id"] for v in page.evaluate(AXE_RUN)}
    context.close()
    assert {"color-contrast", "label"} <= ids


def test_every_control_is_reached_with_the_keyboard(browser: Any, site: Site) -> None:
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    browser_login(page, site.url, "admin", PASSWORD)
    unreached: dict[str, list[str]] = {}
    for path in site.pages["admin"]:
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
        controls = set(page.evaluate(CONTROLS))
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        reached: set[int] = set()
        for _ in range(len(controls) + 20):
            page.keyboard.press("Tab")
            mark = page.evaluate("() => document.activeElement?.dataset?.a11yControl ?? null")
            if mark is not None:
                reached.add(int(mark))
            if reached >= controls:
                break
        missing = sorted(controls - reached)
        if missing:
            unreached[path] = page.evaluate(
                "(ids) => ids.map((i) =>"
                " document.querySelector(`[data-a11y-control='${i}']`).outerHTML.slice(0, 120))",
                missing[:5],
            )
    context.close()
    assert unreached == {}, json.dumps(unreached, ensure_ascii=False, indent=1)
