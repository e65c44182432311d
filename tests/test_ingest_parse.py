"""Feeds as data and articles as text: parse_feed and normalise, no store, no network."""

from __future__ import annotations

import contextlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedserver import BILLION_LAUGHS, CORPUS, FIXTURES, HTML_PAGE
from kizashi.ingest.normalise import canonical_url, content_hash, html_to_text, to_article
from kizashi.ingest.parse import Entry, ParsedFeed, ParseError, parse_feed
from support import shared_data

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
V11 = "https://jsonfeed.org/version/1.1"


def corpus_files(kind: str) -> list[str]:
    """Paths under the feedparser corpus (one placeholder when it is absent: a skip)."""
    root = CORPUS / kind
    found = sorted(str(p.relative_to(CORPUS)) for p in root.rglob("*.xml")) if root.is_dir() else []
    return found or [f"{kind}/(corpus missing)"]


def corpus_parse(rel: str) -> ParsedFeed:
    """Parse a corpus file with the Content-Type its comment declares, as the server sends it."""
    data = (shared_data("feeds", "feedparser") / rel).read_bytes()
    declared = re.search(rb"Header:\s*Content-type:\s*([^\r\n]*)", data[:2048], re.I)
    kind = declared.group(1).decode("latin-1").strip() if declared else ""
    return parse_feed(data, content_type=kind)


def expectations(rel: str) -> tuple[bool, list[tuple[str, str]]]:
    """The file's own ``Expect:`` line: whether it is bozo-free and the values it names."""
    text = (shared_data("feeds", "feedparser") / rel).read_text("utf-8", "replace")
    line = re.search(r"Expect:\s*(.*)", text)
    assert line, rel
    found = re.findall(r"(version|feed\['\w+'\]|entries\[0\]\['\w+'\]) == '([^']*)'", line[1])
    return "not bozo" in line[1], found


def actual(feed: ParsedFeed, key: str) -> Any:
    fields = {"title": "title", "link": "link", "id": "guid", "description": "summary_html"}
    if key == "version":
        return feed.version
    name = fields[re.findall(r"'(\w+)'", key)[0]]
    return getattr(feed.entries[0] if key.startswith("entries") else feed, name)


# -- the feedparser corpus -------------------------------------------------------------


REPRESENTATIVE = [
    f"wellformed/{kind}/{name}.xml"
    for kind, names in {
        "rss": "rss_version_090 rss_version_091_netscape rss_version_091_userland rss_version_092 "
        "rss_version_093 rss_version_094 rss_version_20 rss_version_201 item_title channel_title",
        "rdf": "rss_version_10 rss_version_10_not_default_ns rdf_channel_title rdf_channel_link "
        "rdf_item_title rdf_item_link rdf_item_rdf_about rdf_item_description rss090_item_title",
        "atom10": "atom10_version feed_title entry_title entry_title_text_plain entry_id",
    }.items()
    for name in names.split()
]


@pytest.mark.parametrize("rel", REPRESENTATIVE)
def test_corpus_file_gives_what_its_comment_expects(rel: str) -> None:
    not_bozo, checks = expectations(rel)
    assert checks, f"{rel} declares no value this test can check"
    feed = corpus_parse(rel)
    if not_bozo:
        assert feed.warning is None
    for key, expected in checks:
        assert actual(feed, key) == expected, (rel, key)


def test_atom_03_is_read() -> None:
    doc = b"""<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old Atom</title>
<link rel="alternate" type="text/html" href="http://example.jp/"/>
<entry><title>Entry 0.3</title><link rel="alternate" href="http://example.jp/a03"/>
<id>tag:example.jp,2004:1</id><issued>2004-01-01T00:00:00Z</issued>
<modified>2004-01-02T00:00:00Z</modified><summary>An old summary</summary></entry></feed>"""
    feed = parse_feed(doc)
    assert (feed.version, feed.title, feed.link) == ("atom03", "Old Atom", "http://example.jp/")
    [entry] = feed.entries
    assert (entry.guid, entry.title) == ("tag:example.jp,2004:1", "Entry 0.3")
    assert entry.link == "http://example.jp/a03"
    assert entry.published == datetime(2004, 1, 1, tzinfo=UTC)
    assert entry.summary_html == "An old summary"


