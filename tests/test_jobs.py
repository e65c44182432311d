"""The job queue: JSON messages, embedded (SQLite) and Redis queues, one scheduler, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from huey.registry import Message

from feedserver import FeedServer
from kizashi.config import Settings
from kizashi.jobs.queue import Jobs, open_runtime
from kizashi.jobs.serializer import JsonSerializer
from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from support import need

REDIS_URL = os.environ.get("KIZASHI_TEST_REDIS", "redis://127.0.0.1:6379/0")


def wait_for(check, timeout: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """Poll ``check`` until true; a bound on waiting, not an assertion about speed."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite-queue":
        yield None
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        need(f"Redis is not reachable at {REDIS_URL}: {exc.__class__.__name__}")
    yield REDIS_URL
    client.close()


def settings_for(tmp_path: Path, db_url: str, queue_url: str | None, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        queue_url=queue_url,
        queue_name=f"kz-test-{uuid.uuid4().hex[:8]}",
        fetch_allow="127.0.0.1/32",
        schedule_seconds=1,
        workers=2,
        **extra,
    )


def report_count(kz: Kizashi) -> int:
    with kz.store.read() as conn:
        return int(
            conn.execute(sa.text("SELECT count(*) FROM objects WHERE type = 'report'")).scalar_one()
        )


def test_messages_are_json_not_pickles() -> None:
    s = JsonSerializer()
    eta = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    msg = Message(
        "id1",
        "kizashi.poll_feed",
        eta,
        0,
        0,
        None,
        (7,),
        {},
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    )
    data = s.serialize(msg)
    assert data.startswith(b"{") and b"pickle" not in data
    back = s.deserialize(data)
    assert back == msg
    with pytest.raises(TypeError, match="plain values"):
        s.serialize(
            Message(
                "x",
                "n",
                None,
                0,
                0,
                None,
                (object(),),
                {},
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            )
        )


def test_a_queued_poll_runs_on_a_worker(
    tmp_path: Path, db_url: str, queue_url: str | None, server: FeedServer
) -> None:
    """`poll now` from the API enqueues; a consumer (threads, as in `kizashi run`) stores."""
    settings = settings_for(tmp_path, db_url, queue_url)
    runtime = open_runtime(settings)
    jobs = Jobs(settings, runtime=lambda: runtime)
    feed = runtime.feeds.add(SYSTEM, server.url("/items/25"), enabled=False)
    consumer = jobs.consumer()
    consumer.start()
    try:
        jobs.enqueue_poll(feed.id)
        wait_for(lambda: report_count(runtime.kz) == 25, what="25 reports")
    finally:
        consumer.stop(graceful=True)
        jobs.huey.flush()
        jobs.close()


def test_the_scheduler_claims_each_feed_once_however_many_run(
    tmp_path: Path, db_url: str, queue_url: str | None, server: FeedServer
) -> None:
    """Several servers each run a scheduler: every due feed is queued exactly once."""
    settings = settings_for(tmp_path, db_url, queue_url)
    runtimes = [open_runtime(settings) for _ in range(3)]
    fleet = [Jobs(settings, runtime=lambda r=r: r) for r in runtimes]  # type: ignore[misc]
    try:
        ids = [runtimes[0].feeds.add(SYSTEM, server.url(f"/items/{n}")).id for n in (1, 2, 3, 4)]
        claimed: list[list[int]] = []
        start = threading.Barrier(len(fleet))

        def run(jobs: Jobs) -> None:
            start.wait()
            claimed.append(jobs.schedule_due())

        threads = [threading.Thread(target=run, args=(j,)) for j in fleet]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        everything = sorted(i for c in claimed for i in c)
        assert everything == sorted(ids)
        assert fleet[0].huey.pending_count() == len(ids)
        # Nothing is due any more.
        assert all(j.schedule_due() == [] for j in fleet)
    finally:
        fleet[0].huey.flush()
        for jobs in fleet:
            jobs.close()


