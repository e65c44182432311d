"""The job queue: one code path, embedded (SQLite file) or scaled out (Redis).

``kizashi run`` consumes jobs with threads inside the server; ``kizashi worker``
processes consume the same queue from any number of machines when it lives in Redis
(``KIZASHI_QUEUE_URL=redis://…``). The scheduler job may run in several consumers:
it takes a queue-wide lock, and each feed is claimed in the database with a
compare-and-set, so a feed is polled once per interval however many schedulers run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer, Scheduler
from huey.exceptions import TaskLockedException

from kizashi.config import Settings
from kizashi.ingest.feeds import FeedService
from kizashi.ingest.fetch import Fetcher, FetchLimits
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from kizashi.jobs.serializer import JsonSerializer
from kizashi.services import Kizashi
from kizashi.store.files import private_file

log = logging.getLogger(__name__)


def make_huey(settings: Settings) -> Huey:
    common: dict[str, Any] = {"results": False, "serializer": JsonSerializer(), "utc": True}
    url = settings.queue_url
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"KIZASHI_QUEUE_URL must be a redis:// URL, not {url!r}")
        return RedisHuey(settings.queue_name, url=url, **common)
    path = private_file(settings.ensure_data_dir() / "queue.db")
    return SqliteHuey(settings.queue_name, filename=str(path), **common)


def make_fetcher(settings: Settings) -> Fetcher:
    policy = AddressPolicy(parse_allowlist(settings.fetch_allow))
    limits = FetchLimits(
        max_bytes=settings.fetch_max_bytes,
        total_timeout=settings.fetch_timeout,
        connect_timeout=settings.fetch_connect_timeout,
    )
    return Fetcher(policy, limits)


@dataclass
class Runtime:
    """What jobs work with, opened once per process."""

    kz: Kizashi
    feeds: FeedService

    def close(self) -> None:
        self.feeds.fetcher.close()
        self.kz.close()


def open_runtime(settings: Settings, kz: Kizashi | None = None) -> Runtime:
    if kz is None:
        settings.ensure_data_dir()
        kz = Kizashi.open(settings.resolved_database_url, **settings.store_options())
    feeds = FeedService(kz, make_fetcher(settings), lease_seconds=settings.poll_lease_seconds)
    return Runtime(kz, feeds)


class Jobs:
    """The queue and the jobs on it, registered explicitly on one Huey instance."""

    def __init__(self, settings: Settings, runtime: Callable[[], Runtime] | None = None) -> None:
        self.settings = settings
        self.huey = make_huey(settings)
        self._make_runtime = runtime or (lambda: open_runtime(settings))
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()
        self.poll_feed = self.huey.task(name="kizashi.poll_feed")(self._poll_feed)
        self.run_digest = self.huey.task(name="kizashi.run_digest")(self._run_digest)
        self.schedule = self.huey.periodic_task(_always, name="kizashi.schedule")(self._schedule)

    def runtime(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                self._runtime = self._make_runtime()
            return self._runtime

    def close(self) -> None:
        with self._lock:
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None
        self.huey.storage.close()

    # -- the jobs ---------------------------------------------------------------------
    def _poll_feed(self, feed_id: int) -> None:
        result = self.runtime().feeds.poll(feed_id)
        log.info("polled feed %s: %s", feed_id, result.as_dict())

    def _run_digest(self, digest_pk: int) -> None:
        job = self.runtime().kz.digests.run_claimed(digest_pk)
        log.info("digest %s: %s", digest_pk, job.status if job else "gone")

    def _schedule(self) -> None:
        try:
            with self.huey.lock_task("kizashi.schedule"):
                self.schedule_due()
        except TaskLockedException:
            log.debug("another scheduler is running")

    def schedule_due(self) -> list[int]:
        """Claim every due feed and digest; put one job per feed (a poll) and per digest
        (a summary) on the queue. Returns the feeds."""
        runtime = self.runtime()
        claimed = runtime.feeds.claim_due()
        for feed_id in claimed:
            self.poll_feed(feed_id)
        for digest_pk in runtime.kz.digests.claim_due():
            self.run_digest(digest_pk)
        return claimed

    def enqueue_poll(self, feed_id: int) -> None:
        self.poll_feed(feed_id)

    # -- consumers --------------------------------------------------------------------
    def consumer(self, workers: int | None = None) -> Consumer:
        period = max(1, self.settings.schedule_seconds)

        class _Scheduler(Scheduler):  # type: ignore[misc]
            periodic_task_seconds = period

        class _Consumer(Consumer):  # type: ignore[misc]
            scheduler_class = _Scheduler

        return _Consumer(
            self.huey,
            workers=workers or max(1, self.settings.workers),
            worker_type="thread",
            scheduler_interval=min(period, 60),
            periodic=True,
            check_worker_health=True,
        )


def _always(_when: Any) -> bool:
    return True
