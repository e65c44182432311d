"""Rules from the API, the CLI, the web page and the feed pipeline."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient

from feedserver import FeedServer
from kizashi.ingest.feeds import FeedService
from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from test_api import _token
from test_ingest_pipeline import feeds, running, server  # noqa: F401 - fixtures
from test_web import login

RULE = {
    "name": "ivanti",
    "when": {"words": ["Ivanti", "CVE-2024-21887"]},
    "then": {"add_tags": ["product:ivanti"], "set_tlp": "green"},
}


def add(kz: Kizashi, name: str, text: str) -> str:
    raw = {
        "type": "report",
        "name": name,
        "description": text,
        "object_refs": [SYSTEM.identity_ref],
    }
    raw["published"] = "2024-05-01T00:00:00.000Z"
    view, _ = kz.objects.create(SYSTEM, raw)
    return view.id


def test_api_rules(api: TestClient, kz: Kizashi) -> None:
    analyst = _token(kz, "ana", "analyst")
    reader = _token(kz, "rei", "reader")
    old = add(kz, "既存", "Ivanti の脆弱性")
    assert api.post("/api/v1/rules", json=RULE).status_code == 401
    assert api.post("/api/v1/rules", json=RULE, headers=reader).status_code == 403
    tested = api.post("/api/v1/rules/test", json=RULE, headers=analyst).json()
    assert tested["matched"] == 1 and tested["sample"][0]["id"] == old
    assert "<mark>Ivanti</mark>" in tested["sample"][0]["snippet"]
    created = api.post("/api/v1/rules", json=RULE, headers=analyst)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    bad = api.post(
        "/api/v1/rules", json={**RULE, "name": "b", "when": {"regex": "(x"}}, headers=analyst
    )
    assert bad.status_code == 422 and "when.regex" in bad.json()["error"]["message"]
    new = add(kz, "新着", "CVE-2024-21887 の悪用")
    assert kz.objects.get(SYSTEM, new).tags == ["product:ivanti", "tlp:green"]
    sources = api.get(f"/api/v1/objects/{new}/tag-sources", headers=reader).json()
    assert sources["product:ivanti"] == {"rule": "ivanti", "rule_version": 1}
    run = api.post("/api/v1/rules/ivanti/apply", headers=analyst)
    assert run.status_code == 202
    run_id = run.json()["id"]
    deadline = time.monotonic() + 60
    status = run.json()
    while status["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
        status = api.get(f"/api/v1/rules/runs/{run_id}", headers=analyst).json()
    assert status["status"] == "done" and status["matched"] >= 2
    assert "product:ivanti" in kz.objects.get(SYSTEM, old).tags
    exported = api.get("/api/v1/rules/export", headers=reader)
    assert exported.headers["content-type"].startswith("application/yaml")
    assert "CVE-2024-21887" in exported.text
    edited = {**RULE, "then": {"add_tags": ["edge"]}}
    assert api.put("/api/v1/rules/ivanti", json=edited, headers=analyst).json()["version"] == 2
    assert api.delete("/api/v1/rules/ivanti?remove_tags=true", headers=analyst).status_code == 204
    assert kz.objects.get(SYSTEM, old).tags == []
    imported = api.post("/api/v1/rules/import", content=exported.text, headers=analyst).json()
    assert imported == {"created": 1, "replaced": 0, "skipped": 0}
    assert [r["name"] for r in api.get("/api/v1/rules", headers=reader).json()] == ["ivanti"]


def test_cli_rules(run, kz: Kizashi, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = add(kz, "既存の報告", "国内企業へのランサムウェア攻撃")
    out = run(
        "rule", "add", "--name", "ransom", "--query", "ランサムウェア lang:ja",
        "--add-tag", "ransomware", "--add-tag", "region:japan",
    )  # fmt: skip
    assert "saved" in out
    tested = json.loads(run("rule", "test", "ransom", "--json"))
    assert tested["matched"] == 1 and tested["sample"][0]["id"] == old
    assert "1 match" in run("rule", "apply", "ransom")
    assert kz.objects.get(SYSTEM, old).tags == ["ransomware", "region:japan"]
    assert "ransom" in run("rule", "list")
    exported = tmp_path / "rules.yaml"
    run("rule", "export", "-o", str(exported))
    run("rule", "delete", "ransom", "--remove-tags")
    assert kz.objects.get(SYSTEM, old).tags == []
    assert "1 created" in run("rule", "import", str(exported))
    run("rule", "add", "--name", "broken", "--regex", "(x", code=2)


def test_rule_page(web: TestClient, kz: Kizashi) -> None:
    old = add(kz, "既存", "Ivanti の脆弱性")
    csrf = login(web, "ana", "analyst-password")
    assert "No rules yet" in web.get("/rules").text
    yaml_text = "name: ivanti\nwhen:\n  words: [Ivanti]\nthen:\n  add_tags: [product:ivanti]\n"
    tested = web.post("/rules/save", data={"csrf": csrf, "yaml": yaml_text, "action": "test"})
    assert "1 stored item(s) would match" in tested.text
    assert "<mark>Ivanti</mark>" in tested.text
    bad_yaml = "name: x\nwhen: {regex: '(x'}\nthen: {add_tags: [a]}\n"
    broken = web.post("/rules/save", data={"csrf": csrf, "yaml": bad_yaml, "action": "save"})
    assert broken.status_code == 422 and "when.regex" in broken.text
    saved = web.post("/rules/save", data={"csrf": csrf, "yaml": yaml_text, "action": "save"})
    assert saved.status_code == 200 and "Rule: ivanti" in saved.text
    applied = web.post("/rules/ivanti/apply", data={"csrf": csrf})
    assert "Run " in applied.text
    kz.rules.wait(int(applied.url.query.decode().split("=")[1]), timeout=60)
    assert kz.objects.get(SYSTEM, old).tags == ["product:ivanti"]
    web.post("/rules/ivanti/delete", data={"csrf": csrf, "remove_tags": "on"})
    assert kz.objects.get(SYSTEM, old).tags == []


def test_feed_items_are_tagged_before_they_are_stored(
    feeds: FeedService,  # noqa: F811 - the pipeline's fixture
    server: FeedServer,  # noqa: F811
) -> None:
    kz = feeds.kz
    kz.rules.save(
        SYSTEM,
        {
            "name": "vuln-from-kizashi",
            "when": {"all": [{"source": ["兆し"]}, {"words": ["脆弱性"]}]},
            "then": {"add_tags": ["vulnerability-news"], "set_tlp": "amber"},
        },
    )
    feed = feeds.add(SYSTEM, server.url("/items/3"), title="兆し")
    assert feeds.poll(feed.id).error is None
    found = kz.objects.list(SYSTEM, types=["report"]).items
    assert len(found) == 3
    assert all(r.tags == ["tlp:amber", "vulnerability-news"] for r in found)
    assert all(r.tlp == "amber" for r in found)


def test_api_and_page_suggestions(api: TestClient, web: TestClient, kz: Kizashi) -> None:
    from test_rules import PHISHING, RANSOMWARE

    analyst = _token(kz, "ana2", "analyst")
    for i in range(6):
        for text, tag in ((PHISHING[i % 3], "phishing"), (RANSOMWARE[i % 3], "ransomware")):
            kz.objects.create(
                SYSTEM,
                {"type": "note", "content": f"{text} {i}", "object_refs": [SYSTEM.identity_ref]},
                tags=[tag],
            )
    assert api.post("/api/v1/rules/train", headers=analyst).json()["tags"] == [
        "phishing",
        "ransomware",
    ]
    auto = {"name": "auto", "when": {"auto": True}, "then": {"add_tags": ["phishing"]}}
    assert api.post("/api/v1/rules", json=auto, headers=analyst).status_code == 201
    new = add(kz, "手口", "偽のログインページへ誘導するフィッシングメール")
    found = api.get(f"/api/v1/objects/{new}/suggestions", headers=analyst).json()
    assert [s["tag"] for s in found] == ["phishing"]
    csrf = login(web, "ana", "analyst-password")
    page = web.get(f"/objects/{new}")
    assert "Suggested" in page.text and 'value="phishing"' in page.text
    web.post(
        f"/objects/{new}/suggestions", data={"csrf": csrf, "tag": "phishing", "decision": "accept"}
    )
    assert kz.objects.get(SYSTEM, new).tags == ["phishing"]
    again = api.post(
        f"/api/v1/objects/{new}/suggestions/accept", json={"tag": "phishing"}, headers=analyst
    )
    assert again.status_code == 404  # nothing pending any more