def _parses_or_refuses(rel: str) -> None:
    try:
        feed = corpus_parse(rel)
    except ParseError:
        return
    assert isinstance(feed.version, str) and feed.version
    assert isinstance(feed.title, str)
    for entry in feed.entries:
        assert isinstance(entry, Entry)
        assert isinstance(entry.guid, str) and entry.guid and len(entry.guid) <= 512
        assert isinstance(entry.title, str)


@pytest.mark.parametrize("rel", corpus_files("wellformed"))
def test_every_wellformed_file_parses_or_is_refused(rel: str) -> None:
    _parses_or_refuses(rel)


@pytest.mark.parametrize("rel", corpus_files("illformed") + corpus_files("encoding"))
def test_every_illformed_or_oddly_encoded_file_parses_or_is_refused(rel: str) -> None:
    _parses_or_refuses(rel)


# -- Japanese feeds --------------------------------------------------------------------

JA = {
    "ja-sjis-rss2.xml": ("shift_jis", "rss20"),
    "ja-eucjp-rdf.xml": ("euc_jp", "rss10"),
    "ja-utf8-atom.xml": ("utf-8", "atom10"),
    "ja-jsonfeed.json": ("utf-8", "json11"),
}


def expected_titles(name: str) -> list[str]:
    """Feed title then item titles, read with the strict codec of the file's encoding."""
    codec = JA[name][0]
    text = (FIXTURES / name).read_bytes().decode(codec)
    if name.endswith(".json"):
        doc = json.loads(text)
        return [doc["title"], *(i["title"] for i in doc["items"])]
    return re.findall(r"<title>([^<]*)</title>", text)


@pytest.mark.parametrize("name", sorted(JA))
@pytest.mark.parametrize("content_type", ["", "application/xml", "text/xml"])
def test_japanese_feed_titles_are_exact(name: str, content_type: str) -> None:
    if name.endswith(".json") and content_type:
        content_type = "application/feed+json"
    feed = parse_feed((FIXTURES / name).read_bytes(), content_type=content_type)
    assert feed.version == JA[name][1]
    assert [feed.title, *(e.title for e in feed.entries)] == expected_titles(name)


def test_japanese_characters_that_codecs_disagree_on() -> None:
    def read(name: str) -> ParsedFeed:
        return parse_feed((FIXTURES / name).read_bytes())

    sjis = read("ja-sjis-rss2.xml")
    assert sjis.title == "きざし観測所 セキュリティ速報" and sjis.language == "ja"
    assert "3.1\u301c3.4" in sjis.entries[0].summary_html  # 〜, not cp932's ～
    assert "\u221212\uff05" in sjis.entries[1].summary_html  # −, not cp932's －
    assert sjis.entries[3].title == "【更新】ウェブメールの脆弱性\u2016修正版の配布を開始"
    assert sjis.entries[0].published == datetime(2025, 4, 12, 0, 30, tzinfo=UTC)
    eucjp = read("ja-eucjp-rdf.xml")
    assert eucjp.entries[0].title == "標的型攻撃メール\u301c「講演依頼」を装う添付ファイルに注意"
    assert "\u221240℃" in eucjp.entries[1].summary_html
    assert eucjp.entries[1].categories == ["ＩＣＳ"] and eucjp.entries[0].language == "ja"
    atom = read("ja-utf8-atom.xml")
    assert atom.entries[1].title == "解析レポート②：Ｃ２通信の特徴\uff5eビーコン間隔とＵＲＬ"
    assert [e.author for e in atom.entries] == ["髙橋 解析担当", "山﨑 解析担当", "髙橋 解析担当"]
    assert "<code>/api/v2/status</code>" in atom.entries[1].summary_html
    js = read("ja-jsonfeed.json")
    assert js.entries[0].author == "山﨑 編集担当"
    assert js.entries[0].categories == ["フィッシング", "金融"]
    assert js.entries[2].content_html.startswith("<p>影響を受けた版：5.2.0\u301c5.2.3。")
    assert js.entries[2].summary_html.startswith("髙度な攻撃者が")
    assert js.entries[1].updated == datetime(2025, 6, 2, 23, 0, tzinfo=UTC)


