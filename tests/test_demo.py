"""The first run (issue 20): ``kizashi demo`` and the home page's getting-started panel,
in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from conftest import FakeClock
from kizashi.model.actor import SYSTEM
from kizashi.model.stix import is_observable, observable_value, parse_timestamp
from kizashi.services import Kizashi
from kizashi.services.demo import DEMO_TAG
from kizashi.services.demo.service import ANCHOR, TIMESTAMPS, read_bundle
from kizashi.services.indicators import report_text
from kizashi.text.extract import extract
from kizashi.text.extract.flags import flags_for
from test_web import csrf_of, login

BUNDLE = read_bundle()
OBJECTS = BUNDLE["objects"]
IDS = {o["id"] for o in OBJECTS}
REPORT_IDS = {o["id"] for o in OBJECTS if o["type"] == "report"}
#: The kinds of value that could name a real host, and their observables' types.
NETWORK_KINDS = {"ipv4", "ipv6", "cidr", "domain", "url", "email"}
NETWORK_TYPES = {"ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain"} | {
    "url": "url",
    "email-addr": "email",
}


PASSWORDS = {"alice": "alice-password", "ana": "analyst-password", "rei": "reader-password"}


def _demo_objects(kz: Kizashi) -> list[str]:
    page = kz.objects.list(SYSTEM, tags=DEMO_TAG, limit=500)
    assert page.next_cursor is None
    return sorted(v.id for v in page.items)


# -- the bundle -----------------------------------------------------------------------
def test_the_bundle_is_a_small_set_in_both_languages() -> None:
    reports = [o for o in OBJECTS if o["type"] == "report"]
    assert 12 <= len(reports) <= 20
    assert {r["lang"] for r in reports} == {"ja", "en"}
    types = {o["type"] for o in OBJECTS}
    assert {"threat-actor", "malware", "vulnerability", "indicator", "relationship"} <= types
    kinds = {o["relationship_type"] for o in OBJECTS if o["type"] == "relationship"}
    assert {"uses", "targets", "indicates", "attributed-to"} <= kinds
    labels = {label for r in reports for label in r["labels"]}
    assert {"ランサムウェア", "フィッシング", "サプライチェーン攻撃", "脆弱性"} <= labels
    assert ANCHOR in IDS
    # Every object that STIX lets carry labels says it is demo data; observables get
    # the tag when loaded (test below).
    for o in OBJECTS:
        assert is_observable(o["type"]) or DEMO_TAG in o["labels"], o["id"]


def test_every_demo_value_is_a_documentation_value() -> None:
    for o in OBJECTS:
        texts = [report_text(o)] if o["type"] == "report" else []
        texts += [o.get("content", ""), o.get("pattern", "")]
        texts += [r.get("url", "") for r in o.get("external_references", [])]
        for hit in (h for text in texts if text for h in extract(text)):
            if hit.type in NETWORK_KINDS:
                assert "documentation" in hit.flags, (o["id"], hit)
            if hit.type == "cve":
                assert hit.value.startswith("CVE-2099-"), hit  # clearly fictional
        if o["type"] in NETWORK_TYPES:
            value = observable_value(o)
            assert value is not None
            assert "documentation" in flags_for(NETWORK_TYPES[o["type"]], value), value
    # Vulnerabilities are fictional ids only.
    names = [o["name"] for o in OBJECTS if o["type"] == "vulnerability"]
    assert names and all(n.startswith("CVE-2099-") for n in names)


def test_what_the_reports_mention_is_in_the_bundle(kz: Kizashi) -> None:
    """Extraction makes no observable of its own out of the demo set: each is the
    bundle's (so each is tagged and removed with it)."""
    kz.demo.load(SYSTEM)
    observables = kz.objects.list(SYSTEM, types=[*sorted(NETWORK_TYPES), "file"], limit=500)
    assert observables.items
    assert {v.id for v in observables.items} <= IDS
    for v in observables.items:
        assert DEMO_TAG in v.tags, v.id


