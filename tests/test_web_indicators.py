"""Indicator pages and the lookup page, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from test_web import login


def test_report_page_lists_its_indicators_with_the_sentence(web: TestClient) -> None:
    csrf = login(web, "ana", "analyst-password")
    r = web.post(
        "/objects/new/report",
        data={
            "csrf": csrf,
            "title": "C2 報告",
            "published": "2025-04-01",
            "body": "不正な通信先は45[.]77[.]12[.]34であり、<script>alert(1)</script> は無関係。",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[-2000:]
    page = web.get(r.headers["location"]).text
    assert 'id="indicators"' in page
    assert "不正な通信先は<mark>45[.]77[.]12[.]34</mark>であり" in page
    assert "<script>alert(1)</script>" not in page
    ip_link = page.split('<a href="/objects/ipv4-addr--', 1)[1].split('"', 1)[0]
    ip_page = web.get(f"/objects/ipv4-addr--{ip_link}").text
    assert 'id="seen"' in ip_page and "C2 報告" in ip_page
    assert "<mark>45[.]77[.]12[.]34</mark>" in ip_page


def test_lookup_page_shows_known_and_unknown(web: TestClient, kz: Kizashi) -> None:
    kz.objects.create(
        SYSTEM,
        {
            "type": "report",
            "name": "r",
            "description": "Beacon to kizashi-c2.top seen.",
            "published": "2025-04-01T00:00:00Z",
        },
    )
    csrf = login(web, "rei", "reader-password")
    page = web.post("/lookup", data={"csrf": csrf, "values": "kizashi-c2[.]top\n203.0.113.99"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "1 of 2 known" in text
    assert "kizashi-c2.top" in text and "(kizashi-c2[.]top)" in text


def test_lookup_page_needs_login_and_csrf(web: TestClient) -> None:
    assert web.get("/lookup", follow_redirects=False).status_code == 303
    login(web, "rei", "reader-password")
    assert web.post("/lookup", data={"values": "1.2.3.4"}).status_code in (400, 403)
