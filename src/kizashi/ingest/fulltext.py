"""The article behind a feed item: main text and metadata with ``trafilatura``.

One extraction gives both forms: plain text for storage and search, and simplified
HTML for display, which ``nh3`` then cleans (the page is hostile input).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import nh3
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.metadata import examine_meta, extract_url
from trafilatura.settings import Document
from trafilatura.utils import load_html

from kizashi.ingest.normalise import canonical_url
from kizashi.text.language import detect

#: Tags the display HTML may keep; everything else is dropped, attributes included.
DISPLAY_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre",
    "code", "em", "strong", "b", "i", "u", "a", "table", "thead", "tbody", "tr", "th", "td",
    "del", "sub", "sup", "hr",
}  # fmt: skip


#: Enough text to tell Japanese from English; an article's tail says nothing new.
LANGUAGE_SAMPLE = 1000


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


#: Where pages state when they were published, most specific first.
_DATE_XPATHS = (
    './/head/meta[@property="article:published_time"]/@content',
    './/head/meta[@property="og:article:published_time"]/@content',
    './/head/meta[@itemprop="datePublished"]/@content',
    './/head/meta[@name="date"]/@content',
    './/head/meta[@name="pubdate"]/@content',
    './/*[@itemprop="datePublished"]/@datetime',
    ".//article//time/@datetime",
)


def _page_date(tree: etree._Element) -> str | None:
    for xpath in _DATE_XPATHS:
        found = tree.xpath(xpath)
        if found and str(found[0]).strip():
            return str(found[0]).strip()
    return None


def extract(page: bytes | str, url: str) -> Extracted:
    """Main text of an article page; ExtractionError when there is none.

    The page's metadata is read from its head (meta tags, the canonical link) before
    trafilatura extracts the text, rather than by trafilatura's own metadata pass,
    which searches the whole text for dates and costs a fifth of the extraction.
    """
    try:
        tree = load_html(page)
        if tree is None:
            raise ExtractionError("the page could not be read as HTML")
        meta = examine_meta(tree)
        canonical = extract_url(tree, url)
        title = meta.title or (tree.findtext(".//head/title") or "").strip() or None
        published = meta.date or _page_date(tree)
        doc = bare_extraction(
            tree,
            url=canonical or url,
            include_comments=False,
            include_links=True,
            include_formatting=True,
            include_tables=True,
            # The text form is built from the tree below; "txt" keeps trafilatura from
            # also building a formatted one that nobody reads.
            output_format="txt",
        )
    except (ValueError, TypeError, etree.LxmlError) as exc:
        raise ExtractionError(f"the page could not be read: {exc}") from exc
    if not isinstance(doc, Document) or doc.body is None:
        raise ExtractionError("no main text was found on the page")
    text = plain_text(doc.body)
    if not text:
        raise ExtractionError("no main text was found on the page")
    # convert_to_html rewrites the tree in place: the text is taken first.
    html = etree.tostring(convert_to_html(doc.body), encoding=str, method="html")
    return Extracted(
        text=text,
        html=sanitize(html),
        title=title,
        author=meta.author,
        published=published,
        language=detect(text[:LANGUAGE_SAMPLE]),
        canonical_url=canonical_url(canonical) if canonical else None,
    )


_SPACE = re.compile(r"\s+")


def _line(element: etree._Element) -> str:
    return _SPACE.sub(" ", "".join(element.itertext())).strip()


def plain_text(body: etree._Element) -> str:
    """The extracted tree as text: a line per block, per list item and per table row.

    Link and emphasis markup gives only its words (trafilatura's own text form writes
    Markdown, which is not what search or summaries should read).
    """
    lines: list[str] = []
    for block in body:
        if block.tag == "list":
            lines.extend(_line(item) for item in block.iterfind("item"))
        elif block.tag == "table":
            for row in block.iter("row"):
                lines.append(" | ".join(_line(cell) for cell in row))
        else:
            lines.append(_line(block))
    return "\n".join(line for line in lines if line.strip(" |"))


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