# -- JSON Feed -------------------------------------------------------------------------


def json_feed(items: Any, **top: Any) -> bytes:
    return json.dumps({"version": V11, "title": "J", "items": items, **top}).encode()


def test_json_feed_fields_and_fallbacks() -> None:
    feed = parse_feed(
        json_feed(
            [
                {"id": 42, "url": "http://example.jp/a", "title": "A", "author": {"name": "Old"}},
                {"url": "http://example.jp/b", "content_text": "one <b>\n\ntwo", "summary": "s"},
                {"external_url": "http://example.jp/c", "date_published": "2025-01-01T09:00:00"},
                {"title": "no id, no link", "date_published": "yesterday"},
                "not an item",
                None,
            ],
            language="ja",
            home_page_url="http://example.jp/",
        ),
        content_type="application/feed+json",
    )
    assert (feed.version, feed.title, feed.language) == ("json11", "J", "ja")
    assert feed.link == "http://example.jp/"
    a, b, c, d = feed.entries
    assert (a.guid, a.author, a.language) == ("42", "Old", "ja")
    assert b.guid == "http://example.jp/b" and b.summary_html == "s"
    assert b.content_html == "<p>one &lt;b&gt;</p><p>two</p>"
    assert c.guid == c.link == "http://example.jp/c"
    assert c.published == datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    assert d.guid.startswith("sha256:") and d.published is None and d.link is None
    version_1 = parse_feed(b' \n{"version": "https://jsonfeed.org/version/1", "items": []}')
    assert (version_1.version, version_1.entries) == ("json1", [])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"version": "https://example.org/v1", "items": []}', "not a JSON Feed"),
        (b'{"title": "no version"}', "not a JSON Feed"),
        (json.dumps({"version": V11}).encode(), "no items list"),
        (json.dumps({"version": V11, "items": {}}).encode(), "no items list"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not valid JSON"),
        (b'{"version": "\xff\xfe"}', "not valid JSON"),
    ],
)
def test_json_that_is_not_a_json_feed_is_refused_in_words(body: bytes, words: str) -> None:
    with pytest.raises(ParseError, match=words):
        parse_feed(body, content_type="application/json")


def test_json_feed_values_of_the_wrong_type_do_not_leak_into_entries() -> None:
    item = {"id": "a", "url": 7, "language": 5, "authors": [{"name": 7}]}
    feed = parse_feed(json_feed([item], language=["ja"], home_page_url=8))
    [entry] = feed.entries
    assert entry.author is None or isinstance(entry.author, str), entry.author
    assert feed.link is None or isinstance(feed.link, str), feed.link
    assert entry.link is None or isinstance(entry.link, str), entry.link
    assert entry.language is None or isinstance(entry.language, str), entry.language
    assert feed.language is None or isinstance(feed.language, str), feed.language


@pytest.mark.parametrize(
    "body",
    [
        json_feed([{"id": "a", "title": "t", "tags": 5}]),
        json_feed([{"id": "a", "title": "t", "authors": 3}]),
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000,
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ' + b"9" * 5000 + b"}]}",
    ],
    ids=["tags-number", "authors-number", "nested-100000-deep", "integer-5000-digits"],
)
def test_odd_or_hostile_json_gives_a_feed_or_a_parse_error(body: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_feed(body, content_type="application/feed+json")


# -- what is not a feed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (HTML_PAGE, "text/html; charset=utf-8", "HTML page"),
        (HTML_PAGE, "application/rss+xml", "HTML page"),
        (b"", "application/rss+xml", "empty"),
        (b" \r\n\t ", "", "empty"),
        (b"\x00\x01\x02 garbage \xff\xfe", "", "not an RSS or Atom feed"),
        (b"hello, world", "text/plain", "not an RSS or Atom feed"),
        (b"<?xml version='1.0'?><root><a>1</a></root>", "application/xml", "not an RSS"),
    ],
)
def test_not_a_feed_is_refused_in_words(body: bytes, content_type: str, words: str) -> None:
    with pytest.raises(ParseError, match=words):
        parse_feed(body, content_type=content_type)


