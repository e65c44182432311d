"""Summaries on SQLite and PostgreSQL: one article and a selection, citations, what the
inputs mention, TLP, the stored summary reused until an input changes, API and CLI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi

RANSOM = (
    "国内の製造業を狙ったランサムウェア攻撃が続いている。"
    "攻撃者は VPN 機器の脆弱性 CVE-2024-21887 を悪用して侵入し、サーバーのファイルを暗号化した。"
    "通信先は 45[.]77[.]12[.]34 であり、技術 T1486 が使われた。"
    "身代金を要求する脅迫文が残されていた。"
)
PHISH = (
    "金融機関を装ったフィッシング詐欺が増えている。偽のログインページで認証情報を窃取する手口が"
    "確認された。メールの送信元 login-bank-secure.top に注意が必要である。"
)


def report(kz: Kizashi, who: Actor, name: str, text: str, published: str, **kw: Any) -> str:
    raw = {"type": "report", "name": name, "description": text, "published": published}
    return kz.objects.create(who, raw, **kw)[0].id


def test_an_article_with_what_it_mentions(kz: Kizashi, analyst: Actor) -> None:
    rid = report(
        kz,
        analyst,
        "ランサムウェア攻撃の注意喚起",
        RANSOM,
        "2026-11-20T00:00:00Z",
        tags=["actor:テスト集団", "ransomware"],
    )
    s = kz.summaries.article(analyst, rid, budget=120)
    assert s.kind == "article" and s.subject == rid and s.provider == "extractive"
    assert 0 < len(s.summary) <= 120
    for st in s.statements:
        assert st.text in RANSOM and st.cites == (1,)
    assert [c.id for c in s.citations] == [rid]
    assert s.points and all(p.text in RANSOM for p in s.points)
    assert s.mentions["indicators"] == ["45.77.12.34"]
    assert s.mentions["vulnerabilities"] == ["CVE-2024-21887"]
    assert s.mentions["attack"] == ["T1486"]
    assert s.mentions["actors"] == ["テスト集団"]
    assert s.template_version == "textrank-1" and s.model is None
    assert [i["id"] for i in s.inputs] == [rid]
    assert not s.cached


def test_a_summary_is_kept_until_its_input_changes(kz: Kizashi, analyst: Actor) -> None:
    rid = report(kz, analyst, "報告", RANSOM, "2026-11-20T00:00:00Z")
    first = kz.summaries.article(analyst, rid)
    again = kz.summaries.article(analyst, rid)
    assert again.cached and again.as_dict() | {"cached": False} == first.as_dict()
    # Another budget is another request.
    assert not kz.summaries.article(analyst, rid, budget=100).cached
    kz.objects.update(analyst, rid, {"description": PHISH})
    changed = kz.summaries.article(analyst, rid)
    assert not changed.cached and "フィッシング" in changed.summary
    kz.tags.tag(analyst, rid, ["phishing"])
    assert not kz.summaries.article(analyst, rid).cached
    assert kz.summaries.article(analyst, rid).cached


def test_a_selection_cites_each_item_it_read(
    kz: Kizashi, analyst: Actor, admin: Actor, reader: Actor
) -> None:
    a = report(kz, analyst, "ランサムウェア A", RANSOM, "2026-11-20T00:00:00Z", tags=["x"])
    b = report(kz, analyst, "フィッシング B", PHISH, "2026-11-21T00:00:00Z", tags=["x"])
    secret = report(
        kz,
        admin,
        "内部 C",
        "社内調査で新しいバックドアを発見した。",
        "2026-11-22T00:00:00Z",
        tags=["x"],
        tlp="red",
    )
    report(kz, analyst, "関係ない D", PHISH, "2026-10-01T00:00:00Z")
    s = kz.summaries.collection(reader, "tag:x", budget=400)
    assert s.kind == "collection" and s.subject == "tag:x"
    assert {i["id"] for i in s.inputs} == {a, b}  # TLP:RED is not the reader's
    cited = {c.id for c in s.citations}
    assert cited <= {a, b} and secret not in cited
    assert [c.n for c in s.citations] == list(range(1, len(s.citations) + 1))
    texts = {a: RANSOM, b: PHISH}
    by_n = {c.n: c.id for c in s.citations}
    for st in s.statements:
        assert len(st.cites) == 1 and st.text in texts[by_n[st.cites[0]]]
    assert "login-bank-secure.top" in s.mentions["indicators"]
    # The admin reads all three; dates narrow the selection.
    assert len(kz.summaries.collection(admin, "tag:x").inputs) == 3
    narrowed = kz.summaries.collection(admin, "tag:x", since="2026-11-21", until="2026-11-21")
    assert [i["id"] for i in narrowed.inputs] == [b]
    assert narrowed.subject == "tag:x published:2026-11-21..2026-11-21"
    empty = kz.summaries.collection(reader, "tag:nothing-has-this")
    assert empty.statements == [] and empty.note and "empty" in empty.note


def test_wrong_requests_say_why(kz: Kizashi, analyst: Actor) -> None:
    rid = report(kz, analyst, "報告", RANSOM, "2026-11-20T00:00:00Z")
    for kwargs, loc in (
        ({"provider": "gpt"}, "provider"),
        ({"budget": 10}, "budget"),
    ):
        with pytest.raises(KizashiError) as info:
            kz.summaries.article(analyst, rid, **kwargs)
        assert info.value.code == "validation_failed"
        assert [p.loc for p in info.value.problems] == [loc]
    with pytest.raises(KizashiError) as info:
        kz.summaries.article(analyst, "report--6d0f3b8e-2a4c-4e5f-9a1b-3c7d8e9f0a1b")
    assert info.value.code == "not_found"


def test_api_and_cli(kz: Kizashi, analyst: Actor, api: TestClient, run: Any) -> None:
    rid = report(kz, analyst, "ランサムウェア攻撃の注意喚起", RANSOM, "2026-11-20T00:00:00Z")
    assert api.post("/api/v1/summaries", json={"id": rid}).status_code == 401
    token, _ = kz.users.create_token(analyst, "tests")
    api.headers["Authorization"] = f"Bearer {token}"
    body = api.post("/api/v1/summaries", json={"id": rid, "budget": 120}).json()
    assert body["provider"] == "extractive" and body["citations"][0]["id"] == rid
    assert 0 < len(body["summary"]) <= 120
    both = api.post("/api/v1/summaries", json={"id": rid, "query": "x"})
    assert both.status_code == 422
    missing = "report--6d0f3b8e-2a4c-4e5f-9a1b-3c7d8e9f0a1b"
    assert api.post("/api/v1/summaries", json={"id": missing}).status_code == 404
    assert api.post("/api/v1/summaries", json={"id": rid, "provider": "gpt"}).status_code == 422
    sel = api.post("/api/v1/summaries", json={"query": "ランサムウェア"}).json()
    assert sel["kind"] == "collection" and sel["citations"][0]["id"] == rid

    made = json.loads(run("summarize", "--id", rid, "--budget", "120", "--json"))
    assert {"summary", "provider", "citations"} <= set(made)
    assert made["cached"] is True  # the API made the same summary a moment ago
    text = run("summarize", "--query", "ランサムウェア", "--since", "2026-11-01")
    assert "[1] ランサムウェア攻撃の注意喚起 (2026-11-20)" in text
    assert "vulnerabilities: CVE-2024-21887" in text
    run("summarize", "--id", rid, "--query", "x", code=2)


def test_the_article_page_shows_its_summary(kz: Kizashi, web: TestClient) -> None:
    from test_web import login

    ana = kz.users.get_actor("ana")
    hostile = RANSOM + "<script>alert(1)</script>を含む文がここに書かれていたとしても実行されない。"
    more = (
        "被害を受けた企業は、バックアップからの復旧に数週間を要したと報告している。"
        "専門家は、VPN 機器の更新と多要素認証の導入を強く推奨している。"
        "警察庁と JPCERT/CC は、同様の手口による被害が今後も続く可能性があると注意を呼びかけた。"
    )
    rid = report(kz, ana, "長い報告", hostile + PHISH + more, "2026-11-20T00:00:00Z")
    short = report(kz, ana, "短い報告", "短い本文です。", "2026-11-20T00:00:00Z")
    login(web, "rei", "reader-password")
    page = web.get(f"/objects/{rid}").text
    section = page.split('id="summary"')[1].split("</section>")[0]
    made = kz.summaries.article(kz.users.get_actor("rei"), rid)
    assert made.cached  # the page made it
    assert made.statements[0].text.replace("<", "&lt;").replace(">", "&gt;") in section
    assert "<script>" not in section
    assert "Vulnerabilities: CVE-2024-21887" in section
    # A text shorter than a summary has none.
    assert 'id="summary"' not in web.get(f"/objects/{short}").text


def test_background_summaries_with_progress(
    kz: Kizashi, analyst: Actor, admin: Actor, reader: Actor, api: TestClient
) -> None:
    from kizashi.services.summaries import SummaryRequest

    ids = [
        report(kz, analyst, f"ランサムウェア {i}", RANSOM, f"2026-11-2{i}T00:00:00Z", tags=["x"])
        for i in range(3)
    ]
    job = kz.summaries.start(analyst, SummaryRequest(query="tag:x"))
    assert job.status in ("queued", "running", "done")
    done = kz.summaries.wait(analyst, job.id, timeout=60)
    assert done.status == "done" and done.error is None
    assert (done.done, done.total) == (3, 3)
    assert done.summary and {i["id"] for i in done.summary["inputs"]} == set(ids)
    assert done.request["query"] == "tag:x"
    # Whoever asked, and admins; nobody else (it read what its asker may read).
    assert kz.summaries.job(admin, job.id).status == "done"
    with pytest.raises(KizashiError) as info:
        kz.summaries.job(reader, job.id)
    assert info.value.code == "not_found"
    # A request that cannot work says so before it starts; one that fails while
    # running says why in the job.
    with pytest.raises(KizashiError):
        kz.summaries.start(analyst, SummaryRequest(query="tag:x", provider="gpt"))
    bad = kz.summaries.start(analyst, SummaryRequest(query="published:nonsense.."))
    failed = kz.summaries.wait(analyst, bad.id, timeout=60)
    assert failed.status == "failed" and failed.error and "nonsense" in failed.error

    token, _ = kz.users.create_token(analyst, "tests")
    headers = {"Authorization": f"Bearer {token}"}
    started = api.post("/api/v1/summaries/jobs", json={"query": "tag:x"}, headers=headers)
    assert started.status_code == 202
    job_id = started.json()["id"]
    kz.summaries.wait(analyst, job_id, timeout=60)
    body = api.get(f"/api/v1/summaries/jobs/{job_id}", headers=headers).json()
    assert body["status"] == "done" and body["summary"]["kind"] == "collection"
    rei, _ = kz.users.create_token(reader, "tests")
    other = api.get(f"/api/v1/summaries/jobs/{job_id}", headers={"Authorization": f"Bearer {rei}"})
    assert other.status_code == 404
    wrong = api.post(
        "/api/v1/summaries/jobs", json={"query": "x", "provider": "gpt"}, headers=headers
    )
    assert wrong.status_code == 422


def test_tag_feed_and_search_pages_summarise_what_they_show(kz: Kizashi, web: TestClient) -> None:
    from test_web import csrf_of, login

    ana = kz.users.get_actor("ana")
    ids = [
        report(
            kz, ana, f"ランサムウェア報告 {i}", RANSOM, "2026-01-01T00:00:00Z", tags=["被害 速報"]
        )
        for i in range(2)
    ]
    login(web, "ana", "analyst-password")
    tag_page = web.get("/tags/被害 速報").text
    assert 'hx-post="/ui/summaries"' in tag_page
    assert 'name="q" value="tag:&#34;被害 速報&#34;"' in tag_page
    assert '<option value="extractive">' in tag_page and 'value="openai"' not in tag_page
    search_page = web.get("/search", params={"q": "ランサムウェア"}).text
    assert 'name="q" value="ランサムウェア"' in search_page
    from kizashi.ingest.feeds import FeedService
    from kizashi.ingest.fetch import Fetcher
    from kizashi.ingest.netguard import AddressPolicy, parse_allowlist

    feeds = FeedService(kz, Fetcher(AddressPolicy(parse_allowlist(None))))
    feed = feeds.add(ana, "https://feeds.example/jp.xml", title="国内 速報")
    feeds.fetcher.close()
    feed_page = web.get(f"/feeds/{feed.id}").text
    assert 'name="q" value="source:&#34;国内 速報&#34;"' in feed_page
    fragment = web.post(
        "/ui/summaries",
        data={"csrf": csrf_of(tag_page), "q": 'tag:"被害 速報"', "days": "30"},
    )
    assert fragment.status_code == 200
    job_id = int(re.search(r'data-job="(\d+)"', fragment.text).group(1))  # type: ignore[union-attr]
    assert 'hx-trigger="every 1s"' in fragment.text
    kz.summaries.wait(ana, job_id, timeout=60)
    shown = web.get(f"/ui/summaries/{job_id}").text
    assert 'data-status="done"' in shown and "hx-get" not in shown
    assert any(f'href="/objects/{i}"' in shown for i in ids)
    assert "Vulnerabilities: CVE-2024-21887" in shown
    # The period: 30 days back from the clock (2026-01-02), the reports are in it.
    job = kz.summaries.job(ana, job_id)
    assert job.request["since"] == "2025-12-03"
    # No form token, no summary.
    assert web.post("/ui/summaries", data={"q": "x"}).status_code == 403
