"""Polling one feed: fetch, parse, the item pipeline in batches, and the feed's state after.

Also the scheduler's claim on due feeds. A poll's ETag and Last-Modified are saved only
when it finishes, and it renews a lease on its feed after every batch, so a poll that
dies is taken over and redone once the lease runs out; its items dedupe.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from kizashi.ingest.fetch import Fetcher, FetchError, FetchResult, redact_url
from kizashi.ingest.mispfeed import poll_misp
from kizashi.ingest.outcomes import OUTCOME_NAMES, Rejected
from kizashi.ingest.parse import ParseError, parse_feed
from kizashi.ingest.pipeline import ItemPipeline
from kizashi.ingest.schedule import next_poll
from kizashi.model.stix import format_timestamp
from kizashi.services import Kizashi
from kizashi.store import feeds as repo
from kizashi.store.feeds import FeedRow

log = logging.getLogger(__name__)

#: Items written per transaction; after each batch a long poll says it is still alive,
#: so no scheduler takes it over.
RENEW_EVERY = 50
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, */*;q=0.8"
)


@dataclass
class PollResult:
    feed_id: int
    title: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOME_NAMES.values(), 0))
    error: str | None = None
    not_modified: bool = False
    rejections: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feed_id": self.feed_id,
            "title": self.title,
            **self.counts,
            "not_modified": self.not_modified,
            "error": self.error,
            "rejections": self.rejections,
        }


class Poller:
    def __init__(
        self, kz: Kizashi, fetcher: Fetcher, *, lease: timedelta, rng: random.Random
    ) -> None:
        self.kz = kz
        self.fetcher = fetcher
        self.clock = kz.ctx.clock
        self.lease = lease
        self.rng = rng
        self.pipeline = ItemPipeline(kz, fetcher, self.clock)

    # -- scheduling -------------------------------------------------------------------
    def claim_due(self, limit: int = 100) -> list[int]:
        """Feeds to poll now, each claimed once however many schedulers ask."""
        now = self.clock()
        stamp = format_timestamp(now)
        stale = format_timestamp(now - self.lease)
        provisional = format_timestamp(now + self.lease)
        claimed = []
        with self.kz.store.begin() as conn:
            for row in repo.due(conn, stamp, stale, limit):
                if repo.claim(conn, row, {"next_poll_at": provisional, "polling_since": None}):
                    claimed.append(row.pk)
        return claimed

    # -- polling ----------------------------------------------------------------------
    def poll(
        self, row: FeedRow, *, progress: Callable[[int, int], None] | None = None
    ) -> PollResult:
        """Fetch, parse and store one feed now; the feed's state records how it went."""
        try:
            return self._poll(row, progress)
        except Exception as exc:
            # A bug must not leave the feed looking busy for ever, nor kill the worker.
            log.exception("feed %s: poll failed", row.pk)
            message = f"internal error ({type(exc).__name__}); see the server log"
            result = PollResult(row.pk, row.title)
            return self.record_failure(row, result, "internal", message, None, None)

    def _poll(self, row: FeedRow, progress: Callable[[int, int], None] | None) -> PollResult:
        result = PollResult(row.pk, row.title)
        started = self.clock()
        with self.kz.store.begin() as conn:
            repo.update(
                conn,
                row.pk,
                {
                    "polling_since": format_timestamp(started),
                    "last_polled_at": format_timestamp(started),
                },
            )
        if row.kind == "misp":
            return poll_misp(self, row, result, progress)
        fetched = self.fetch_changed(row, result, row.url, FEED_ACCEPT)
        if fetched is None:
            return result
        try:
            parsed = parse_feed(fetched.body, content_type=fetched.content_type, url=fetched.url)
        except ParseError as exc:
            message = f"not a feed: {exc}"
            return self.record_failure(row, result, "not_feed", message, fetched.status, None)
        auto_title = row.title == (urlsplit(row.url).hostname or row.url)
        if auto_title and parsed.title.strip():
            # Before the items: their reports name the source by this title.
            row = dataclasses.replace(row, title=parsed.title.strip()[:500])
            result.title = row.title
            with self.kz.store.begin() as conn:
                repo.update(conn, row.pk, {"title": row.title})
        total = len(parsed.entries)
        done = 0
        for start in range(0, total, RENEW_EVERY):
            batch = parsed.entries[start : start + RENEW_EVERY]
            for entry, outcome in zip(batch, self.pipeline.process_batch(row, batch), strict=True):
                result.counts[OUTCOME_NAMES[type(outcome)]] += 1
                if isinstance(outcome, Rejected) and len(result.rejections) < 20:
                    result.rejections.append(f"{entry.guid}: {outcome.reason}")
            done += len(batch)
            if done < total:
                self.renew_lease(row.pk)
            if progress is not None:
                progress(done, total)
        self.record_success(
            row,
            fetched.status,
            fetched.etag,
            fetched.last_modified,
            seen=total,
            stored=result.counts["stored"],
            site=parsed.link,
        )
        return result

    def fetch_changed(
        self, row: FeedRow, result: PollResult, url: str, accept: str
    ) -> FetchResult | None:
        """``url`` fetched with the feed's validators and headers; None when the poll is
        settled already: a failure recorded (``result.error``) or nothing changed since
        the last poll (``result.not_modified``, recorded as a success)."""
        try:
            fetched = self.fetcher.get(
                url,
                etag=row.etag,
                last_modified=row.last_modified,
                headers=json.loads(row.headers),
                accept=accept,
            )
        except FetchError as exc:
            self.record_failure(row, result, exc.kind, exc.message, exc.status, exc.retry_after)
            return None
        if fetched.not_modified:
            result.not_modified = True
            self.record_success(row, 304, None, None, seen=0, stored=0)
            return None
        return fetched

    # -- the poll state, as every kind of feed records it (RSS here, MISP in mispfeed.py)
    def renew_lease(self, feed_pk: int) -> None:
        """Keep this poll's claim on the feed: a long poll is not taken for a dead one."""
        now = self.clock()
        with self.kz.store.begin() as conn:
            repo.update(
                conn,
                feed_pk,
                {
                    "polling_since": format_timestamp(now),
                    "next_poll_at": format_timestamp(now + self.lease),
                },
            )

    def record_failure(
        self,
        row: FeedRow,
        result: PollResult,
        kind: str,
        message: str,
        status: int | None,
        retry_after: float | None,
    ) -> PollResult:
        """The poll failed: the error (its kind, for a page to say in the reader's
        language, and its details) is kept and the next poll backs off."""
        failures = row.consecutive_failures + 1
        when = next_poll(
            self.clock(),
            row.interval_seconds,
            failures=failures,
            retry_after=retry_after,
            rng=self.rng,
        )
        with self.kz.store.begin() as conn:
            repo.update(
                conn,
                row.pk,
                {
                    "polling_since": None,
                    "last_status": status,
                    "last_error": message[:2000],
                    "last_error_kind": kind,
                    "consecutive_failures": failures,
                    "next_poll_at": format_timestamp(when),
                },
            )
        log.info("feed %s (%s) failed: %s", row.pk, redact_url(row.url), message)
        result.error = message
        return result

    def record_success(
        self,
        row: FeedRow,
        status: int,
        etag: str | None,
        last_modified: str | None,
        *,
        seen: int,
        stored: int,
        site: str | None = None,
    ) -> None:
        """The poll succeeded: the validators and counts are kept, the next poll is due
        after the feed's interval."""
        now = self.clock()
        values: dict[str, Any] = {
            "polling_since": None,
            "last_success_at": format_timestamp(now),
            "last_status": status,
            "last_error": None,
            "last_error_kind": None,
            "consecutive_failures": 0,
            "next_poll_at": format_timestamp(next_poll(now, row.interval_seconds, rng=self.rng)),
        }
        if status != 304:
            # Saved only now: a poll that died half-way sends no validators and is redone.
            values.update(etag=etag, last_modified=last_modified)
        if site and not row.site_url:
            values["site_url"] = site[:2000]
        with self.kz.store.begin() as conn:
            repo.update(conn, row.pk, values)
            repo.increment(conn, row.pk, seen=seen, stored=stored)
