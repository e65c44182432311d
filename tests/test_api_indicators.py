"""``/api/v1/lookup``, ``/api/v1/extract`` and the indicator views, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from test_api import _token

REPORT = {
    "type": "report",
    "name": "不正通信の報告",
    "published": "2025-04-01T00:00:00Z",
    "description": "通信先は45[.]77[.]12[.]34であり、kizashi-c2.top も使われた。CVE-2024-3400。",
}


def test_anonymous_gets_401(api: TestClient) -> None:
    for method, path, body in [
        ("GET", "/api/v1/lookup?value=1.2.3.4", None),
        ("POST", "/api/v1/lookup", {"values": ["1.2.3.4"]}),
        ("POST", "/api/v1/extract", {"text": "1.2.3.4"}),
        ("GET", "/api/v1/objects/ipv4-addr--00000000-0000-5000-8000-000000000000/indicator", None),
        ("GET", "/api/v1/objects/report--00000000-0000-4000-8000-000000000000/mentions", None),
    ]:
        assert api.request(method, path, json=body).status_code == 401, path


def test_a_report_links_and_lookup_finds_it(api: TestClient, kz: Kizashi) -> None:
    analyst = _token(kz, "ana", "analyst")
    reader = _token(kz, "rei", "reader")
    created = api.post("/api/v1/objects", json=REPORT, headers=analyst)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    refs = created.json()["stix"]["object_refs"]
    assert sorted(r.split("--")[0] for r in refs) == ["domain-name", "ipv4-addr", "vulnerability"]
    mentions = api.get(f"/api/v1/objects/{rid}/mentions", headers=reader).json()
    ip = next(m for m in mentions if m["type"] == "ipv4")
    assert ip["context"][ip["context_start"] : ip["context_end"]] == "45[.]77[.]12[.]34"
    got = api.get(
        "/api/v1/lookup",
        params=[("value", "45[.]77[.]12[.]34"), ("value", "9.9.9.1")],
        headers=reader,
    )
    assert got.status_code == 200
    first, second = got.json()
    assert (first["value"], first["type"], first["known"], first["reports"]) == (
        "45.77.12.34",
        "ipv4",
        True,
        1,
    )
    assert (second["known"], second["objects"]) == (False, [])
    ip_id = next(r for r in refs if r.startswith("ipv4-addr--"))
    assert first["objects"] == [{"id": ip_id, "type": "ipv4-addr"}]
    page = api.get(f"/api/v1/objects/{ip_id}/indicator", headers=reader).json()
    assert (page["reports"], page["sources"], page["first_seen"]) == (1, 1, "2025-04-01T00:00:00Z")
    assert page["mentions"][0]["report_id"] == rid
    assert {c["value"] for c in page["co_occurring"]} == {"kizashi-c2.top", "CVE-2024-3400"}


def test_bulk_lookup_takes_100000_values_in_order(api: TestClient, kz: Kizashi) -> None:
    analyst = _token(kz, "ana", "analyst")
    api.post("/api/v1/objects", json=REPORT, headers=analyst)
    values = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(99_999)]
    values.append("45.77.12.34")
    got = api.post("/api/v1/lookup", json={"values": values}, headers=analyst)
    assert got.status_code == 200
    body = got.json()
    assert len(body) == 100_000
    assert [r["query"] for r in body[:3]] == values[:3]
    assert [r["value"] for r in body if r["known"]] == ["45.77.12.34"]


def test_more_than_100000_values_is_a_clear_error(api: TestClient, kz: Kizashi) -> None:
    analyst = _token(kz, "ana", "analyst")
    got = api.post("/api/v1/lookup", json={"values": ["1.1.1.1"] * 100_001}, headers=analyst)
    assert got.status_code == 422
    assert "100000" in got.text.replace(",", "") or "100,000" in got.text


def test_extract_needs_no_store(api: TestClient, kz: Kizashi) -> None:
    reader = _token(kz, "rei", "reader")
    got = api.post(
        "/api/v1/extract", json={"text": "C2: hxxp://evil[.]top/x と 8.8.8.8"}, headers=reader
    )
    assert got.status_code == 200
    hits = {(h["type"], h["value"]): h for h in got.json()}
    assert ("url", "http://evil.top/x") in hits
    assert any(f.startswith("warninglist:") for f in hits[("ipv4", "8.8.8.8")]["flags"])
    assert kz.indicators.lookup(SYSTEM, ["evil.top"])[0].known is False
