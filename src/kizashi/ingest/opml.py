"""OPML: a feed reader's subscription list, in and out."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

import listparser

from kizashi.model.errors import Problem, invalid


@dataclass
class Subscription:
    url: str
    title: str | None = None
    categories: list[str] = field(default_factory=list)


def parse_opml(document: bytes) -> list[Subscription]:
    """The feeds an OPML file lists (nested outlines become categories)."""
    result = listparser.parse(document)
    looks_like_opml = b"<opml" in document[:4096].lower()
    if not result.feeds and (result.get("bozo") or not looks_like_opml):
        reason = result.get("bozo_exception") or "no <opml> element"
        raise invalid(
            "The file is not an OPML subscription list: %(reason)s",
            [Problem("opml", str(reason))],
            reason=str(reason),
        )
    subs = []
    for feed in result.feeds:
        url = str(feed.get("url") or "").strip()
        if not url:
            continue
        cats = ["/".join(c) for c in feed.get("categories") or [] if c]
        subs.append(Subscription(url, feed.get("title") or None, cats))
    return subs


def to_opml(subscriptions: list[Subscription], *, title: str = "Kizashi feeds") -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for sub in subscriptions:
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=sub.title or sub.url,
            title=sub.title or sub.url,
            xmlUrl=sub.url,
        )
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
