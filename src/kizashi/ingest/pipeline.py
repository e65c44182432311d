"""One feed item through one ordered pipeline: normalise → dedupe → full text → store.

Each item is its own transaction: the report, the dedupe record and the article's
content are written together or not at all, so a crash or a second worker can never
leave half an item or store one twice (``feed_items`` is unique per feed and GUID).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from kizashi.ingest.fetch import Fetcher, FetchError
from kizashi.ingest.fulltext import ExtractionError, compress, extract
from kizashi.ingest.normalise import MIN_HASH_EVIDENCE, Article, canonical_url, to_article
from kizashi.ingest.outcomes import Duplicate, Outcome, Rejected, Stored, Updated
from kizashi.ingest.parse import Entry
from kizashi.model.actor import SYSTEM
from kizashi.model.article import article_properties
from kizashi.model.errors import KizashiError
from kizashi.model.stix import format_timestamp
from kizashi.services import Kizashi
from kizashi.store import feeds as repo
from kizashi.store import objects as object_repo
from kizashi.store.feeds import FeedRow, ItemRow

log = logging.getLogger(__name__)
#: A report's description holds the article's text up to this many characters.
MAX_TEXT = 200_000


@dataclass
class FullText:
    text: str | None = None
    html: str | None = None
    raw: bytes | None = None
    author: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    published: str | None = None
    status: str = "feed"
    error: str | None = None


class ItemPipeline:
    def __init__(self, kz: Kizashi, fetcher: Fetcher, clock: Callable[[], datetime]) -> None:
        self.kz = kz
        self.fetcher = fetcher
        self.clock = clock

    def process_batch(self, feed: FeedRow, entries: Sequence[Entry]) -> list[Outcome]:
        """Outcomes for several entries, new ones written together in one transaction.

        The common case (many new items, or many already seen) costs one look-up and
        one write for the batch. Anything unusual in it (a changed article, the same
        item twice in the batch, a conflicting write) goes through :meth:`process`,
        one item at a time, with the same results.
        """
        try:
            return self._batch(feed, entries)
        except (IntegrityError, KizashiError):
            log.info("feed %s: batch fell back to one item at a time", feed.pk)
        except Exception:
            log.exception("feed %s: batch failed; one item at a time", feed.pk)
        return [self.process(feed, e) for e in entries]

    def _batch(self, feed: FeedRow, entries: Sequence[Entry]) -> list[Outcome]:
        stamp = format_timestamp(self.clock())
        articles = [to_article(e, feed_language=feed.language) for e in entries]
        guids = [a.guid for a in articles]
        urls = [a.canonical_url for a in articles if a.canonical_url]
        hashes = [a.content_hash for a in articles]
        if (
            len(set(guids)) < len(guids)
            or len(set(urls)) < len(urls)
            or len(set(hashes)) < len(hashes)
        ):
            raise KizashiError("the batch repeats an item", "batch")
        with self.kz.store.read() as conn:
            mine = repo.items_by_guids(conn, feed.pk, guids)
            by_url = repo.items_by_urls(conn, urls) if urls else {}
            by_hash = repo.items_by_hashes(conn, hashes)
        outcomes: dict[int, Outcome] = {}
        seen: list[tuple[int, ItemRow]] = []  # same item, same content
        linked: list[tuple[int, int]] = []  # another item's report: (position, object pk)
        fresh: list[int] = []
        for i, (entry, article) in enumerate(zip(entries, articles, strict=True)):
            item = mine.get(article.guid)
            if not (entry.title.strip() or article.text or article.url):
                outcomes[i] = Rejected("the item has no title, link or text")
            elif item is not None and item.content_hash != article.content_hash:
                outcomes[i] = self.process(feed, entry)  # changed: a new version
            elif item is not None:
                seen.append((i, item))
            elif (other := self._elsewhere(article, by_url, by_hash)) is not None:
                linked.append((i, other.object_pk))
            else:
                fresh.append(i)
        full = {i: self._full_text(feed, articles[i]) for i in fresh}
        raws = [self._report(feed, articles[i], full[i]) for i in fresh]
        tags = [*json.loads(feed.default_tags), *([f"tlp:{feed.tlp}"] if feed.tlp else [])]
        with self.kz.store.begin() as conn:
            pks: dict[str, int] = {}
            if raws:
                pks = self.kz.objects.create_many_in(
                    conn, SYSTEM, raws, tags=tags, extract=True
                ).pks
            new = [(i, raw["id"], pks[raw["id"]]) for i, raw in zip(fresh, raws, strict=True)]
            repo.add_items(
                conn,
                [self._item_values(feed, articles[i], pk, stamp) for i, _, pk in new]
                + [self._item_values(feed, articles[i], pk, stamp) for i, pk in linked],
            )
            repo.add_contents(
                conn, [c for i, _, pk in new if (c := self._content_row(pk, full[i], stamp))]
            )
            repo.touch_items(conn, [item.pk for _, item in seen], stamp)
            names = object_repo.ids_of(
                conn, [it.object_pk for _, it in seen] + [pk for _, pk in linked]
            )
        outcomes.update((i, Stored(report_id)) for i, report_id, _ in new)
        outcomes.update((i, Duplicate(names[item.object_pk])) for i, item in seen)
        outcomes.update((i, Duplicate(names[pk])) for i, pk in linked)
        return [outcomes[i] for i in range(len(entries))]

    def _elsewhere(
        self, article: Article, by_url: dict[str, ItemRow], by_hash: dict[str, ItemRow]
    ) -> ItemRow | None:
        """The same article seen under another GUID or in another feed."""
        if article.canonical_url and article.canonical_url in by_url:
            return by_url[article.canonical_url]
        return by_hash.get(article.content_hash) if self._substantial(article) else None

    @staticmethod
    def _substantial(article: Article) -> bool:
        """A matching hash is evidence only with a body and enough text."""
        return (
            bool(article.text.strip())
            and len(article.title) + len(article.text) >= MIN_HASH_EVIDENCE
        )

    def process(self, feed: FeedRow, entry: Entry) -> Outcome:
        """The outcome for one entry; never raises for a bad item."""
        try:
            return self._process(feed, entry)
        except KizashiError as exc:
            return Rejected(str(exc))
        except Exception as exc:
            log.exception("feed %s: item %r failed", feed.pk, entry.guid)
            return Rejected(f"internal error ({type(exc).__name__}); see the server log")

    def _process(self, feed: FeedRow, entry: Entry) -> Outcome:
        now = self.clock()
        article = to_article(entry, feed_language=feed.language)
        if not (entry.title.strip() or article.text or article.url):
            return Rejected("the item has no title, link or text")
        stamp = format_timestamp(now)
        with self.kz.store.read() as conn:
            mine = repo.item_by_guid(conn, feed.pk, article.guid)
            substantial = self._substantial(article)
            other = (
                None
                if mine
                else repo.item_by_url_or_hash(
                    conn, article.canonical_url, article.content_hash if substantial else None
                )
            )
        if mine is not None and mine.content_hash == article.content_hash:
            return self._seen(mine.pk, mine.object_pk, stamp)
        if mine is None and other is not None:
            return self._also_in(feed, article, other.object_pk, stamp)
        full = self._full_text(feed, article)
        if mine is not None:
            return self._update(feed, article, full, mine.pk, mine.object_pk, stamp)
        return self._store(feed, article, full, stamp)

    # -- outcomes -------------------------------------------------------------------
    def _seen(self, item_pk: int, object_pk: int, stamp: str) -> Outcome:
        with self.kz.store.begin() as conn:
            repo.update_item(conn, item_pk, {"last_seen": stamp})
            return Duplicate(self._id_of(conn, object_pk))

    def _also_in(self, feed: FeedRow, article: Article, object_pk: int, stamp: str) -> Outcome:
        """The same article under another GUID or in another feed: remember, do not copy."""
        try:
            with self.kz.store.begin() as conn:
                repo.add_item(conn, self._item_values(feed, article, object_pk, stamp))
                return Duplicate(self._id_of(conn, object_pk))
        except IntegrityError:
            return self._raced(feed, article)

    def _store(self, feed: FeedRow, article: Article, full: FullText, stamp: str) -> Outcome:
        raw = self._report(feed, article, full)
        try:
            with self.kz.store.begin() as conn:
                view, _ = self.kz.objects.create_in(
                    conn, SYSTEM, raw, tags=json.loads(feed.default_tags), tlp=feed.tlp
                )
                row = object_repo.get(conn, view.id)
                assert row is not None
                repo.add_item(conn, self._item_values(feed, article, row.pk, stamp))
                self._save_content(conn, row.pk, full, stamp)
                return Stored(view.id)
        except IntegrityError:
            return self._raced(feed, article)

    def _update(
        self,
        feed: FeedRow,
        article: Article,
        full: FullText,
        item_pk: int,
        object_pk: int,
        stamp: str,
    ) -> Outcome:
        raw = self._report(feed, article, full)
        changes = {
            k: raw.get(k)
            for k in (
                "name",
                "description",
                "published",
                "lang",
                "external_references",
                "extensions",
            )
        }
        with self.kz.store.begin() as conn:
            report_id = self._id_of(conn, object_pk)
            row = object_repo.get(conn, report_id)
            if row is None or row.revoked:
                # An analyst revoked it: a changed copy in the feed does not bring it back.
                repo.update_item(
                    conn, item_pk, {"last_seen": stamp, "content_hash": article.content_hash}
                )
                return Duplicate(report_id)
            self.kz.objects.update_in(conn, SYSTEM, report_id, changes)
            repo.update_item(
                conn, item_pk, {"last_seen": stamp, "content_hash": article.content_hash}
            )
            self._save_content(conn, object_pk, full, stamp)
            return Updated(report_id)

    def _raced(self, feed: FeedRow, article: Article) -> Outcome:
        """Another worker stored this item between our check and our write."""
        with self.kz.store.read() as conn:
            mine = repo.item_by_guid(conn, feed.pk, article.guid)
            if mine is None:
                return Rejected(
                    "the item could not be recorded (a conflicting write); it is retried next poll"
                )
            return Duplicate(self._id_of(conn, mine.object_pk))

    # -- pieces ---------------------------------------------------------------------
    def _full_text(self, feed: FeedRow, article: Article) -> FullText:
        if not feed.full_text or not article.url:
            return FullText()
        try:
            page = self.fetcher.get(article.url, accept="text/html,application/xhtml+xml")
        except FetchError as exc:
            return FullText(status="failed", error=f"fetching the article failed: {exc.message}")
        try:
            found = extract(page.body, page.url)
        except ExtractionError as exc:
            return FullText(raw=page.body, status="failed", error=str(exc))
        return FullText(
            text=found.text,
            html=found.html,
            raw=page.body,
            author=found.author,
            canonical_url=found.canonical_url or canonical_url(page.url),
            language=found.language,
            published=found.published,
            status="extracted",
        )

    def _report(self, feed: FeedRow, article: Article, full: FullText) -> dict[str, Any]:
        text = (full.text or article.text or article.summary or article.title)[:MAX_TEXT]
        language = full.language or article.language
        raw: dict[str, Any] = {
            "type": "report",
            # Named here, so a batch knows which row became which report.
            "id": f"report--{uuid.uuid4()}",
            "name": article.title,
            "published": self._published(article, full),
            "description": text,
            "created_by_ref": feed.identity_id,
            "object_refs": [feed.identity_id],
            "report_types": ["threat-report"],
            "extensions": article_properties(
                {
                    "url": article.url,
                    "canonical_url": full.canonical_url or article.canonical_url,
                    "feed_url": feed.url,
                    "feed_title": feed.title,
                    "summary": article.summary[:10_000],
                    "author": full.author or article.author,
                    "page_published": full.published,
                    "full_text": full.status,
                    "extraction_error": full.error,
                    "detected_language": language,
                }
            ),
        }
        if language:
            # STIX wants one RFC 5646 tag: Japanese text with English terms is Japanese.
            raw["lang"] = "ja" if language == "mixed" else language
        if article.url:
            raw["external_references"] = [
                {"source_name": feed.title[:200] or "feed", "url": article.url}
            ]
        return raw

    def _published(self, article: Article, full: FullText) -> str:
        """The feed's date, else the page's, else now."""
        if article.published is not None:
            return format_timestamp(article.published)
        if full.published:
            try:
                day = datetime.fromisoformat(full.published)
            except ValueError:
                day = None
            if day is not None:
                return format_timestamp(day if day.tzinfo else day.replace(tzinfo=UTC))
        return format_timestamp(self.clock())

    def _item_values(
        self, feed: FeedRow, article: Article, object_pk: int, stamp: str
    ) -> dict[str, Any]:
        return {
            "feed_pk": feed.pk,
            "guid": article.guid,
            "url": article.url,
            "canonical_url": article.canonical_url,
            "content_hash": article.content_hash,
            "object_pk": object_pk,
            "first_seen": stamp,
            "last_seen": stamp,
        }

    def _save_content(self, conn: Any, object_pk: int, full: FullText, stamp: str) -> None:
        row = self._content_row(object_pk, full, stamp)
        if row is not None:
            repo.save_content(conn, row)

    @staticmethod
    def _content_row(object_pk: int, full: FullText, stamp: str) -> dict[str, Any] | None:
        if full.raw is None and full.html is None and full.error is None:
            return None
        return {
            "object_pk": object_pk,
            "html": full.html,
            "raw_html": compress(full.raw) if full.raw is not None else None,
            "fetched_at": stamp,
            "extraction_error": full.error,
        }

    @staticmethod
    def _id_of(conn: Any, object_pk: int) -> str:
        return object_repo.id_of(conn, object_pk)
