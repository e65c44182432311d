"""Search from the API, the CLI and the web page, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from test_api import _token
from test_web import login

IDENTITY = "identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"


def add(kz: Kizashi, name: str, text: str, **kw: object) -> str:
    raw = {"type": "report", "name": name, "description": text, "object_refs": [IDENTITY]}
    raw["published"] = "2024-05-01T00:00:00.000Z"
    view, _ = kz.objects.create(SYSTEM, raw, **kw)  # type: ignore[arg-type]
    return view.id


def test_api_search_results_facets_and_errors(api: TestClient, kz: Kizashi) -> None:
    reader = _token(kz, "rei", "reader")
    rid = add(
        kz, "ランサムウェア攻撃の報告", "国内企業へのランサムウェア攻撃", tags=("ransomware",)
    )
    add(kz, "機密", "ランサムウェアの内部調査", tlp="red")
    assert api.get("/api/v1/search", params={"q": "x"}).status_code == 401
    got = api.get(
        "/api/v1/search",
        params={"q": "tag:ransomware 攻撃 NOT tag:tlp:red", "facets": "true"},
        headers=reader,
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["total"] == 1 and body["total_exact"] is True
    hit = body["hits"][0]
    assert hit["id"] == rid and hit["tags"] == ["ransomware"]
    assert "<mark>攻撃</mark>" in hit["snippet"]
    assert {"value": "ransomware", "count": 1} in body["facets"]["tag"]
    # The reader does not see TLP:RED, not even as a count.
    assert (
        api.get("/api/v1/search", params={"q": "ランサムウェア"}, headers=reader).json()["total"]
        == 1
    )
    bad = api.get("/api/v1/search", params={"q": "(ランサムウェア"}, headers=reader)
    assert bad.status_code == 422
    assert "position 1" in bad.json()["error"]["message"]
    bad = api.get("/api/v1/search", params={"q": "x", "cursor": "garbage"}, headers=reader)
    assert bad.status_code == 422


def test_api_saved_searches_and_admin_views(api: TestClient, kz: Kizashi) -> None:
    analyst = _token(kz, "ana", "analyst")
    admin = _token(kz, "root", "admin")
    add(kz, "フィッシング", "フィッシングメールに注意", tags=("phishing",))
    put = api.put(
        "/api/v1/saved-searches",
        json={"name": "phish", "query": "tag:phishing", "sort": "newest"},
        headers=analyst,
    )
    assert put.status_code == 200, put.text
    assert [s["name"] for s in api.get("/api/v1/saved-searches", headers=analyst).json()] == [
        "phish"
    ]
    ran = api.get("/api/v1/saved-searches/phish", headers=analyst).json()
    assert ran["total"] == 1 and ran["sort"] == "newest"
    broken = api.put("/api/v1/saved-searches", json={"name": "b", "query": 'a "b'}, headers=analyst)
    assert broken.status_code == 422
    assert api.delete("/api/v1/saved-searches/phish", headers=analyst).status_code == 204
    assert api.get("/api/v1/saved-searches/phish", headers=analyst).status_code == 404
    assert api.get("/api/v1/search/status", headers=analyst).status_code == 403
    status = api.get("/api/v1/search/status", headers=admin).json()
    assert status["documents"] >= 1 and status["pending"] == 0
    started = api.post("/api/v1/search/reindex", headers=admin)
    assert started.status_code == 202


def test_cli_search_json_and_saved(run, kz: Kizashi) -> None:  # type: ignore[no-untyped-def]
    # The CLI opens the store of KIZASHI_DATABASE_URL: the same database as ``kz``.
    rid = add(kz, "Ivanti の脆弱性", "Ivanti Connect Secure の脆弱性 CVE-2024-21887 が悪用された。")
    add(kz, "別件", "プログラムの更新")
    out = json.loads(run("search", "脆弱性", "--json", "--limit", "5"))
    assert out["total"] == 1 and out["total_exact"] is True
    assert set(out["hits"][0]) >= {"id", "title", "score", "snippet"}
    assert out["hits"][0]["id"] == rid
    start, end = out["hits"][0]["highlights"][0]
    assert out["hits"][0]["snippet"][start:end] == "脆弱性"
    table = run("search", "type:report ioc:cve-2024-21887", "--sort", "newest")
    assert "Ivanti" in table and "1 match" in table
    run("search", "(脆弱性", code=2)
    run("saved", "add", "ivanti", "ivanti OR 脆弱性")
    assert "ivanti" in run("saved", "list")
    assert json.loads(run("search", "--saved", "ivanti", "--json"))["total"] == 1
    run("saved", "delete", "ivanti")
    assert "indexed" in run("reindex")


def test_search_page(web: TestClient, kz: Kizashi) -> None:
    rid = add(
        kz, "<b>標的型攻撃</b>の報告", "標的型攻撃メールで<script>alert(1)</script>マルウェアを配布"
    )
    add(kz, "別件", "無関係")
    csrf = login(web, "rei", "reader-password")
    page = web.get("/search", params={"q": "標的型攻撃"})
    assert page.status_code == 200
    assert f"/objects/{rid}" in page.text
    assert "<mark>標的型攻撃</mark>" in page.text
    assert "<script>alert(1)" not in page.text and "&lt;b&gt;" in page.text
    assert "facet" in page.text and "Type" in page.text
    bad = web.get("/search", params={"q": '"unclosed'})
    assert bad.status_code == 422 and "position 1" in bad.text
    web.post("/logout", data={"csrf": csrf})
    csrf = login(web, "ana", "analyst-password")
    saved = web.post(
        "/search/saved",
        data={"csrf": csrf, "name": "標的型", "q": "標的型攻撃", "sort": "relevance"},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "<mark>標的型攻撃</mark>" in saved.text
    assert web.post("/search/saved", data={"name": "x", "q": "y"}).status_code == 403
    web.post("/search/saved/delete", data={"csrf": csrf, "name": "標的型"})
    assert "標的型</a>" not in web.get("/search").text


def test_cli_reindex_says_when_a_server_holds_the_index(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kizashi.search.index import SearchIndex

    held = SearchIndex(tmp_path / "data" / "search")  # as a running `kizashi run` would
    assert held.writable
    out = run("reindex", code=1)
    assert "another process is writing the search index" in out
    assert "POST /api/v1/search/reindex" in out
    held.close()
    assert "indexed" in run("reindex")
