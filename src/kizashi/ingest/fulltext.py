"""The article behind a feed item: main text and metadata with ``trafilatura``.

One extraction gives both forms: plain text for storage and search, and simplified
HTML for display, which ``nh3`` then cleans (the page is hostile input).
"""

from __future__ import annotations

import copy
import zlib
from dataclasses import dataclass

import nh3
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.settings import Document
from trafilatura.xml import xmltotxt

from kizashi.ingest.normalise import canonical_url
from kizashi.text.language import detect

#: Tags the display HTML may keep; everything else is dropped, attributes included.
DISPLAY_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre",
    "code", "em", "strong", "b", "i", "u", "a", "table", "thead", "tbody", "tr", "th", "td",
    "del", "sub", "sup", "hr",
}  # fmt: skip


@dataclass
class Extracted:
    text: str
    html: str
    title: str | None
    author: str | None
    published: str | None
    language: str | None
    canonical_url: str | None


class ExtractionError(Exception):
    pass


def extract(page: bytes | str, url: str) -> Extracted:
    """Main text of an article page; ExtractionError when there is none."""
    try:
        doc = bare_extraction(
            page,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_links=True,
            include_formatting=True,
            include_tables=True,
        )
    except (ValueError, TypeError, etree.LxmlError) as exc:
        raise ExtractionError(f"the page could not be read: {exc}") from exc
    if not isinstance(doc, Document) or doc.body is None:
        raise ExtractionError("no main text was found on the page")
    plain = copy.deepcopy(doc.body)
    etree.strip_tags(plain, "ref")  # links stay in the HTML; the text has their words only
    text = xmltotxt(plain, include_formatting=False).strip()
    if not text:
        raise ExtractionError("no main text was found on the page")
    html = etree.tostring(convert_to_html(doc.body), encoding=str, method="html")
    return Extracted(
        text=text,
        html=sanitize(html),
        title=doc.title,
        author=doc.author,
        published=doc.date,
        language=detect(text) or doc.language,
        canonical_url=canonical_url(doc.url) if doc.url else None,
    )


def sanitize(html: str) -> str:
    """HTML safe to show: a short list of tags, links only to http(s), no attributes else."""
    return nh3.clean(
        html,
        tags=DISPLAY_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def compress(page: bytes) -> bytes:
    return zlib.compress(page, 6)


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)
