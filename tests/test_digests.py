"""Digests on SQLite and PostgreSQL: set up, claimed once by many schedulers, run as their
owner over the days before, raising an event; API, CLI, and the job queue."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import FakeClock
from kizashi.jobs.queue import Jobs, open_runtime
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from test_jobs import settings_for

RANSOM = (
    "国内の製造業を狙ったランサムウェア攻撃が続いている。"
    "攻撃者は VPN 機器の脆弱性 CVE-2024-21887 を悪用して侵入し、サーバーのファイルを暗号化した。"
)


def report(kz: Kizashi, who: Actor, name: str, published: str, **kw: Any) -> str:
    raw = {"type": "report", "name": name, "description": RANSOM, "published": published}
    return kz.objects.create(who, raw, **kw)[0].id


def code(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(KizashiError) as info:
        fn(*args, **kwargs)
    return info.value.code


def test_a_digest_runs_once_per_period_as_its_owner(
    kz: Kizashi, clock: FakeClock, analyst: Actor, admin: Actor, reader: Actor
) -> None:
    # The clock is 2026-01-02: one report this week, one a month ago, one TLP:RED.
    recent = report(kz, analyst, "今週の報告", "2025-12-30T00:00:00Z", tags=["x"])
    report(kz, analyst, "先月の報告", "2025-12-01T00:00:00Z", tags=["x"])
    secret = report(kz, admin, "赤の報告", "2025-12-31T00:00:00Z", tags=["x"], tlp="red")
    d = kz.digests.create(analyst, "週報 x", query="tag:x", days=7, every="weekly")
    assert (d.name, d.every, d.days, d.provider, d.last_job) == (
        "週報 x",
        "weekly",
        7,
        "extractive",
        None,
    )
    # Due at once; claimed by one caller; not again until a week has passed.
    (pk,) = kz.digests.claim_due()
    assert kz.digests.claim_due() == []
    job = kz.digests.run_claimed(pk)
    assert job is not None and job.status == "done" and job.summary
    assert [i["id"] for i in job.summary["inputs"]] == [recent]  # the week; the analyst's TLP
    assert secret not in json.dumps(job.summary)
    assert job.request["since"] == "2025-12-26"
    latest = kz.digests.latest(analyst, "週報 x")
    assert latest is not None and latest.id == job.id
    with kz.store.read() as conn:
        events = conn.execute(sa.text("SELECT kind, payload FROM events")).all()
    assert [(k, json.loads(p)["digest"]) for k, p in events] == [("digest.ready", "週報 x")]
    clock.tick(6 * 86400)
    assert kz.digests.claim_due() == []
    clock.tick(86400 + 1)
    assert len(kz.digests.claim_due()) == 1
    # Another analyst does not see it; an admin does; a reader cannot make one.
    assert code(kz.digests.get, reader, "週報 x") == "not_found"
    assert kz.digests.get(admin, "週報 x").name == "週報 x"
    assert [x.name for x in kz.digests.list(reader)] == []
    assert code(kz.digests.create, reader, "mine") == "forbidden"


def test_wrong_digests_say_why(kz: Kizashi, analyst: Actor) -> None:
    kz.digests.create(analyst, "daily", every="daily", days=1)
    assert code(kz.digests.create, analyst, "daily") == "conflict"
    assert code(kz.digests.create, analyst, "d2", every="hourly") == "validation_failed"
    assert code(kz.digests.create, analyst, "d3", days=0) == "validation_failed"
    assert code(kz.digests.create, analyst, "d4", query="published:never..") == "validation_failed"
    assert code(kz.digests.create, analyst, "d5", provider="gpt") == "validation_failed"
    kz.digests.delete(analyst, "daily")
    assert code(kz.digests.get, analyst, "daily") == "not_found"


def test_api_and_cli(kz: Kizashi, analyst: Actor, reader: Actor, api: TestClient, run: Any) -> None:
    report(kz, analyst, "今週の報告", "2025-12-30T00:00:00Z", tags=["x"])
    token, _ = kz.users.create_token(analyst, "tests")
    h = {"Authorization": f"Bearer {token}"}
    made = api.post("/api/v1/digests", json={"name": "w", "query": "tag:x"}, headers=h)
    assert made.status_code == 201 and made.json()["every"] == "weekly"
    assert [d["name"] for d in api.get("/api/v1/digests", headers=h).json()] == ["w"]
    ran = api.post("/api/v1/digests/w/run", headers=h).json()
    assert ran["status"] == "done" and ran["summary"]["citations"]
    shown = api.get("/api/v1/digests/w", headers=h).json()
    assert shown["latest"]["id"] == ran["id"]
    rei, _ = kz.users.create_token(reader, "tests")
    denied = api.post(
        "/api/v1/digests", json={"name": "r"}, headers={"Authorization": f"Bearer {rei}"}
    )
    assert denied.status_code == 403
    bad = api.post("/api/v1/digests", json={"name": "b", "every": "hourly"}, headers=h)
    assert bad.status_code == 422
    assert api.delete("/api/v1/digests/w", headers=h).status_code == 204

    # The command line runs on the real clock: a report of today.
    today = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    report(kz, analyst, "本日の報告", today, tags=["y"])
    assert "next run" in run("digest", "add", "cli", "--query", "tag:y", "--every", "daily")
    assert json.loads(run("digest", "list", "--json"))[0]["name"] == "cli"
    text = run("digest", "run", "cli")
    assert "[1] 本日の報告" in text
    assert "removed" in run("digest", "remove", "cli")


def test_the_scheduler_queues_each_due_digest_once(
    tmp_path: Path, db_url: str, kz: Kizashi, analyst: Actor
) -> None:
    """Three schedulers at once: one digest job on the queue; a worker makes it."""
    report(kz, analyst, "今週の報告", "2099-01-01T00:00:00Z", tags=["x"])
    kz.digests.create(analyst, "w", query="tag:x", days=90)
    settings = settings_for(tmp_path, db_url, None)
    runtimes = [open_runtime(settings) for _ in range(3)]
    fleet = [Jobs(settings, runtime=lambda r=r: r) for r in runtimes]  # type: ignore[misc]
    try:
        start = threading.Barrier(len(fleet))

        def schedule(jobs: Jobs) -> None:
            start.wait()
            jobs.schedule_due()

        threads = [threading.Thread(target=schedule, args=(j,)) for j in fleet]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        huey = fleet[0].huey
        assert huey.pending_count() == 1
        task = huey.dequeue()
        assert task is not None and task.name == "kizashi.run_digest"
        huey.execute(task)
        latest = kz.digests.latest(analyst, "w")
        assert latest is not None and latest.status == "done"
    finally:
        fleet[0].huey.flush()
        for jobs in fleet:
            jobs.close()


def test_the_digests_page(kz: Kizashi, web: TestClient) -> None:
    from test_web import csrf_of, login

    ana = kz.users.get_actor("ana")
    report(kz, ana, "今週の報告", "2025-12-30T00:00:00Z", tags=["x"])
    login(web, "ana", "analyst-password")
    page = web.get("/digests").text
    assert "No digests yet." in page and 'action="/digests"' in page
    token = csrf_of(page)
    bad = web.post("/digests", data={"csrf": token, "name": "w", "days": "0", "q": "tag:x"})
    assert bad.status_code == 422 and "days" in bad.text and 'value="tag:x"' in bad.text
    made = web.post(
        "/digests",
        data={"csrf": token, "name": "週報", "q": "tag:x", "days": "7", "every": "weekly"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert "Not run yet." in web.get("/digests").text
    ran = web.post(f"/digests/{quote('週報')}/run", data={"csrf": token}, follow_redirects=False)
    assert ran.status_code == 303
    (digest,) = kz.digests.list(ana)
    assert digest.last_job is not None
    kz.summaries.wait(ana, digest.last_job, timeout=60)
    shown = web.get("/digests").text
    assert 'data-status="done"' in shown and "今週の報告" in shown
    web.post(f"/digests/{quote('週報')}/delete", data={"csrf": token})
    assert kz.digests.list(ana) == []
    # Readers see the page without the forms.
    login(web, "rei", "reader-password")
    assert 'action="/digests"' not in web.get("/digests").text
