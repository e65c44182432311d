"""From a feed entry to the article Kizashi stores: clean text, canonical URL, a hash."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from kizashi.ingest.parse import Entry
from kizashi.text.language import detect

#: Query parameters that say where a click came from, not what the page is.
TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|yclid|_hsenc|_hsmi|igshid)$", re.I
)
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "blockquote", "pre", "section", "article", "header", "footer", "dt", "dd", "hr",
}  # fmt: skip
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass
class Article:
    guid: str
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    text: str
    published: datetime | None
    author: str | None
    language: str | None
    content_hash: str


def canonical_url(url: str | None) -> str | None:
    """The URL that names the page: lower-case scheme and host, no fragment, no tracking."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    try:
        port = parts.port
    except ValueError:
        return None
    netloc = host if port in (None, default) else f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)]
    )
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))[:1024]


def html_to_text(html: str) -> str:
    """Readable text from an HTML fragment: blocks become lines, scripts and styles vanish."""
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return _tidy(
            lxml.html.fromstring(f"<div>{html}</div>").text_content() if "&" in html else html
        )
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return _tidy(html)
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() != "br":
                el.text = "\n" + (el.text or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


#: A matching hash is evidence of the same article only with a body and at least this
#: much text: "Security update" with no body is many different articles.
MIN_HASH_EVIDENCE = 24


def content_hash(title: str, text: str) -> str:
    """What the article says, not when or where: NFKC, case and spacing folded."""
    norm = unicodedata.normalize("NFKC", f"{title}\n{text}").casefold()
    norm = re.sub(r"\s+", " ", norm).strip()
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()


def to_article(entry: Entry, *, feed_language: str | None) -> Article:
    title = _tidy(html_to_text(entry.title)) or "(untitled)"
    summary = html_to_text(entry.summary_html)
    # Many feeds repeat the description as the content: read it once.
    same = entry.content_html == entry.summary_html
    text = (summary if same else html_to_text(entry.content_html)) or summary
    language = detect(f"{title}\n{text}") or _short(entry.language) or _short(feed_language)
    return Article(
        guid=entry.guid,
        url=entry.link,
        canonical_url=canonical_url(entry.link),
        title=title[:1000],
        summary=summary,
        text=text,
        published=entry.published or entry.updated,
        author=entry.author,
        language=language,
        content_hash=content_hash(title, text),
    )


def _short(language: str | None) -> str | None:
    if not language:
        return None
    code = language.split("-")[0].split("_")[0].lower()
    return code or None