@pytest.mark.parametrize(
    "body",
    [
        b"<rss version='2.0'><channel><title>cut off here",
        b"<feed xmlns='http://www.w3.org/2005/Atom'><title>cut off here",
    ],
)
def test_broken_xml_with_no_items_is_refused(body: bytes) -> None:
    """The module promises a ParseError for "broken XML with no items" (a cut-off download)."""
    with pytest.raises(ParseError):
        parse_feed(body, content_type="application/xml")


def test_a_well_formed_feed_with_no_items_is_a_feed() -> None:
    feed = parse_feed(b"<rss version='2.0'><channel><title>quiet</title></channel></rss>")
    assert (feed.version, feed.title, feed.entries, feed.warning) == ("rss20", "quiet", [], None)


def test_billion_laughs_never_expands() -> None:
    started = time.monotonic()
    try:
        feed = parse_feed(BILLION_LAUGHS, content_type="application/rss+xml")
    except ParseError:
        feed = None
    assert time.monotonic() - started < 2
    if feed is not None:
        for text in [feed.title, *(e.title for e in feed.entries)]:
            assert len(text) < 100 and "lollol" not in text


def test_billion_laughs_is_a_parse_error() -> None:
    """An entity bomb is hostile, not a feed: nothing of it may be stored as an item."""
    with pytest.raises(ParseError):
        parse_feed(BILLION_LAUGHS, content_type="application/rss+xml")


NEAR_FEEDS = [b"", b"<?xml version='1.0'?>", b"<!DOCTYPE rss [<!ENTITY a '",
              b"<rss version='2.0'><channel><title>t</title><item><title>",
              b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>",
              b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>",
              b'{"version": "https://jsonfeed.org/version/1.1", "items": [']  # fmt: skip


@settings(max_examples=200, deadline=None, database=None)
@given(prefix=st.sampled_from(NEAR_FEEDS), tail=st.binary(max_size=400), ct=st.sampled_from(
    ["", "application/rss+xml", "application/json", "text/html", "text/xml; charset=shift_jis"]
))  # fmt: skip
def test_arbitrary_bytes_give_a_feed_or_a_parse_error(prefix: bytes, tail: bytes, ct: str) -> None:
    try:
        feed = parse_feed(prefix + tail, content_type=ct)
    except ParseError:
        return
    assert isinstance(feed, ParsedFeed)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
ITEM_KEYS = ["id", "url", "external_url", "title", "summary", "content_html", "content_text",
             "date_published", "date_modified", "authors", "author", "tags"]  # fmt: skip


@settings(max_examples=200, deadline=None, database=None)
@given(item=st.dictionaries(st.sampled_from(ITEM_KEYS), JSON_VALUES, max_size=6))
def test_json_feed_items_of_any_shape_give_a_feed_or_a_parse_error(item: dict[str, Any]) -> None:
    with contextlib.suppress(ParseError):
        parse_feed(json_feed([item]))


# -- normalise -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.JP:80/a/B?utm_source=x&id=3&fbclid=y#frag", "http://example.jp/a/B?id=3"),
        ("https://EXAMPLE.jp:443", "https://example.jp/"),
        ("https://example.jp:8443/x?b=2&a=1", "https://example.jp:8443/x?b=2&a=1"),
        ("http://example.jp/?utm_campaign=1&UTM_Medium=2&gclid=3&mc_eid=4", "http://example.jp/"),
        ("  http://user:pw@example.jp/x  ", "http://example.jp/x"),
        ("http://example.jp/a%20b?q=%E3%81%82", "http://example.jp/a%20b?q=%E3%81%82"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [None, "", "ftp://example.jp/x", "javascript:alert(1)", "mailto:a@example.jp", "http://",
     "file:///etc/passwd", "http://example.jp:99999/", "/relative/path"],
)  # fmt: skip
def test_canonical_url_refuses_what_is_not_a_web_page(url: str | None) -> None:
    assert canonical_url(url) is None