def test_worker_killed_mid_poll_stores_every_item_exactly_once(
    tmp_path: Path, db_url: str, queue_url: str | None, server: FeedServer
) -> None:
    """SIGKILL a `kizashi worker` in the middle of a 1,000-item poll, restart it."""
    settings = settings_for(tmp_path, db_url, queue_url, poll_lease_seconds=2)
    kz = Kizashi.open(db_url)
    runtime = open_runtime(settings, kz)
    feed = runtime.feeds.add(SYSTEM, server.url("/items/1000"), interval_seconds=3600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZASHI_")} | {
        "KIZASHI_DATA_DIR": str(settings.data_dir),
        "KIZASHI_DATABASE_URL": db_url,
        "KIZASHI_QUEUE_NAME": settings.queue_name,
        "KIZASHI_FETCH_ALLOW": "127.0.0.1/32",
        "KIZASHI_SCHEDULE_SECONDS": "1",
        "KIZASHI_POLL_LEASE_SECONDS": "2",
        "KIZASHI_WORKERS": "1",
    }
    if queue_url:
        env["KIZASHI_QUEUE_URL"] = queue_url
    log = (tmp_path / "worker.log").open("wb")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "kizashi", "worker"], env=env, stdout=log, stderr=log
        )

    first = start()
    try:
        wait_for(lambda: report_count(kz) >= 100, what="the first 100 reports")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        partial = report_count(kz)
        assert 100 <= partial < 1000, partial
        second = start()
        try:
            wait_for(
                lambda: runtime.feeds.get(SYSTEM, feed.id).last_success_at is not None,
                timeout=180,
                what="the poll to finish after the restart",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
        jobs = Jobs(settings)
        jobs.huey.flush()
        jobs.close()
    with kz.store.read() as conn:
        reports = conn.execute(
            sa.text("SELECT count(*) FROM objects WHERE type = 'report'")
        ).scalar_one()
        items = conn.execute(sa.text("SELECT count(*), count(DISTINCT guid) FROM feed_items")).one()
    assert reports == 1000
    assert tuple(items) == (1000, 1000)
    state = runtime.feeds.get(SYSTEM, feed.id)
    assert state.items_stored == 1000 - partial
    runtime.close()


def test_queued_jobs_survive_a_restart(tmp_path: Path, db_url: str, server: FeedServer) -> None:
    """The embedded queue is a file: a poll queued before a restart runs after it."""
    settings = settings_for(tmp_path, db_url, None)
    runtime = open_runtime(settings)
    feed = runtime.feeds.add(SYSTEM, server.url("/items/7"), enabled=False)
    before = Jobs(settings, runtime=lambda: runtime)
    before.enqueue_poll(feed.id)
    before.huey.storage.close()  # the server goes away with the job still queued
    assert report_count(runtime.kz) == 0
    after = Jobs(settings, runtime=lambda: runtime)
    assert after.huey.pending_count() == 1
    consumer = after.consumer()
    consumer.start()
    try:
        wait_for(lambda: report_count(runtime.kz) == 7, what="the queued poll")
    finally:
        consumer.stop(graceful=True)
        after.close()


def test_kizashi_run_polls_feeds_with_its_own_workers(tmp_path: Path, server: FeedServer) -> None:
    """`make run`'s server: a feed added through the API is polled by the threads inside it."""
    import json
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZASHI_")} | {
        "KIZASHI_DATA_DIR": str(tmp_path / "data"),
        "KIZASHI_PORT": str(port),
        "KIZASHI_ADMIN_PASSWORD": "admin-password",
        "KIZASHI_FETCH_ALLOW": "127.0.0.1/32",
        "KIZASHI_SCHEDULE_SECONDS": "1",
    }
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kizashi", "run"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(base + "/login", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, what="the server")
        made = subprocess.run(
            [sys.executable, "-m", "kizashi", "token", "create", "--user", "admin", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        auth = {"Authorization": "Bearer " + json.loads(made.stdout)["token"]}
        with httpx.Client(base_url=base, headers=auth, timeout=10) as api:
            feed = api.post("/api/v1/feeds", json={"url": server.url("/items/12")}).json()

            def stored() -> bool:
                return api.get(f"/api/v1/feeds/{feed['id']}").json()["items_stored"] == 12

            wait_for(stored, what="the scheduler and a worker thread to poll the feed")
            reports = api.get("/api/v1/objects", params={"type": "report", "limit": 50}).json()
            assert len(reports["items"]) == 12
            # "Poll now" is queued for the same workers (202), not done in the request.
            assert api.post(f"/api/v1/feeds/{feed['id']}/poll").status_code == 202
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()
