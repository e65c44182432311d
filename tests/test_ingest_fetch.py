"""Fetcher against a local server that misbehaves on purpose (see feedserver.py)."""

from __future__ import annotations

import gzip
import ipaddress
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from feedserver import BIG_SIZE, FIXTURES, FeedServer
from kizashi.ingest.fetch import Fetcher, FetchError, FetchLimits, retry_after_seconds
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from support import shared_data

LOOPBACK = "127.0.0.1/32"
MakeFetcher = Callable[..., Fetcher]


@pytest.fixture(scope="module")
def running() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def server(running: FeedServer) -> FeedServer:
    running.reset()
    return running


@pytest.fixture
def make() -> Iterator[MakeFetcher]:
    made: list[Fetcher] = []

    def build(allow: str | None = LOOPBACK, **limits: Any) -> Fetcher:
        fetcher = Fetcher(AddressPolicy(parse_allowlist(allow)), FetchLimits(**limits))
        made.append(fetcher)
        return fetcher

    yield build
    for fetcher in made:
        fetcher.close()


@pytest.fixture
def fetcher(make: MakeFetcher) -> Fetcher:
    return make()


def failure(fetcher: Fetcher, url: str, **kwargs: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetcher.get(url, **kwargs)
    return info.value


def number_in(message: str) -> int:
    """The first byte count in a too_large message ("more than 1,048,576 bytes")."""
    match = re.search(r"(\d[\d,]*) bytes", message)
    assert match, message
    return int(match.group(1).replace(",", ""))


# -- ordinary answers ----------------------------------------------------------------


def test_200_body_and_headers(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.url("/items/3")
    result = fetcher.get(url, accept="application/rss+xml", headers={"X-Test": "1"})
    assert (result.status, result.url, result.not_modified) == (200, url, False)
    assert all(name == name.lower() for name in result.headers)
    assert result.content_type.startswith("application/rss+xml")
    assert result.headers["content-length"] == str(len(result.body))
    items = ET.fromstring(result.body).findall("./channel/item")
    assert [i.findtext("guid") for i in items] == [f"kizashi-test-item-{n}" for n in (1, 2, 3)]
    assert items[0].findtext("link") == server.url("/article/1")
    seen = server.last_headers("/items/3")
    assert seen["user-agent"].startswith("Kizashi/")
    assert seen["accept"] == "application/rss+xml" and seen["x-test"] == "1"
    assert "gzip" in seen["accept-encoding"]
    assert "if-none-match" not in seen and "if-modified-since" not in seen


def test_article_page(server: FeedServer, fetcher: Fetcher) -> None:
    page = fetcher.get(server.url("/article/7")).body.decode()
    assert f'<link rel="canonical" href="{server.url("/article/7")}">' in page
    assert page.count("<p>") >= 5 and '<meta name="author"' in page and "<article>" in page


@pytest.mark.parametrize(
    "name", ["ja-sjis-rss2.xml", "ja-eucjp-rdf.xml", "ja-utf8-atom.xml", "ja-jsonfeed.json"]
)
def test_japanese_fixtures_served_byte_for_byte(
    server: FeedServer, fetcher: Fetcher, name: str
) -> None:
    result = fetcher.get(server.url(f"/ja/{name}"))
    assert result.body == (FIXTURES / name).read_bytes()
    codec = {"sjis": "shift_jis", "eucjp": "euc_jp"}.get(name.split("-")[1], "utf-8")
    text = result.body.decode(codec)  # strict: the file is in the encoding it declares
    assert text.encode(codec) == result.body
    assert any(ch in text for ch in "〜～①髙﨑−‖")


def test_corpus_file_with_its_declared_content_type(server: FeedServer, fetcher: Fetcher) -> None:
    corpus = shared_data("feeds", "feedparser")
    name = "encoding/http_text_atom_xml_charset.xml"
    result = fetcher.get(server.url(f"/corpus/{name}"))
    assert result.body == (corpus / name).read_bytes()
    assert result.headers["content-type"] == "text/atom+xml;charset='us-ascii'"
    plain = fetcher.get(server.url("/corpus/illformed/chardet/shiftjis.xml"))
    assert plain.headers["content-type"] == "application/xml"
    assert failure(fetcher, server.url("/corpus/%2e%2e/%2e%2e/README.md")).status == 404


def test_empty_html_and_entity_bomb_are_returned_as_bytes(
    server: FeedServer, fetcher: Fetcher
) -> None:
    assert fetcher.get(server.url("/empty")).body == b""
    page = fetcher.get(server.url("/html"))
    assert page.content_type.startswith("text/html") and b"<html" in page.body
    laughs = fetcher.get(server.url("/billion-laughs")).body
    assert b"<!ENTITY lol9" in laughs and len(laughs) < 10_000  # fetched, never expanded


def test_set_serves_dynamic_content_chunked(server: FeedServer, fetcher: Fetcher) -> None:
    server.set("/mine", b"<rss/>", {"Transfer-Encoding": "chunked", "X-Mine": "yes"}, 200)
    result = fetcher.get(server.url("/mine"))
    assert (result.body, result.headers["x-mine"]) == (b"<rss/>", "yes")
    assert "content-length" not in result.headers


def test_gzip_encoded_response_is_decoded(server: FeedServer, fetcher: Fetcher) -> None:
    feed = (FIXTURES / "ja-utf8-atom.xml").read_bytes()
    server.set("/gz", gzip.compress(feed), {"Content-Encoding": "gzip"})
    result = fetcher.get(server.url("/gz"))
    assert result.body == feed and result.headers["content-encoding"] == "gzip"


# -- conditional requests ------------------------------------------------------------


def test_etag_round_trip(server: FeedServer, fetcher: Fetcher) -> None:
    first = fetcher.get(server.url("/etag"))
    assert (first.status, first.etag) == (200, '"v1"') and first.body
    again = fetcher.get(server.url("/etag"), etag=first.etag)
    assert again.not_modified and again.body == b"" and again.etag == '"v1"'
    assert server.last_headers("/etag")["if-none-match"] == '"v1"'
    assert fetcher.get(server.url("/etag"), etag='"v0"').status == 200


def test_last_modified_round_trip(server: FeedServer, fetcher: Fetcher) -> None:
    first = fetcher.get(server.url("/lastmod"))
    assert first.status == 200 and first.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    again = fetcher.get(server.url("/lastmod"), last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    assert server.last_headers("/lastmod")["if-modified-since"] == first.last_modified
    assert server.count("/lastmod") == 2


# -- redirects -----------------------------------------------------------------------


@pytest.mark.parametrize("hops", [1, 3, 5])
def test_redirects_within_the_limit(server: FeedServer, make: MakeFetcher, hops: int) -> None:
    result = make(max_redirects=5).get(server.url(f"/redirect/{hops}"))
    assert result.status == 200 and result.url == server.url("/redirect/0")
    assert b"redirect target" in result.body
    assert server.total() == hops + 1


def test_too_many_redirects(server: FeedServer, make: MakeFetcher) -> None:
    error = failure(make(max_redirects=5), server.url("/redirect/6"))
    assert error.kind == "redirects" and "more than 5 redirects" in error.message
    assert server.total() == 6 and server.count("/redirect/0") == 0


def test_redirect_loop(server: FeedServer, fetcher: Fetcher) -> None:
    error = failure(fetcher, server.url("/loop/a"))
    assert error.kind == "redirects" and "loop" in error.message
    assert server.log == [("GET", "/loop/a"), ("GET", "/loop/b")]


@pytest.mark.parametrize(
    ("path", "address"), [("/to-private", "10.0.0.1"), ("/to-metadata", "169.254.169.254")]
)
def test_redirect_to_internal_address_refused(
    server: FeedServer, fetcher: Fetcher, path: str, address: str
) -> None:
    error = failure(fetcher, server.url(path))
    assert error.kind == "refused" and address in error.message
    assert error.url == server.url(path)
    assert server.log == [("GET", path)]


def test_authorization_not_forwarded_to_another_origin(
    server: FeedServer, fetcher: Fetcher
) -> None:
    with FeedServer() as other:
        server.set("/away", b"", {"Location": other.url("/items/1")}, 302)
        fetcher.get(server.url("/away"), headers={"Authorization": "Bearer secret"})
        assert server.last_headers("/away")["authorization"] == "Bearer secret"
        assert "authorization" not in other.last_headers("/items/1")


# -- refusals before connecting ---------------------------------------------------------


def test_loopback_refused_without_allowlist(server: FeedServer, make: MakeFetcher) -> None:
    error = failure(make(allow=None), server.url("/items/1"))
    assert error.kind == "refused" and "KIZASHI_FETCH_ALLOW" in error.message
    assert server.total() == 0


@pytest.mark.parametrize(
    ("host", "allow"),
    [
        ("[::1]", None),
        ("[::1]", LOOPBACK),  # an IPv4 allowlist does not open IPv6 loopback
        ("127.0.0.2", LOOPBACK),
        ("localhost", None),
        ("127.1", None),
        ("2130706433", None),  # 127.0.0.1 as one decimal number
    ],
)
def test_other_loopback_spellings_refused(
    server: FeedServer, make: MakeFetcher, host: str, allow: str | None
) -> None:
    error = failure(make(allow=allow), f"http://{host}:{server.port}/items/1")
    assert error.kind == "refused", error
    assert server.total() == 0


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.jp/feed.xml",
        "gopher://example.jp:70/1",
        "javascript:alert(1)",
        "http:///no-host",
        "//example.jp/feed",
    ],
)
def test_non_http_urls(fetcher: Fetcher, url: str) -> None:
    error = failure(fetcher, url)
    assert error.kind == "bad_url" and error.url == url


# -- status codes --------------------------------------------------------------------


def test_429_is_throttled_with_retry_after(server: FeedServer, fetcher: Fetcher) -> None:
    error = failure(fetcher, server.url("/429"))
    assert (error.kind, error.status, error.retry_after) == ("throttled", 429, 120.0)


def test_503_with_http_date(server: FeedServer, fetcher: Fetcher) -> None:
    error = failure(fetcher, server.url("/503-date"))
    assert (error.kind, error.status) == ("throttled", 503)
    assert error.retry_after is not None and 0 <= error.retry_after <= 120


def test_500_and_404_are_http_errors(server: FeedServer, fetcher: Fetcher) -> None:
    error = failure(fetcher, server.url("/500"))
    assert (error.kind, error.status) == ("http", 500)
    assert failure(fetcher, server.url("/no-such-route")).status == 404


def test_retry_after_with_a_non_ascii_digit(server: FeedServer, fetcher: Fetcher) -> None:
    # "\xb2" goes on the wire as one latin-1 byte; httpx reads it back as "²"
    server.set("/odd-retry", b"", {"Retry-After": "\xb2"}, 429)
    error = failure(fetcher, server.url("/odd-retry"))
    assert error.kind == "throttled" and error.retry_after is None


# -- time limits (no timed assertions: only the kind) ------------------------------------


@pytest.mark.parametrize("path", ["/slow", "/trickle", "/trickle-headers"])
def test_slow_servers_time_out(server: FeedServer, make: MakeFetcher, path: str) -> None:
    error = failure(make(total_timeout=1.0, connect_timeout=1.0), server.url(path))
    assert error.kind == "timeout", error


# -- size limits ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_big_bodies_stop_at_the_limit(server: FeedServer, make: MakeFetcher, path: str) -> None:
    error = failure(make(max_bytes=1_000_000), server.url(path))
    assert error.kind == "too_large" and "over the limit of 1,000,000" in error.message
    if path == "/big":  # refused on its Content-Length
        assert f"{BIG_SIZE:,} bytes" in error.message
    else:  # counted while reading, and it stopped early
        assert "more than" in error.message and number_in(error.message) < BIG_SIZE
    assert server.wait_finished(path)
    assert server.sent(path) < BIG_SIZE  # the client hung up before the end


def test_gzip_bomb(server: FeedServer, make: MakeFetcher) -> None:
    error = failure(make(max_bytes=1_000_000), server.url("/gzip-bomb"))
    assert error.kind == "too_large" and "1,000,000" in error.message


def test_nested_gzip_bomb_decoded_in_bounded_steps(server: FeedServer, make: MakeFetcher) -> None:
    """'Content-Encoding: gzip, gzip': 64 MiB from ~200 bytes; the cap must hold in memory."""
    error = failure(make(max_bytes=1_000_000), server.url("/gzip-bomb-nested"))
    assert error.kind == "too_large"
    assert number_in(error.message) <= 4_000_000, error.message


# -- unit tests ----------------------------------------------------------------------

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(days=1), usegmt=True), 0.0),
        ("Fri, 02 Jan 2026 03:05:05 -0000", 60.0),  # no zone: taken as UTC
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("²", None),
        ("¹²", None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, NOW) == expected