def test_canonical_url_keeps_an_ipv6_host_a_valid_url() -> None:
    assert canonical_url("http://[::1]:80/x#f") == "http://[::1]/x"
    assert canonical_url("https://[2001:DB8::1]:8443/") == "https://[2001:db8::1]:8443/"


def test_html_to_text() -> None:
    html = (
        "<p>One</p><p>Two<br>Three</p><script>alert(1)</script><style>p{color:red}</style>"
        "<ul><li>a</li><li>b</li></ul><noscript>nojs</noscript><div>A&nbsp;&nbsp;B\u3000C</div>"
    )
    assert html_to_text(html) == "One\n\nTwo\nThree\n\na\n\nb\n\nA B C"
    assert html_to_text("plain &amp; simple") == "plain & simple"
    assert html_to_text("5 < 6 & 7") == "5 < 6 & 7"
    assert html_to_text("") == html_to_text("   ") == ""
    assert "alert" not in html_to_text("<div><script>alert(2)</script>text</div>")


def test_content_hash_folds_spacing_case_and_width_not_wording() -> None:
    base = content_hash("Ransomware Alert", "攻撃者は ＶＰＮ 装置を\n狙った。")
    assert content_hash("ransomware   alert", "攻撃者は VPN 装置を 狙った。") == base
    assert content_hash(" RANSOMWARE ALERT ", "攻撃者は\tＶＰＮ\n\n装置を 狙った。") == base
    assert content_hash("Ransomware Alert", "攻撃者は ＶＰＮ 装置を\n狙わなかった。") != base
    assert content_hash("Ransomware Alerts", "攻撃者は ＶＰＮ 装置を\n狙った。") != base
    assert re.fullmatch(r"[0-9a-f]{64}", base)


def entry(title: str, body: str = "", language: str | None = None) -> Entry:
    return Entry("g", "http://example.jp/a", title, summary_html=body, language=language)


@pytest.mark.parametrize(
    ("item", "feed_language", "language"),
    [
        (entry("脆弱性情報", "<p>攻撃者は公開サーバーの脆弱性を突いて侵入した。</p>"), None, "ja"),
        (entry("Patch now", "<p>Administrators should apply the update today.</p>"), "ja", "en"),
        (entry("VPN 装置", "<p>The VPN appliance is attacked; 至急パッチを適用してください。</p>"),
         None, "mixed"),
        (entry("12345", "", language="en-US"), "ja", "en"),
        (entry("", ""), "ja-JP", "ja"),
        (entry("42", ""), None, None),
    ],
)  # fmt: skip
def test_to_article_detects_the_language(
    item: Entry, feed_language: str | None, language: str | None
) -> None:
    article = to_article(item, feed_language=feed_language)
    assert article.language == language


def test_to_article_text_title_dates_and_hash() -> None:
    item = Entry(
        guid="g1",
        link="http://Example.jp/a?utm_source=rss#top",
        title="  <b>太字</b>の  見出し ",
        summary_html="<p>要約です。</p>",
        content_html="<p>本文の一段落目。</p><p>二段落目。</p>",
        updated=datetime(2025, 1, 2, tzinfo=UTC),
        author="記者",
    )
    article = to_article(item, feed_language="ja")
    assert article.title == "太字の 見出し"
    assert (article.summary, article.text) == ("要約です。", "本文の一段落目。\n\n二段落目。")
    assert article.canonical_url == "http://example.jp/a"
    assert article.url == "http://Example.jp/a?utm_source=rss#top"
    assert article.published == datetime(2025, 1, 2, tzinfo=UTC)
    assert article.content_hash == content_hash("太字の 見出し", "本文の一段落目。\n\n二段落目。")
    bare = to_article(Entry(guid="g2", link=None, title=""), feed_language=None)
    # No date in the feed: the pipeline decides (the page's date, else the poll time).
    assert (bare.title, bare.text, bare.published) == ("(untitled)", "", None)
    assert bare.canonical_url is None
