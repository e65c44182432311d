"""The REST API, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kizashi.config import Settings
from kizashi.model.actor import SYSTEM
from kizashi.server import create_app
from kizashi.services import Kizashi


@pytest.fixture
def api(kz: Kizashi, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="test-secret", max_body_bytes=64 * 1024
    )
    with TestClient(create_app(settings, kz)) as client:
        yield client


def _token(kz: Kizashi, username: str, role: str) -> dict[str, str]:
    kz.users.create(SYSTEM, username, f"{username}-password", role)
    token, _ = kz.users.create_token(kz.users.get_actor(username), "tests")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def as_analyst(kz: Kizashi) -> dict[str, str]:
    return _token(kz, "ana", "analyst")


@pytest.fixture
def as_reader(kz: Kizashi) -> dict[str, str]:
    return _token(kz, "rei", "reader")


@pytest.fixture
def as_admin(kz: Kizashi) -> dict[str, str]:
    return _token(kz, "adm", "admin")


REPORT = {
    "type": "report",
    "name": "ランサムウェア攻撃の報告",
    "published": "2024-05-01T00:00:00Z",
    "description": "本文",
}


def test_anonymous_gets_401_everywhere(api: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/objects"),
        ("POST", "/api/v1/objects"),
        ("GET", "/api/v1/objects/report--00000000-0000-4000-8000-000000000000"),
        ("GET", "/api/v1/tags"),
        ("POST", "/api/v1/relationships"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/auth/me"),
    ]:
        r = api.request(method, path, json={})
        assert r.status_code == 401, (method, path)
        assert r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["www-authenticate"] == "Bearer"


def test_bad_token_is_401(api: TestClient) -> None:
    r = api.get("/api/v1/objects", headers={"Authorization": "Bearer kz_not-a-token"})
    assert r.status_code == 401
    r = api.get("/api/v1/objects", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert r.status_code == 401
    assert "Bearer" in r.json()["error"]["message"]


def test_reader_gets_403_on_every_write(
    api: TestClient, as_reader: dict[str, str], kz: Kizashi
) -> None:
    actor_id = kz.objects.create(SYSTEM, {"type": "threat-actor", "name": "X"})[0].id
    writes = [
        ("POST", "/api/v1/objects", REPORT),
        ("PATCH", f"/api/v1/objects/{actor_id}", {"name": "Y"}),
        ("DELETE", f"/api/v1/objects/{actor_id}", None),
        ("POST", f"/api/v1/objects/{actor_id}/tags", {"tags": ["x"]}),
        ("POST", "/api/v1/tags", {"name": "x"}),
        ("POST", "/api/v1/relationships", {"source_ref": actor_id, "target_ref": actor_id}),
        ("POST", "/api/v1/users", {"username": "u", "password": "password1"}),
        ("PUT", "/api/v1/taxonomies/pap", {"enabled": False}),
    ]
    for method, path, body in writes:
        r = api.request(method, path, json=body, headers=as_reader)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    # Reading is allowed.
    assert api.get(f"/api/v1/objects/{actor_id}", headers=as_reader).status_code == 200
    assert kz.objects.get(SYSTEM, actor_id).name == "X"


def test_create_read_list_update_revoke(
    api: TestClient, as_analyst: dict[str, str], as_admin: dict[str, str]
) -> None:
    r = api.post("/api/v1/objects?tag=ランサムウェア&tlp=amber", json=REPORT, headers=as_analyst)
    assert r.status_code == 201, r.text
    body = r.json()
    rid = body["id"]
    assert body["created_now"] is True
    assert body["name"] == REPORT["name"]
    assert body["tags"] == sorted(["tlp:amber", "ランサムウェア"])
    assert body["stix"]["labels"] == ["ランサムウェア"]
    assert body["stix"]["object_marking_refs"] == [
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    ]

    got = api.get(f"/api/v1/objects/{rid}", headers=as_analyst).json()
    assert got["stix"]["description"] == "本文"

    listed = api.get(
        "/api/v1/objects", params={"tags": "ランサムウェア AND tlp:amber"}, headers=as_analyst
    ).json()
    assert [o["id"] for o in listed["items"]] == [rid]

    r = api.patch(f"/api/v1/objects/{rid}", json={"name": "更新"}, headers=as_analyst)
    assert r.status_code == 200
    assert r.json()["version"] == 2
    assert r.json()["modified"] > body["modified"]
    history = api.get(f"/api/v1/objects/{rid}/history", headers=as_analyst).json()
    assert [h["version"] for h in history] == [2, 1]
    assert history[1]["stix"]["name"] == REPORT["name"]

    assert api.delete(f"/api/v1/objects/{rid}", headers=as_analyst).json()["revoked"] is True
    assert api.get(f"/api/v1/objects/{rid}", headers=as_analyst).status_code == 404
    assert (
        api.get("/api/v1/objects", params={"type": "report"}, headers=as_analyst).json()["items"]
        == []
    )
    assert api.post(f"/api/v1/objects/{rid}/restore", headers=as_analyst).status_code == 403
    restored = api.post(f"/api/v1/objects/{rid}/restore", headers=as_admin)
    assert restored.status_code == 200
    assert restored.json()["revoked"] is False


def test_same_observable_twice_answers_200(api: TestClient, as_analyst: dict[str, str]) -> None:
    first = api.post(
        "/api/v1/objects", json={"type": "domain-name", "value": "evil.example"}, headers=as_analyst
    )
    second = api.post(
        "/api/v1/objects", json={"type": "domain-name", "value": "evil.example"}, headers=as_analyst
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["created_now"] is False


def test_invalid_object_lists_each_problem_and_stores_nothing(
    api: TestClient, as_analyst: dict[str, str], kz: Kizashi
) -> None:
    before = len(kz.objects.list(SYSTEM, limit=500).items)
    bad = {
        "type": "indicator",
        "pattern_type": "stix",
        "valid_from": "not a date",
        "confidence": "high",
        "bogus": 1,
    }
    r = api.post("/api/v1/objects", json=bad, headers=as_analyst)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    locs = {p["loc"] for p in err["problems"]}
    assert {"valid_from", "confidence", "bogus", "pattern"} <= locs
    assert len(kz.objects.list(SYSTEM, limit=500).items) == before


def test_unknown_type_is_422(api: TestClient, as_analyst: dict[str, str]) -> None:
    r = api.post("/api/v1/objects", json={"type": "x-unicorn", "name": "a"}, headers=as_analyst)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_type"
    r = api.get("/api/v1/objects", params={"type": "unicorn"}, headers=as_analyst)
    assert r.status_code == 422


def test_malformed_json_is_400(api: TestClient, as_analyst: dict[str, str]) -> None:
    r = api.post(
        "/api/v1/objects",
        content=b'{"type": "report", ',
        headers=as_analyst | {"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
    assert r.json()["error"]["message"]


def test_oversized_body_is_413(api: TestClient, as_analyst: dict[str, str], kz: Kizashi) -> None:
    big = REPORT | {"description": "あ" * 40_000}  # 120 kB of UTF-8, over the 64 kB test limit
    r = api.post("/api/v1/objects", json=big, headers=as_analyst)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"
    assert kz.objects.list(SYSTEM, types=["report"]).items == []

    def chunks() -> Iterator[bytes]:
        yield b'{"type": "report", "description": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    streamed = api.post(
        "/api/v1/objects",
        content=chunks(),
        headers=as_analyst | {"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_errors_for_unknown_routes_and_methods(api: TestClient, as_analyst: dict[str, str]) -> None:
    r = api.get("/api/v1/nothing-here", headers=as_analyst)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = api.put("/api/v1/objects", headers=as_analyst)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_cursor_pagination(api: TestClient, as_analyst: dict[str, str]) -> None:
    ids = []
    for i in range(7):
        ids.append(
            api.post(
                "/api/v1/objects",
                json={"type": "ipv4-addr", "value": f"203.0.113.{i}"},
                headers=as_analyst,
            ).json()["id"]
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"type": "ipv4-addr", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/objects", params=params, headers=as_analyst).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    bad = api.get("/api/v1/objects", params={"cursor": "garbage!"}, headers=as_analyst)
    assert bad.status_code == 422


def test_tags_api(api: TestClient, as_analyst: dict[str, str]) -> None:
    oid = api.post("/api/v1/objects", json=REPORT, headers=as_analyst).json()["id"]
    r = api.post(
        f"/api/v1/objects/{oid}/tags", json={"tags": ["apt", "tlp:green"]}, headers=as_analyst
    )
    assert r.json()["tags"] == ["apt", "tlp:green"]
    r = api.post(f"/api/v1/objects/{oid}/tags", json={"tags": ["tlp:purple"]}, headers=as_analyst)
    assert r.status_code == 422
    assert "tlp:amber" in r.json()["error"]["message"]
    assert api.get("/api/v1/tags/tlp:green", headers=as_analyst).json()["count"] == 1
    assert api.get("/api/v1/tags/apt/neighbours", headers=as_analyst).json() == [
        {"name": "tlp:green", "count": 1}
    ]
    assert (
        "tlp:amber"
        in api.get("/api/v1/tags/suggest", params={"prefix": "tlp:a"}, headers=as_analyst).json()
    )
    r = api.patch("/api/v1/tags/apt", json={"name": "APT", "colour": "#112233"}, headers=as_analyst)
    assert r.json() == {
        "name": "APT",
        "namespace": None,
        "colour": "#112233",
        "description": None,
        "count": 1,
    }
    r = api.delete(f"/api/v1/objects/{oid}/tags", params={"tag": "APT"}, headers=as_analyst)
    assert r.json()["tags"] == ["tlp:green"]
    r = api.post("/api/v1/tags", json={"name": "phishing", "colour": "red"}, headers=as_analyst)
    assert r.status_code == 422
    assert r.json()["error"]["problems"][0]["loc"] == "colour"


def test_relationships_and_neighbours(api: TestClient, as_analyst: dict[str, str]) -> None:
    rep = api.post("/api/v1/objects", json=REPORT, headers=as_analyst).json()["id"]
    ta = api.post(
        "/api/v1/objects", json={"type": "threat-actor", "name": "APT-兆"}, headers=as_analyst
    ).json()["id"]
    mal = api.post(
        "/api/v1/objects",
        json={"type": "malware", "name": "Kiza", "is_family": True},
        headers=as_analyst,
    ).json()["id"]
    r = api.post(
        "/api/v1/relationships",
        json={
            "source_ref": rep,
            "relationship_type": "related-to",
            "target_ref": ta,
            "confidence": 80,
        },
        headers=as_analyst,
    )
    assert r.status_code == 201, r.text
    assert r.json()["stix"]["confidence"] == 80
    api.post(
        "/api/v1/relationships",
        json={"source_ref": ta, "relationship_type": "uses", "target_ref": mal},
        headers=as_analyst,
    )
    one = api.get(f"/api/v1/objects/{rep}/neighbours", headers=as_analyst).json()
    assert {n["id"] for n in one["nodes"]} == {rep, ta}
    two = api.get(f"/api/v1/objects/{rep}/neighbours?depth=2", headers=as_analyst).json()
    assert {n["id"] for n in two["nodes"]} == {rep, ta, mal}
    assert {e["relationship_type"] for e in two["edges"]} == {"related-to", "uses"}
    bad = api.post(
        "/api/v1/relationships",
        json={
            "source_ref": rep,
            "relationship_type": "Uses It!",
            "target_ref": "malware--00000000-0000-4000-8000-000000000000",
        },
        headers=as_analyst,
    )
    assert bad.status_code == 422
    assert {p["loc"] for p in bad.json()["error"]["problems"]} == {
        "relationship_type",
        "target_ref",
    }


def test_tokens_and_users(api: TestClient, as_admin: dict[str, str]) -> None:
    r = api.post("/api/v1/auth/tokens", json={"name": "script"}, headers=as_admin)
    token = r.json()["token"]
    assert token.startswith("kz_")
    mine = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/auth/me", headers=mine).json()["username"] == "adm"
    listed = api.get("/api/v1/auth/tokens", headers=mine).json()
    assert all("token" not in t for t in listed)
    api.delete(f"/api/v1/auth/tokens/{r.json()['id']}", headers=as_admin)
    assert api.get("/api/v1/auth/me", headers=mine).status_code == 401
    r = api.post("/api/v1/users", json={"username": "bob", "password": "short"}, headers=as_admin)
    assert r.status_code == 422
    r = api.post(
        "/api/v1/users",
        json={"username": "bob", "password": "long enough", "role": "reader"},
        headers=as_admin,
    )
    assert r.status_code == 201
    assert (
        api.patch("/api/v1/users/bob", json={"role": "analyst"}, headers=as_admin).json()["role"]
        == "analyst"
    )


def test_taxonomies(api: TestClient, as_admin: dict[str, str]) -> None:
    rows = {t["namespace"]: t for t in api.get("/api/v1/taxonomies", headers=as_admin).json()}
    assert rows["tlp"]["enabled"] is True
    assert rows["admiralty-scale"]["enabled"] is True
    assert len(rows) > 100
    assert (
        api.put("/api/v1/taxonomies/pap", json={"enabled": False}, headers=as_admin).json()[
            "enabled"
        ]
        is False
    )
    assert (
        api.put("/api/v1/taxonomies/no-such", json={"enabled": True}, headers=as_admin).status_code
        == 404
    )


def test_openapi_is_served_to_callers_and_no_cdn(
    api: TestClient, as_reader: dict[str, str]
) -> None:
    assert api.get("/api/v1/openapi.json").status_code == 401
    spec = api.get("/api/v1/openapi.json", headers=as_reader).json()
    for path in ("/api/v1/objects", "/api/v1/tags", "/api/v1/relationships"):
        assert path in spec["paths"]
    assert "/api/v1/openapi.json" not in spec["paths"]
    assert api.get("/docs").status_code in (303, 404)


def test_session_writes_need_csrf_header(api: TestClient, kz: Kizashi) -> None:
    kz.users.create(SYSTEM, "web", "web-password", "analyst")
    page = api.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    r = api.post(
        "/login",
        data={"username": "web", "password": "web-password", "csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert api.get("/api/v1/auth/me").json()["username"] == "web"
    r = api.post("/api/v1/objects", json=REPORT)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf"
    home = api.get("/")
    token = home.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        api.post("/api/v1/objects", json=REPORT, headers={"X-CSRF-Token": token}).status_code == 201
    )


def test_created_date_range_covers_whole_days(api: TestClient, as_analyst: dict[str, str]) -> None:
    first = api.post(
        "/api/v1/objects", json={"type": "threat-actor", "name": "a"}, headers=as_analyst
    )
    created = first.json()["created"]
    day = created[:10]
    found = api.get(
        "/api/v1/objects",
        params={"type": "threat-actor", "created_from": day, "created_to": day},
        headers=as_analyst,
    ).json()["items"]
    assert [o["id"] for o in found] == [first.json()["id"]]
    before = api.get(
        "/api/v1/objects",
        params={"type": "threat-actor", "created_to": "2000-01-01"},
        headers=as_analyst,
    ).json()["items"]
    assert before == []
    bad = api.get("/api/v1/objects", params={"created_from": "yesterday"}, headers=as_analyst)
    assert bad.status_code == 422
    assert bad.json()["error"]["problems"] == [{"loc": "created_from", "msg": "yesterday"}]
