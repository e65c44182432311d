"""Polling a MISP feed: its ``manifest.json``, then the events whose timestamp changed.

A MISP feed is a directory: ``manifest.json`` maps each event's UUID to a summary with its
``timestamp``; ``<uuid>.json`` is the event. Each event is a feed item (``feed_items``,
guid = the event's UUID, ``version`` = its timestamp in the manifest), so a poll fetches
only events it has not imported at that timestamp, and a poll that dies half-way is
redone from the first event not recorded. Events go through the exchange import path
with the MISP format: checking, versions, TLP, extraction and rules as for any import.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kizashi.ingest.fetch import FetchError
from kizashi.model.actor import SYSTEM
from kizashi.model.errors import KizashiError
from kizashi.model.stix import format_timestamp
from kizashi.store import feeds as repo
from kizashi.store import objects as object_repo
from kizashi.store.feeds import FeedRow

if TYPE_CHECKING:
    from kizashi.ingest.poller import Poller, PollResult

log = logging.getLogger(__name__)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Of the problems of one poll, how many the feed's result lists.
MAX_REJECTIONS = 20


def manifest_url(feed_url: str, name: str = "manifest.json") -> str:
    return feed_url.rstrip("/") + "/" + quote(name)


def read_manifest(body: bytes) -> dict[str, str]:
    """event UUID → its timestamp (as written); a clear ValueError for anything else."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"manifest.json is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError("manifest.json is not an object of events by UUID")  # noqa: TRY004 - bad input
    out: dict[str, str] = {}
    for key, summary in doc.items():
        if not _UUID.fullmatch(str(key)) or not isinstance(summary, dict):
            continue  # counted below: a manifest of nothing but junk is refused
        stamp = summary.get("timestamp")
        out[str(key).lower()] = str(stamp) if stamp is not None else ""
    if doc and not out:
        raise ValueError("manifest.json names no event (keys are event UUIDs)")
    return out


def _newer(mine: str, stored: str | None) -> bool:
    if stored is None:
        return True
    if mine.isdigit() and stored.isdigit():
        return int(mine) > int(stored)
    return mine != stored


def poll_misp(
    poller: Poller,
    row: FeedRow,
    result: PollResult,
    progress: Callable[[int, int], None] | None,
) -> PollResult:
    """One poll of the MISP feed ``row`` (the feed's state is left to the poller)."""
    headers = json.loads(row.headers)
    fetched = poller.fetch_changed(row, result, manifest_url(row.url), "application/json")
    if fetched is None:
        return result
    try:
        manifest = read_manifest(fetched.body)
    except ValueError as exc:
        message = f"not a MISP feed: {exc}"
        return poller.record_failure(row, result, "not_misp_feed", message, fetched.status, None)
    kz = poller.kz
    with kz.store.read() as conn:
        known = repo.items_by_guids(conn, row.pk, sorted(manifest))
    wanted = [u for u, stamp in sorted(manifest.items()) if _newer(stamp, _version(known, u))]
    result.counts["duplicate"] += len(manifest) - len(wanted)
    failed = False
    for done, event_uuid in enumerate(wanted, 1):
        if not _one_event(poller, row, event_uuid, manifest[event_uuid], headers, result):
            failed = True
        poller.renew_lease(row.pk)
        if progress is not None:
            progress(done, len(wanted))
    stored = result.counts["stored"] + result.counts["updated"]
    poller.record_success(
        row,
        fetched.status,
        # A poll with a failed event sends no validators next time, so it is retried.
        None if failed else fetched.etag,
        None if failed else fetched.last_modified,
        seen=len(manifest),
        stored=stored,
    )
    return result


def _version(known: dict[str, repo.ItemRow], event_uuid: str) -> str | None:
    item = known.get(event_uuid)
    return item.version if item is not None else None


def _reject(result: PollResult, event_uuid: str, why: str) -> None:
    result.counts["rejected"] += 1
    if len(result.rejections) < MAX_REJECTIONS:
        result.rejections.append(f"{event_uuid}: {why}")


def _one_event(
    poller: Poller,
    row: FeedRow,
    event_uuid: str,
    stamp: str,
    headers: dict[str, str],
    result: PollResult,
) -> bool:
    """Fetch and import one event; whether it went in (its problems are in ``result``)."""
    try:
        fetched = poller.fetcher.get(
            manifest_url(row.url, f"{event_uuid}.json"), headers=headers, accept="application/json"
        )
    except FetchError as exc:
        _reject(result, event_uuid, exc.message)
        return False
    body = fetched.body
    kz = poller.kz
    try:
        report = kz.exchange.import_(SYSTEM, lambda: io.BytesIO(body), format="misp")
    except KizashiError as exc:
        _reject(result, event_uuid, exc.message)
        return False
    for p in report.problems[:3]:
        if len(result.rejections) < MAX_REJECTIONS:
            result.rejections.append(f"{event_uuid}: {p.id or p.type or '?'}: {p.why}")
    anchor = _event_object(kz, event_uuid)
    if anchor is None:
        _reject(result, event_uuid, "the event gave no object to keep")
        return False
    now = format_timestamp(poller.clock())
    with kz.store.begin() as conn:
        item = repo.item_by_guid(conn, row.pk, event_uuid)
        values = {
            "content_hash": hashlib.sha256(body).hexdigest(),
            "object_pk": anchor,
            "last_seen": now,
            "version": stamp,
        }
        if item is None:
            repo.add_item(
                conn, {"feed_pk": row.pk, "guid": event_uuid, "first_seen": now, **values}
            )
            result.counts["stored"] += 1
        else:
            repo.update_item(conn, item.pk, values)
            result.counts["updated"] += 1
        if row.default_tags != "[]":
            kz.tags.attach(
                conn, SYSTEM, [anchor], kz.tags.parse(conn, json.loads(row.default_tags))
            )
    return True


def _event_object(kz: Any, event_uuid: str) -> int | None:
    """The stored object that stands for the event (its report or grouping)."""
    with kz.store.read() as conn:
        for stix_type in ("report", "grouping", "x-misp-event", "note"):
            found = object_repo.get(conn, f"{stix_type}--{event_uuid}")
            if found is not None:
                return found.pk
    return None
