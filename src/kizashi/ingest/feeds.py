"""Feeds: a row each (URL, interval, tags, TLP, headers…), polled by one generic poller.

This module holds the subscriptions; ``poller.py`` polls them.
"""

from __future__ import annotations

import builtins
import json
import logging
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from kizashi.ingest.fetch import Fetcher, redact_url
from kizashi.ingest.opml import Subscription
from kizashi.ingest.poller import Poller, PollResult
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import KIZASHI_NAMESPACE, SYSTEM, Actor
from kizashi.model.errors import KizashiError, Problem, conflict, invalid, not_found, problem
from kizashi.model.stix import format_timestamp
from kizashi.services import Kizashi
from kizashi.store import feeds as repo
from kizashi.store import objects as object_repo
from kizashi.store.feeds import FeedRow

log = logging.getLogger(__name__)

MIN_INTERVAL = 60
MAX_INTERVAL = 7 * 24 * 3600
DEFAULT_INTERVAL = 1800
#: What a feed URL serves: a news feed, or a MISP feed of events.
FEED_KINDS = ("rss", "misp")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class FeedView:
    id: int
    url: str
    title: str
    site_url: str | None
    enabled: bool
    interval_seconds: int
    full_text: bool
    tags: list[str]
    tlp: str | None
    language: str | None
    header_names: list[str]
    identity_id: str
    created_at: str
    last_polled_at: str | None
    last_success_at: str | None
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: str | None
    polling: bool
    items_seen: int
    items_stored: int
    kind: str = "rss"
    #: refused, timeout, too_large, redirects, throttled, http, network, bad_url (the
    #: fetcher's), not_feed, not_misp_feed, internal; None before migration 0019.
    last_error_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The feed for callers: header values are secrets and never leave the store."""
        return dict(self.__dict__)


def _view(row: FeedRow) -> FeedView:
    return FeedView(
        id=row.pk,
        # A password in the URL is a secret like the headers: never shown again.
        url=redact_url(row.url),
        title=row.title,
        site_url=row.site_url,
        enabled=row.enabled,
        interval_seconds=row.interval_seconds,
        full_text=row.full_text,
        tags=json.loads(row.default_tags),
        tlp=row.tlp,
        language=row.language,
        header_names=sorted(json.loads(row.headers)),
        identity_id=row.identity_id,
        created_at=row.created_at,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        last_status=row.last_status,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        next_poll_at=row.next_poll_at,
        polling=row.polling_since is not None,
        items_seen=row.items_seen,
        items_stored=row.items_stored,
        kind=row.kind,
        last_error_kind=row.last_error_kind,
    )


@dataclass
class ImportReport:
    added: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "skipped": self.skipped, "problems": self.problems}


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(
            "A feed URL starts with http:// or https:// and names a host.", [Problem("url", url)]
        )
    return url


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    problems = []
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.match(name) or name.lower() in _FORBIDDEN_HEADERS:
            problems.append(Problem(f"headers.{name}", "not a header a feed request may set"))
        elif not isinstance(value, str) or "\r" in value or "\n" in value or len(value) > 4096:
            problems.append(Problem(f"headers.{name}", "a single line of at most 4096 characters"))
        else:
            out[name] = value
    if problems:
        raise invalid("Some request headers cannot be used.", problems)
    return out


class FeedService:
    def __init__(
        self,
        kz: Kizashi,
        fetcher: Fetcher,
        *,
        lease_seconds: int = 900,
        rng: random.Random | None = None,
    ) -> None:
        self.kz = kz
        self.fetcher = fetcher
        self.clock = kz.ctx.clock
        self.lease = timedelta(seconds=lease_seconds)
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self.poller = Poller(kz, fetcher, lease=self.lease, rng=self.rng)

    # -- the feeds themselves ---------------------------------------------------------
    def add(
        self,
        actor: Actor,
        url: str,
        *,
        title: str | None = None,
        enabled: bool = True,
        interval_seconds: int = DEFAULT_INTERVAL,
        full_text: bool = False,
        tags: Sequence[str] = (),
        tlp: str | None = None,
        language: str | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str = "rss",
    ) -> FeedView:
        """Subscribe to ``url``: an RSS, Atom, RDF or JSON feed (``kind`` "rss"), or a
        MISP feed's directory (``kind`` "misp": ``manifest.json`` and an event file per
        event, imported as MISP events)."""
        actor.require_write()
        url = check_url(url)
        if kind not in FEED_KINDS:
            raise invalid(
                "%(kind)r is not a kind of feed: rss or misp.",
                [Problem("kind", "rss or misp")],
                kind=kind,
            )
        values = self._checked(
            interval_seconds=interval_seconds,
            tags=tags,
            tlp=tlp,
            language=language,
            headers=headers,
        )
        identity = f"identity--{uuid.uuid5(KIZASHI_NAMESPACE, 'feed:' + url)}"
        stamp = format_timestamp(self.clock())
        with self.kz.store.begin() as conn:
            if repo.by_url(conn, url) is not None:
                raise conflict("The feed %(url)s is already subscribed.", url=url)
            self.kz.tags.parse(conn, values["tags"])
            name = (title or "").strip() or (urlsplit(url).hostname or url)
            if not self._exists(conn, identity):
                self.kz.objects.create_in(
                    conn,
                    SYSTEM,
                    {
                        "type": "identity",
                        "id": identity,
                        "name": name,
                        "identity_class": "organization",
                        "description": f"News source: {url}",
                    },
                )
            pk = repo.insert(
                conn,
                {
                    "url": url,
                    "title": name,
                    "enabled": enabled,
                    "interval_seconds": values["interval_seconds"],
                    "full_text": full_text,
                    "default_tags": json.dumps(values["tags"], ensure_ascii=False),
                    "tlp": values["tlp"],
                    "language": values["language"],
                    "headers": json.dumps(values["headers"], ensure_ascii=False),
                    "identity_id": identity,
                    "created_at": stamp,
                    "created_by": actor.user_pk,
                    "next_poll_at": stamp,
                    "kind": kind,
                },
            )
            self.kz.ctx.audit(conn, actor, "feed.add", url)
            row = repo.get(conn, pk)
            assert row is not None
            return _view(row)

    def _exists(self, conn: Any, stix_id: str) -> bool:
        return object_repo.get(conn, stix_id) is not None

    def _checked(self, **given: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        problems = []
        if "interval_seconds" in given:
            n = given["interval_seconds"]
            if not isinstance(n, int) or not MIN_INTERVAL <= n <= MAX_INTERVAL:
                problems.append(
                    problem(
                        "interval_seconds",
                        "from %(low)s to %(high)s seconds",
                        low=MIN_INTERVAL,
                        high=MAX_INTERVAL,
                    )
                )
            out["interval_seconds"] = n
        if "tags" in given:
            out["tags"] = [t for t in given["tags"] or [] if t.strip()]
        if "tlp" in given:
            raw = given["tlp"]
            level = tlp_model.normalise(raw) if raw else None
            if raw and level is None:
                problems.append(Problem("tlp", "clear, green, amber, amber+strict or red"))
            out["tlp"] = level
        if "language" in given:
            lang = (given["language"] or "").strip().lower() or None
            if lang and not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", lang):
                problems.append(Problem("language", "a language code such as ja or en"))
            out["language"] = lang
        if "headers" in given:
            try:
                out["headers"] = check_headers(given["headers"])
            except KizashiError as exc:
                problems.extend(exc.problems)
        if problems:
            raise invalid("The feed settings have problems.", problems)
        return out

    def subscribe_all(
        self, actor: Actor, subscriptions: Sequence[Subscription], *, full_text: bool = False
    ) -> ImportReport:
        """Subscribe to each (an OPML import); ones already here are skipped, not errors."""
        actor.require_write()
        report = ImportReport()
        for sub in subscriptions:
            try:
                report.added.append(
                    self.add(actor, sub.url, title=sub.title, full_text=full_text).id
                )
            except KizashiError as exc:
                target = report.skipped if exc.code == "conflict" else report.problems
                target.append(f"{sub.url}: {exc.message}")
        return report

    def list(self, _actor: Actor) -> list[FeedView]:
        with self.kz.store.read() as conn:
            return [_view(r) for r in repo.list_all(conn)]

    def get(self, _actor: Actor, feed_id: int) -> FeedView:
        return _view(self._row(feed_id))

    def _row(self, feed_id: int) -> FeedRow:
        with self.kz.store.read() as conn:
            row = repo.get(conn, feed_id)
        if row is None:
            raise not_found("Feed %(feed_id)s was not found.", feed_id=feed_id)
        return row

    def update(self, actor: Actor, feed_id: int, **changes: Any) -> FeedView:
        """Change settings (title, enabled, interval, full text, tags, TLP, language, headers)."""
        actor.require_write()
        allowed = {
            "title",
            "enabled",
            "interval_seconds",
            "full_text",
            "tags",
            "tlp",
            "language",
            "headers",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise invalid(
                "Unknown feed settings.",
                [Problem(k, "not a feed setting") for k in sorted(unknown)],
            )
        checked = self._checked(
            **{
                k: v
                for k, v in changes.items()
                if k in {"interval_seconds", "tags", "tlp", "language", "headers"}
            }
        )
        values: dict[str, Any] = {}
        if "title" in changes and changes["title"] is not None:
            title = str(changes["title"]).strip()
            if not title:
                raise invalid("A feed needs a title.", [Problem("title", "empty")])
            values["title"] = title
        for key in ("enabled", "full_text"):
            if changes.get(key) is not None:
                values[key] = bool(changes[key])
        for key in ("interval_seconds", "tlp", "language"):
            if key in checked:
                values[key] = checked[key]
        if "tags" in checked:
            values["default_tags"] = json.dumps(checked["tags"], ensure_ascii=False)
        if "headers" in checked:
            values["headers"] = json.dumps(checked["headers"], ensure_ascii=False)
        with self.kz.store.begin() as conn:
            if repo.get(conn, feed_id) is None:
                raise not_found("Feed %(feed_id)s was not found.", feed_id=feed_id)
            if "tags" in checked:
                self.kz.tags.parse(conn, checked["tags"])
            if values.get("enabled"):
                values["next_poll_at"] = format_timestamp(self.clock())
            if values:
                repo.update(conn, feed_id, values)
            self.kz.ctx.audit(conn, actor, "feed.update", str(feed_id), ", ".join(sorted(values)))
            row = repo.get(conn, feed_id)
            assert row is not None
            return _view(row)

    def remove(self, actor: Actor, feed_id: int) -> None:
        """Unsubscribe; the reports it brought stay."""
        actor.require_write()
        with self.kz.store.begin() as conn:
            row = repo.get(conn, feed_id)
            if row is None:
                raise not_found("Feed %(feed_id)s was not found.", feed_id=feed_id)
            repo.delete(conn, feed_id)
            self.kz.ctx.audit(conn, actor, "feed.remove", row.url)

    def items(self, _actor: Actor, feed_id: int, limit: int = 50) -> builtins.list[dict[str, Any]]:
        self._row(feed_id)
        with self.kz.store.read() as conn:
            rows = repo.items_of(conn, feed_id, limit)
            return [
                {
                    "guid": r.guid,
                    "url": r.url,
                    "report_id": object_repo.id_of(conn, r.object_pk),
                    "first_seen": r.first_seen,
                    "last_seen": r.last_seen,
                }
                for r in rows
            ]

    def article(self, _actor: Actor, object_id: str) -> dict[str, Any] | None:
        """The stored article behind a report (display HTML, feeds), or None."""
        with self.kz.store.read() as conn:
            row = object_repo.get(conn, object_id)
            if row is None:
                return None
            content = repo.content_of(conn, row.pk)
            sources = repo.feeds_of_object(conn, row.pk)
        if content is None and not sources:
            return None
        return {
            "html": content.html if content is not None else None,
            "extraction_error": content.extraction_error if content is not None else None,
            "fetched_at": content.fetched_at if content is not None else None,
            "feeds": [{"id": pk, "title": title} for pk, title in sources],
        }

    # -- polling (ingest/poller.py) ----------------------------------------------------
    def claim_due(self, limit: int = 100) -> builtins.list[int]:
        """Feeds to poll now, each claimed once however many schedulers ask."""
        return self.poller.claim_due(limit)

    def poll(
        self, feed_id: int, *, progress: Callable[[int, int], None] | None = None
    ) -> PollResult:
        """Fetch, parse and store one feed now; the feed's state records how it went."""
        return self.poller.poll(self._row(feed_id), progress=progress)