def test_parse_allowlist() -> None:
    assert parse_allowlist(None) == () and parse_allowlist(" , ") == ()
    nets = parse_allowlist("127.0.0.1/32, 10.1.2.3/16,::1")
    assert nets == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("::1/128"),
    )
    assert parse_allowlist(["192.168.0.0/24"]) == (ipaddress.ip_network("192.168.0.0/24"),)


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "example.jp", "300.1.1.1", "fe80::/129"])
def test_parse_allowlist_names_the_bad_entry(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        parse_allowlist(f"127.0.0.1/32, {bad}")


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888"])
def test_public_addresses_permitted(address: str) -> None:
    assert AddressPolicy().permits(address)


NOT_PUBLIC = [
    "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1",
    "127.0.0.1", "127.255.0.1", "169.254.169.254", "::1", "fe80::1", "fe80::1%eth0",
    "febf::1", "fc00::1", "fd12:3456::1", "100.64.0.1", "100.127.255.255", "0.0.0.0", "::",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "224.0.0.1",
    "224.0.1.1", "239.255.255.250", "ff02::1", "ff0e::1", "255.255.255.255",
]  # fmt: skip


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_refused(address: str) -> None:
    assert not AddressPolicy().permits(address)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 (RFC 6052) of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible (deprecated) 127.0.0.1
        "fec0::1",  # site-local (deprecated, still not public)
    ],
)
def test_ipv6_forms_of_internal_addresses_refused(address: str) -> None:
    assert not AddressPolicy().permits(address)


def test_allowlist_admits_only_its_ranges() -> None:
    policy = AddressPolicy(parse_allowlist("127.0.0.1/32, 10.1.0.0/16, fd00::/8"))
    assert policy.permits("127.0.0.1") and policy.permits("::ffff:127.0.0.1")
    assert policy.permits("10.1.200.3") and policy.permits("fd00::5")
    assert not policy.permits("127.0.0.2") and not policy.permits("10.2.0.1")
    assert not policy.permits("::1") and policy.permits("8.8.8.8")


def test_redact_url_hides_passwords_only() -> None:
    from kizashi.ingest.fetch import redact_url

    assert redact_url("https://feeds.example/rss") == "https://feeds.example/rss"
    assert (
        redact_url("https://bob:s3cret@feeds.example:8443/rss?x=1")
        == "https://bob:***@feeds.example:8443/rss?x=1"
    )
    assert redact_url("https://tok3n@feeds.example/rss") == "https://***@feeds.example/rss"
    assert "s3cret" not in redact_url("http://a:s3cret@[2001:db8::1]/x")
