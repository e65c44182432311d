"""Deterministic feed documents and article pages, from real Japanese security prose.

The Japanese sentences come from ``../shared/data/ja/security-prose-ja.txt`` (OWASP
translations, CC BY-SA 4.0); English sentences and indicators (IPs, domains, CVE ids)
are mixed in. The same seed gives byte-identical documents on every run.

- :func:`feed_documents`: RSS 2.0 (every fifth document Atom 1.0) of ``per_doc`` items,
  each item with about 2 KB of HTML description; GUIDs, links and texts are unique.
- :func:`article_pages`: whole article pages of 10-30 KB (head metadata, navigation,
  header, sidebar and footer boilerplate around an ``<article>``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

SEED = 20261205
PROSE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ja" / "security-prose-ja.txt"
)
ITEM_HTML_BYTES = 2_000
BASE_TIME = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)

EN = [
    "The campaign relies on spear-phishing messages that imitate invoices from a logistics firm.",
    "Researchers observed the loader contacting its command-and-control server every 300 seconds.",
    "The attackers exploited an unpatched VPN appliance to gain an initial foothold.",
    "Stolen credentials were later sold on an underground forum frequented by access brokers.",
    "The malware uses scheduled tasks for persistence and hides its payload in the registry.",
    "Administrators should apply the vendor's patch and rotate every exposed secret.",
    "The ransomware group published samples of the stolen data on its leak site.",
    "Network defenders can block the indicators below at the proxy and the DNS resolver.",
    "The phishing kit harvests one-time passwords and relays them to the operator in real time.",
    "Several victims in the manufacturing sector reported encrypted file servers the same night.",
    "The backdoor supports file upload, command execution and a reverse SOCKS proxy.",
    "This advisory will be updated as the investigation continues.",
    "Lateral movement relied on remote desktop and stolen domain administrator tokens.",
    "The threat actor registered look-alike domains a week before the first wave of emails.",
    "Organisations are urged to enable multi-factor authentication for all remote access.",
    "Telemetry shows a sharp rise in scanning for the vulnerable endpoint since the disclosure.",
]
EN_TITLES = [
    "Phishing wave targets Japanese logistics customers",
    "New loader delivers infostealer through fake updates",
    "Critical flaw in VPN appliance exploited in the wild",
    "Ransomware group claims attack on parts supplier",
    "Botnet expands by abusing default router credentials",
    "Supply-chain compromise of a popular npm package",
]
JA_TITLE_PREFIX = ["【注意喚起】", "【速報】", "【解説】", "【脆弱性情報】", "【攻撃動向】", ""]
ACTORS = ["Lazarus", "BlackTech", "APT10", "MirrorFace", "LockBit", "Emotet", "Tick"]
TLDS = ["com", "net", "jp", "co.jp", "info", "xyz", "top", "io"]
WORDS = ["secure", "login", "update", "cdn", "portal", "account", "verify", "cloud", "mail"]
CATEGORIES = ["脆弱性", "フィッシング", "ランサムウェア", "標的型攻撃", "malware", "advisory"]
AUTHORS = ["山田 太郎", "佐藤 花子", "Security Response Team", "鈴木 一郎", "J. Smith"]


@dataclass
class Doc:
    path: str
    body: bytes
    content_type: str
    items: int
    kind: str  # "rss" or "atom"


@dataclass
class Page:
    path: str
    body: bytes


def load_prose(path: Path = PROSE) -> list[str] | None:
    """The Japanese sentences, or None when the shared corpus is not there."""
    if not path.is_file():
        return None
    return [s for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]


class _Writer:
    def __init__(self, prose: list[str], seed: int) -> None:
        self.prose = prose
        self.rng = random.Random(seed)

    def ja(self) -> str:
        return self.rng.choice(self.prose)

    def en(self) -> str:
        return self.rng.choice(EN)

    def ip(self, n: int) -> str:
        r = self.rng
        return (
            f"{r.choice(['203.0.113', '198.51.100', '192.0.2', '45.77'])}.{(n * 7 + 11) % 254 + 1}"
        )

    def domain(self, n: int) -> str:
        r = self.rng
        return f"{r.choice(WORDS)}-{r.choice(WORDS)}{n}.{r.choice(TLDS)}"

    def cve(self, n: int) -> str:
        return f"CVE-{2020 + n % 6}-{10000 + n}"

    def sentences(self, lang: str, k: int) -> str:
        pick = self.ja if lang == "ja" else self.en
        return "".join(escape(pick()) + ("" if lang == "ja" else " ") for _ in range(k)).strip()

    def description(self, n: int, lang: str) -> str:
        """About ITEM_HTML_BYTES of HTML: paragraphs, emphasis, a list of indicators, a link."""
        r = self.rng
        head = f"<p><strong>{self.cve(n)}</strong> {self.sentences(lang, 2)}</p>"
        iocs = (
            f"<ul><li>IP: <code>{self.ip(n)}</code></li><li>Domain: <code>{self.domain(n)}</code>"
            f"</li><li>Actor: {r.choice(ACTORS)}</li></ul>"
        )
        tail = f'<p>詳細は<a href="https://advisories.example.jp/{n}">アドバイザリ</a>を参照。</p>'
        parts = [head]
        size = len(head.encode()) + len(iocs.encode()) + len(tail.encode())
        while size < ITEM_HTML_BYTES:
            # Bilingual items: Japanese prose with an English paragraph now and then.
            para_lang = "en" if lang == "en" or (lang == "mixed" and r.random() < 0.4) else "ja"
            para = f"<p>{self.sentences(para_lang, r.randint(1, 3))}</p>"
            parts.append(para)
            size += len(para.encode())
        return "".join([*parts[:2], iocs, *parts[2:], tail])

    def title(self, n: int, lang: str) -> str:
        if lang == "en":
            return f"{self.rng.choice(EN_TITLES)} ({self.cve(n)})"
        base = self.ja()[:48].rstrip("。")
        return f"{self.rng.choice(JA_TITLE_PREFIX)}{base} ({self.cve(n)})"

    def lang(self) -> str:
        x = self.rng.random()
        return "ja" if x < 0.6 else "en" if x < 0.85 else "mixed"


def _rss(w: _Writer, d: int, first: int, count: int, link_base: str) -> str:
    cdata = d % 4 == 0
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>セキュリティニュース {d}</title><link>https://news{d}.example.jp/</link>"
        f"<description>Security news feed {d}</description><language>ja</language>"
    ]
    for n in range(first, first + count):
        lang = w.lang()
        html = w.description(n, lang)
        desc = f"<![CDATA[{html}]]>" if cdata else escape(html, quote=False)
        when = format_datetime(BASE_TIME - timedelta(minutes=n))
        link = f"{link_base}{n}.html" + ("?utm_source=rss&utm_medium=feed" if n % 3 == 0 else "")
        guid = (
            f'<guid isPermaLink="false">tag:news{d}.example.jp,2025:item-{n}</guid>'
            if n % 2
            else f"<guid>{escape(link)}</guid>"
        )
        out.append(
            f"<item><title>{escape(w.title(n, lang), quote=False)}</title>"
            f"<link>{escape(link)}</link>{guid}<pubDate>{when}</pubDate>"
            f"<dc:creator>{escape(w.rng.choice(AUTHORS))}</dc:creator>"
            f"<category>{w.rng.choice(CATEGORIES)}</category>"
            f"<description>{desc}</description></item>"
        )
    out.append("</channel></rss>\n")
    return "".join(out)


def _atom(w: _Writer, d: int, first: int, count: int, link_base: str) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ja">'
        f"<title>脅威インテリジェンス {d}</title><id>urn:kizashi:bench:feed:{d}</id>"
        f'<link href="https://intel{d}.example.jp/"/>'
        f"<updated>{BASE_TIME.isoformat()}</updated>"
    ]
    for n in range(first, first + count):
        lang = w.lang()
        when = (BASE_TIME - timedelta(minutes=n)).isoformat()
        tag = "content" if n % 2 else "summary"
        out.append(
            f"<entry><title>{escape(w.title(n, lang), quote=False)}</title>"
            f"<id>urn:kizashi:bench:item:{n}</id>"
            f'<link rel="alternate" href="{escape(link_base)}{n}.html"/>'
            f"<published>{when}</published><updated>{when}</updated>"
            f"<author><name>{escape(w.rng.choice(AUTHORS))}</name></author>"
            f'<category term="{w.rng.choice(CATEGORIES)}"/>'
            f'<{tag} type="html">{escape(w.description(n, lang), quote=False)}</{tag}></entry>'
        )
    out.append("</feed>\n")
    return "".join(out)


def feed_documents(
    prose: list[str],
    items: int,
    *,
    per_doc: int = 100,
    link_base: str = "https://www.example.co.jp/security/",
    seed: int = SEED,
) -> list[Doc]:
    """``items`` items in documents of ``per_doc``; every fifth document is Atom."""
    w = _Writer(prose, seed)
    docs = []
    for d, first in enumerate(range(0, items, per_doc)):
        count = min(per_doc, items - first)
        if d % 5 == 4:
            body, ctype, kind = _atom(w, d, first, count, link_base), "application/atom+xml", "atom"
        else:
            body, ctype, kind = _rss(w, d, first, count, link_base), "application/rss+xml", "rss"
        docs.append(Doc(f"/feeds/{d}.xml", body.encode(), f"{ctype}; charset=utf-8", count, kind))
    return docs


def _nav() -> str:
    links = "".join(
        f'<li><a href="/category/{c}">{escape(c)}</a></li>'
        for c in [*CATEGORIES, "about", "contact"]
    )
    return f'<nav class="global-nav"><ul>{links}</ul></nav>'


def _sidebar(w: _Writer, n: int) -> str:
    related = "".join(
        f'<li><a href="/articles/{(n + k * 37) % 100000}.html">{escape(w.ja()[:40])}</a></li>'
        for k in range(1, 9)
    )
    return f'<aside class="sidebar"><h3>関連記事</h3><ul>{related}</ul></aside>'


def article_page(w: _Writer, n: int, url: str) -> bytes:
    """One article page of roughly 10-30 KB."""
    r = w.rng
    lang = w.lang()
    title = w.title(n, lang)
    when = (BASE_TIME - timedelta(hours=n)).isoformat()
    author = r.choice(AUTHORS)
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="byline">{escape(author)} | <time datetime="{when}">{when[:10]}</time></p>',
    ]
    target = r.randint(6_000, 24_000)
    size, section = 0, 0
    while size < target:
        if size and r.random() < 0.25:
            section += 1
            body.append(f"<h2>{escape(w.ja()[:30]) if lang != 'en' else 'Analysis'} {section}</h2>")
        k = r.randint(3, 6)
        para_lang = "en" if lang == "en" or (lang == "mixed" and r.random() < 0.4) else "ja"
        para = f"<p>{w.sentences(para_lang, k)}</p>"
        body.append(para)
        size += len(para.encode())
        if section and r.random() < 0.08:
            body.append(
                f"<ul><li>{w.ip(n + size)}</li><li>{w.domain(n + size)}</li>"
                f"<li>{w.cve(n + size)}</li></ul>"
            )
    body.append(f'<p>出典: <a href="https://advisories.example.jp/{n}">{w.cve(n)}</a></p>')
    html = (
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
        f"<title>{escape(title)} | セキュリティニュース</title>"
        f'<link rel="canonical" href="{escape(url)}">'
        f'<meta name="author" content="{escape(author)}">'
        f'<meta property="article:published_time" content="{when}">'
        f'<meta name="description" content="{escape(w.ja()[:80])}">'
        '<link rel="stylesheet" href="/static/site.css"><script src="/static/site.js"></script>'
        "</head><body>"
        f'<header class="site-header"><a href="/" class="logo">セキュリティニュース</a>'
        f"{_nav()}</header>"
        f'<main><article class="post">{"".join(body)}</article>{_sidebar(w, n)}</main>'
        '<footer class="site-footer"><p>&copy; 2025 Example Security News. All rights reserved.'
        '</p><ul><li><a href="/privacy">プライバシーポリシー</a></li><li><a href="/terms">'
        "利用規約</a></li><li><a href='/rss'>RSS</a></li></ul></footer>"
        "<script>window.analytics && analytics.track('view');</script></body></html>\n"
    )
    return html.encode()


def article_pages(
    prose: list[str], count: int, *, base: str = "https://www.example.co.jp", seed: int = SEED + 1
) -> list[Page]:
    w = _Writer(prose, seed)
    out = []
    for n in range(count):
        path = f"/articles/{n}.html"
        out.append(Page(path, article_page(w, n, base + path)))
    return out
