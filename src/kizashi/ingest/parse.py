"""Feeds as data: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through ``feedparser``, JSON Feed 1.x.

The result is a :class:`ParsedFeed` of :class:`Entry` values with nothing of the
parser left in it. Anything that is not a feed raises :class:`ParseError` with the
reason in words (an HTML page, an empty body, broken XML with no items…).
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

MAX_ENTRIES = 5_000


class ParseError(Exception):
    """The document is not a feed this reader understands."""


@dataclass
class Entry:
    guid: str
    link: str | None
    title: str
    summary_html: str = ""
    content_html: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    language: str | None = None
    categories: list[str] = field(default_factory=list)


@dataclass
class ParsedFeed:
    version: str
    title: str
    link: str | None
    language: str | None
    entries: list[Entry]
    #: A recoverable problem the parser worked around (ill-formed XML it still read).
    warning: str | None = None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _guid(*parts: str | None) -> str:
    joined = "\n".join(p or "" for p in parts)
    return "sha256:" + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def _looks_like_html(head: bytes) -> bool:
    text = head[:2048].lower()
    return b"<html" in text or b"<!doctype html" in text


def parse_feed(body: bytes, *, content_type: str = "", url: str = "") -> ParsedFeed:
    """Parse a fetched document; raise ParseError when it is not a feed."""
    stripped = body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not stripped:
        raise ParseError("the document is empty")
    if b"<!entity" in stripped[:65536].lower():
        # Feeds never need their own entities; declaring them is how "billion laughs"
        # and external-entity attacks start.
        raise ParseError("the document declares XML entities, which a feed does not need")
    if "json" in content_type.lower() or stripped[:1] == b"{":
        return _parse_json_feed(stripped)
    headers = {"content-type": content_type} if content_type else {}
    if url:
        headers["content-location"] = url
    # Entry content becomes text, never HTML to show, so feedparser need not clean it or
    # resolve its relative links (an entry's own link is resolved either way).
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    version = parsed.get("version") or ""
    entries = parsed.get("entries") or []
    problem = parsed.get("bozo_exception")
    if not version and not entries:
        if _looks_like_html(stripped):
            raise ParseError("the document is an HTML page, not a feed")
        reason = f": {problem}" if problem else ""
        raise ParseError(f"the document is not an RSS or Atom feed{reason}")
    if not entries and problem:
        raise ParseError(f"the feed is not well-formed and has no items: {problem}")
    feed = parsed.get("feed", {})
    out = [_entry(e) for e in entries[:MAX_ENTRIES]]
    return ParsedFeed(
        version=version or "unknown",
        title=str(feed.get("title") or ""),
        link=feed.get("link"),
        language=feed.get("language"),
        entries=out,
        warning=str(problem) if problem else None,
    )


def _entry(e: Any) -> Entry:
    link = e.get("link")
    title = str(e.get("title") or "")
    summary = str(e.get("summary") or "")
    contents = e.get("content") or []
    content = "\n".join(str(c.get("value") or "") for c in contents)
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed
    # with a DeprecationWarning; we want each as the feed gave it.
    published_at = _time(dict.get(e, "published_parsed"))
    updated_at = _time(dict.get(e, "updated_parsed"))
    published = published_at or updated_at
    guid = e.get("id") or link or _guid(title, summary)
    return Entry(
        guid=str(guid)[:512],
        link=link,
        title=title,
        summary_html=summary,
        content_html=content,
        published=published,
        updated=updated_at,
        author=e.get("author"),
        language=(e.get("summary_detail") or {}).get("language"),
        categories=[str(t.get("term")) for t in e.get("tags") or [] if t.get("term")],
    )


def _str(value: Any) -> str | None:
    """A JSON value that should be text: text, or None for anything else."""
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _parse_json_feed(body: bytes) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ParseError(f"the document is not valid JSON: {str(exc)[:200]}") from None
    version = _str(doc.get("version")) if isinstance(doc, dict) else None
    if not version or not version.startswith("https://jsonfeed.org/version/1"):
        raise ParseError("the JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("the JSON Feed has no items list")
    feed_language = _str(doc.get("language"))
    entries = []
    for item in items[:MAX_ENTRIES]:
        if not isinstance(item, dict):
            continue
        authors = _list(item.get("authors")) or (
            [item["author"]] if isinstance(item.get("author"), dict) else []
        )
        author = next(
            (_str(a.get("name")) for a in authors if isinstance(a, dict) and _str(a.get("name"))),
            None,
        )
        link = _str(item.get("url")) or _str(item.get("external_url"))
        title = _str(item.get("title")) or ""
        summary = _str(item.get("summary")) or ""
        content = _str(item.get("content_html")) or _text_as_html(item.get("content_text"))
        guid = item.get("id")
        guid_text = (
            str(guid) if isinstance(guid, str | int) and not isinstance(guid, bool) else None
        )
        entries.append(
            Entry(
                guid=(guid_text or link or _guid(title, summary, content))[:512],
                link=link,
                title=title,
                summary_html=summary,
                content_html=content,
                published=_iso(item.get("date_published")),
                updated=_iso(item.get("date_modified")),
                author=author,
                language=_str(item.get("language")) or feed_language,
                categories=[t for t in _list(item.get("tags")) if isinstance(t, str)],
            )
        )
    return ParsedFeed(
        version="json" + version.rsplit("/", 1)[-1].replace(".", ""),
        title=_str(doc.get("title")) or "",
        link=_str(doc.get("home_page_url")),
        language=feed_language,
        entries=entries,
    )


def _text_as_html(text: Any) -> str:
    if not isinstance(text, str) or not text:
        return ""
    from html import escape

    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