# -- the CLI --------------------------------------------------------------------------
def test_kizashi_demo_loads_a_searchable_set_once(run, kz: Kizashi) -> None:  # type: ignore[no-untyped-def]
    first = json.loads(run("demo", "--json"))
    assert first["import"]["counts"]["new"] == len(OBJECTS)
    assert first["import"]["problems"] == []
    assert first["added"] == len(OBJECTS)
    stored = _demo_objects(kz)
    assert stored == sorted(IDS)

    # Search finds the Japanese reports by a Japanese word.
    found = json.loads(run("search", "ランサムウェア", "--json"))
    hits = {h["id"] for h in found["hits"]}
    assert hits <= IDS and len(hits & REPORT_IDS) >= 2
    assert any("ランサムウェア" in h["title"] for h in found["hits"])
    assert json.loads(run("search", "tag:サプライチェーン攻撃", "--json"))["total"] >= 2

    # The relation map, the trends and the emerging words have something to show.
    graph = json.loads(run("stats", "tags", "--json"))
    pairs = {frozenset((e["source"], e["target"])) for e in graph["edges"]}
    assert frozenset(("KageLock", "ランサムウェア")) in pairs
    trends = json.loads(run("stats", "trends", "--interval", "week", "--json"))
    weeks = [p for s in trends for p in s["points"] if p["count"]]
    assert len({p["t"] for p in weeks}) >= 4
    emerging = json.loads(run("stats", "emerging", "--json"))
    assert "kumoshell" in {e["term"] for e in emerging}

    # A second load stores nothing and says so.
    second = json.loads(run("demo", "--json"))
    counts = second["import"]["counts"]
    assert second["added"] == 0 and counts["new"] == counts["updated"] == 0
    assert counts["unchanged"] == len(OBJECTS)
    assert _demo_objects(kz) == stored
    assert "nothing new" in run("demo")


def test_kizashi_demo_remove_revokes_and_a_load_restores(run, kz: Kizashi) -> None:  # type: ignore[no-untyped-def]
    run("demo")
    assert json.loads(run("demo", "--remove", "--json")) == {"revoked": len(OBJECTS)}
    assert _demo_objects(kz) == []
    assert json.loads(run("search", "ランサムウェア", "--json"))["total"] == 0
    again = json.loads(run("demo", "--json"))
    assert again["restored"] == len(OBJECTS) and again["import"]["counts"]["new"] == 0
    assert _demo_objects(kz) == sorted(IDS)


def test_readers_cannot_load_the_demo(run, kz: Kizashi, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    kz.users.create(SYSTEM, "rei", "reader-password", "reader")
    kz.users.create(SYSTEM, "ana", "analyst-password", "analyst")
    for user in ("rei", "ana"):
        monkeypatch.setenv("KIZASHI_USER", user)
        assert "admin" in run("demo", code=2)
    assert _demo_objects(kz) == []


# -- dates ----------------------------------------------------------------------------
def test_the_dates_are_moved_so_the_newest_is_of_today(kz: Kizashi, clock: FakeClock) -> None:
    loaded = kz.demo.load(SYSTEM)
    now = clock.now
    stamps = [
        parse_timestamp(v.stix[k])
        for v in kz.objects.list(SYSTEM, tags=DEMO_TAG, limit=500).items
        for k in TIMESTAMPS
        if isinstance(v.stix.get(k), str)
    ]
    assert max(stamps) <= now and now - max(stamps) < timedelta(days=1)
    published = [
        parse_timestamp(v.stix["published"])
        for v in kz.objects.list(SYSTEM, types=["report"], limit=100).items
    ]
    assert now - min(published) >= timedelta(weeks=4)
    # Days later, the same objects: the shift of the first load is kept.
    clock.tick(10 * 86400)
    later = kz.demo.load(SYSTEM)
    assert later.shift_days == loaded.shift_days
    assert later.added == 0 and later.report.counts["unchanged"] == len(OBJECTS)


# -- the home page --------------------------------------------------------------------
def _panel(page: str) -> str:
    m = re.search(r'<article class="getting-started".*?</article>', page, re.S)
    return m.group(0) if m else ""


def test_an_empty_store_shows_where_to_start(web: TestClient) -> None:
    login(web, "alice", "alice-password")
    panel = _panel(web.get("/").text)
    assert "Getting started" in panel
    for link in ('href="/feeds"', 'href="/import"', 'href="/objects/new/report"'):
        assert link in panel
    assert "kizashi attack load enterprise-attack.json" in panel
    assert 'action="/demo"' in panel and "Load the demo data" in panel
    assert csrf_of(panel)
    japanese = _panel(web.get("/", headers={"Accept-Language": "ja"}).text)
    assert "はじめに" in japanese and "デモデータを読み込む" in japanese
    assert "フィードを追加する" in japanese and "Getting started" not in japanese


def test_readers_see_the_panel_without_the_write_actions(web: TestClient) -> None:
    csrf = login(web, "rei", "reader-password")
    panel = _panel(web.get("/").text)
    assert "Getting started" in panel
    assert 'href="/import"' not in panel and 'href="/objects/new/report"' not in panel
    assert 'action="/demo"' not in panel
    assert web.post("/demo", data={"csrf": csrf}, follow_redirects=False).status_code == 403


def test_analysts_may_not_load_the_demo(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "ana", "analyst-password")
    panel = _panel(web.get("/").text)
    assert 'href="/objects/new/report"' in panel and 'action="/demo"' not in panel
    assert web.post("/demo", data={"csrf": csrf}, follow_redirects=False).status_code == 403
    assert _demo_objects(kz) == []


def test_the_admin_button_loads_the_set(web: TestClient, kz: Kizashi) -> None:
    csrf = login(web, "alice", "alice-password")
    assert web.post("/demo", data={}, follow_redirects=False).status_code == 403
    assert web.post("/demo", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    assert _demo_objects(kz) == []

    r = web.post("/demo", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = web.get("/").text
    assert f"The demo data is loaded: {len(OBJECTS)} objects" in home
    assert "Getting started" not in home
    assert re.search(r'id="new-day">[1-9]', home)
    assert "kumoshell" in home  # emerging this week
    assert "The demo data is loaded" not in web.get("/").text  # said once
    assert _demo_objects(kz) == sorted(IDS)
    found = kz.search.search(SYSTEM, "フィッシング")
    assert {h.id for h in found.hits} & REPORT_IDS and {h.id for h in found.hits} <= IDS

    again = web.post("/demo", data={"csrf": csrf})  # followed to the home page
    assert "The demo data was already there: nothing new was stored." in again.text
    assert _demo_objects(kz) == sorted(IDS)


def test_the_panel_goes_once_an_item_is_stored(web: TestClient, kz: Kizashi) -> None:
    login(web, "ana", "analyst-password")
    page = web.get("/").text
    assert "Getting started" in page
    assert "Nothing stored yet" in page
    kz.objects.create(
        SYSTEM, {"type": "report", "name": "最初のレポート", "published": "2026-01-01T00:00:00Z"}
    )
    page = web.get("/").text
    assert "Getting started" not in page and "最初のレポート" in page
    assert "Nothing stored yet" not in page


@pytest.mark.parametrize("user", ["alice", "ana", "rei"])
def test_the_panel_is_translated_for_everyone(web: TestClient, user: str) -> None:
    login(web, user, PASSWORDS[user])
    panel = _panel(web.get("/", headers={"Accept-Language": "ja"}).text)
    assert "はじめに" in panel and "まだレポートがありません" in panel
    # No English sentence is left (commands and file names aside).
    words = re.sub(r"<[^>]+>", "", re.sub(r"<code>.*?</code>", "", panel))
    assert not re.search(r"[A-Za-z]{3,} [a-z]{3,} [a-z]{3,}", words), words
