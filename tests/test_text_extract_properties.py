"""Property and adversarial tests for the indicator extractor (kizashi.text.extract).

Round trips through defang/refang and full-width forms, well-formed hits on arbitrary
text, bounded work on 10^5-character adversarial inputs, exact linear scaling of repeated
indicators, and offsets that point at the written spelling. Hang guards are
pytest-timeout markers only; nothing here is timed. Bugs these properties found are kept
as regression cases with their minimal input (REGRESSIONS).
"""

from __future__ import annotations

import ipaddress
import random
import re

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from publicsuffixlist import PublicSuffixList

from kizashi.text.extract import TYPES, Hit, defang, extract, refang

# -- generators ---------------------------------------------------------------------------

TLDS = ("com", "net", "org", "jp", "co.jp", "io", "info", "top", "xyz")
SCHEMES = ("http", "https", "ftp", "ftps", "sftp", "tcp", "udp")
_PSL = PublicSuffixList(accept_unknown=False)

labels = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def _registrable(name: str) -> bool:
    """A name with a label of its own under a public suffix (``co.jp`` alone is not)."""
    return _PSL.publicsuffix(name) not in (None, name)


@st.composite
def domains(draw: st.DrawFn) -> str:
    parts = draw(st.lists(labels, min_size=1, max_size=4))
    name = ".".join([*parts, draw(st.sampled_from(TLDS))])
    assume(len(name) <= 253 and _registrable(name))
    return name


unswallowed_domains = domains()


def _public(address: ipaddress.IPv4Address) -> bool:
    return address.is_global and not (address.is_multicast or address.is_reserved)


ipv4s = (
    st.integers(min_value=0, max_value=2**32 - 1)
    .map(ipaddress.IPv4Address)
    .filter(_public)
    .map(str)
)

_userpart = st.from_regex(r"\A[a-z0-9](?:[a-z0-9._-]{0,10}[a-z0-9])?\Z")
_segment = st.from_regex(r"\A[A-Za-z0-9_~-]{1,12}(?:\.[A-Za-z0-9]{1,5})?\Z")
_qword = st.from_regex(r"\A[A-Za-z0-9_-]{1,8}\Z")


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(SCHEMES))
    userinfo = ""
    if draw(st.booleans()):
        userinfo = draw(_userpart)
        if draw(st.booleans()):
            userinfo += ":" + draw(_userpart)
        userinfo += "@"
    host = draw(st.one_of(domains(), ipv4s))
    port = f":{draw(st.integers(1, 65535))}" if draw(st.booleans()) else ""
    path = ""
    if draw(st.booleans()):
        path = "/" + "/".join(draw(st.lists(_segment, max_size=4)))
    query = ""
    if draw(st.booleans()):
        pairs = draw(st.lists(st.tuples(_qword, _qword), min_size=1, max_size=3))
        query = "?" + "&".join(f"{k}={v}" for k, v in pairs)
    url = f"{scheme}://{userinfo}{host}{port}{path}{query}"
    # A literal "hxxp" in a path is a defang marker to refang(): not a round-trippable URL.
    assume("hxxp" not in url.lower())
    return url


@st.composite
def emails(draw: st.DrawFn) -> str:
    return f"{draw(_userpart)}@{draw(domains())}"


_md5s = st.binary(min_size=16, max_size=16).map(bytes.hex)
_sha1s = st.binary(min_size=20, max_size=20).map(bytes.hex)
_sha256s = st.binary(min_size=32, max_size=32).map(bytes.hex)

_QUAD = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


def _fullwidth(value: str) -> str:
    """ASCII 0x21-0x7E to the full-width forms U+FF01-U+FF5E (same length)."""
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in value)


def _host_of(url: str) -> str:
    authority = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    hostport = authority.rpartition("@")[2]
    return hostport.rsplit(":", 1)[0] if ":" in hostport else hostport


# -- checks -------------------------------------------------------------------------------

_OFFSET_TYPES = frozenset({"ipv4", "domain", "url", "email", "md5", "sha1", "sha256"})


def _check_invariants(text: str, hits: list[Hit]) -> None:
    """Offsets in range, known types, non-empty values, and (5) spans that refang to the
    value for the network and hash types."""
    for hit in hits:
        assert 0 <= hit.start < hit.end <= len(text), hit
        assert hit.type in TYPES, hit
        assert hit.value, hit
        if hit.type in _OFFSET_TYPES:
            written = refang(text[hit.start : hit.end]).lower()
            assert written == hit.value.lower(), hit


def _check_sorted(hits: list[Hit]) -> None:
    starts = [h.start for h in hits]
    assert starts == sorted(starts), hits


def _contexts(spelling: str) -> list[tuple[str, int]]:
    """``spelling`` in English prose, before a full stop, glued inside Japanese, in 「」,
    and alone; with where it starts."""
    return [
        (f"Analysts saw traffic to {spelling} during the incident.", 24),
        (f"The beacon went to {spelling}.", 19),
        (f"通信先は{spelling}であり、現在も稼働している。", 4),
        (f"「{spelling}」への接続を確認した。", 1),
        (spelling, 0),
    ]


def _check_found(kind: str, value: str) -> None:
    """(1) ``value`` is found, with its type, in every spelling and context, and the hit
    covers exactly the spelling as written."""
    defanged = defang(value)
    assert refang(defanged) == value
    assert refang(_fullwidth(value)) == value
    for spelling in (value, defanged, _fullwidth(value)):
        for text, start in _contexts(spelling):
            hits = extract(text)
            _check_invariants(text, hits)
            end = start + len(spelling)
            assert text[start:end] == spelling
            assert any(
                h.type == kind and h.value == value and (h.start, h.end) == (start, end)
                for h in hits
            ), (text, hits)
            if kind == "url":
                host = _host_of(value)
                host_kind = "ipv4" if _QUAD.fullmatch(host) else "domain"
                assert any(h.type == host_kind and h.value == host for h in hits), hits
            elif kind == "email":
                domain = value.rpartition("@")[2]
                assert any(h.type == "domain" and h.value == domain for h in hits), hits
                assert not any(h.type == "url" for h in hits), hits
            elif kind in ("domain", "ipv4"):
                assert [h for h in hits if h.type in ("url", "email")] == [], hits


# -- 1. round trips -----------------------------------------------------------------------

ROUNDTRIP = settings(deadline=None, max_examples=250, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.timeout(60)
@ROUNDTRIP
@given(unswallowed_domains)
@example("a.co.jp")
@example("xn--wgv71a.jp")
@example("1-2-3-4.com")
@example("1.2.3.4.5.com")
def test_domain_roundtrip(name: str) -> None:
    _check_found("domain", name)


@pytest.mark.timeout(60)
@ROUNDTRIP
@given(ipv4s)
@example("45.77.12.34")
@example("1.0.0.1")
def test_ipv4_roundtrip(address: str) -> None:
    _check_found("ipv4", address)


@pytest.mark.timeout(60)
@ROUNDTRIP
@given(urls())
@example("https://user:pw@evil.co.jp:8443/a/b.php?x=1&y=2")
@example("tcp://45.77.12.34:443")
@example("sftp://1.2.3.4.com/")
def test_url_roundtrip(url: str) -> None:
    _check_found("url", url)


@pytest.mark.timeout(60)
@ROUNDTRIP
@given(emails())
@example("a.b-c@mail.example.co.jp")
@example("x@cve-2024-1234.com")
def test_email_roundtrip(address: str) -> None:
    _check_found("email", address)


@pytest.mark.timeout(60)
@ROUNDTRIP
@given(st.one_of(_md5s, _sha1s, _sha256s))
def test_hash_found_in_every_spelling(digest: str) -> None:
    kind = {32: "md5", 40: "sha1", 64: "sha256"}[len(digest)]
    for spelling in (digest, digest.upper(), _fullwidth(digest)):
        for text, start in _contexts(spelling):
            hits = extract(text)
            _check_invariants(text, hits)
            assert [(h.type, h.value, h.start, h.end) for h in hits] == [
                (kind, digest, start, start + len(digest))
            ]


# -- 2. never crashes, never hangs --------------------------------------------------------

_KANA_KANJI = "あいうえおかきくけこアイウエオカキクケコ通信先不正稼働現在接続版第節。、「」（）・"
_FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
_ASCII = "".join(chr(c) for c in range(0x20, 0x7F)) + "\n\t"
_SIGNAL_HEAVY = "[].:/@\\%(){}\"'" + "aAcCxX0159fF-hH*" + " "

alphabets = st.sampled_from(
    [_ASCII, _SIGNAL_HEAVY, _ASCII + _KANA_KANJI + _FULLWIDTH, _KANA_KANJI + _SIGNAL_HEAVY]
)

FRAGMENTS = [
    "hxxp://", "hxxps://", "h**p://", "http://", "tcp://", "ws://", "[.]", "(.)", "{.}",
    "[dot]", "(dot)", "[:]", "[://]", "[at]", "(at)", "[@]", "[/]", "@", ".", ":", "::",
    "/", "\\", "\\\\", "%", "%APPDATA%", "evil", "com", "co.jp", "45", "77", "12", "255",
    "0", "dead", "beef", "C:\\", "HKLM\\", "User-Agent: ", '"', "'", "「", "」", " ",
    "\n", "、", "。", "であり", "version ", "第", "節", "CVE-2024-1234", "T1059.001",
    "AS13335", "d41d8cd98f00b204e9800998ecf8427e", "a.exe", "setup.py", "ｅｖｉｌ．ｃｏｍ",
    "１９２．１６８", "＠", "：／／", "［．］", "00:1a:2b:3c:4d:5e", "2001:db8::1", "/24",
]  # fmt: skip

arbitrary_text = st.one_of(
    st.text(max_size=300),
    alphabets.flatmap(lambda a: st.text(alphabet=a, max_size=300)),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
)

FUZZ = settings(deadline=None, max_examples=800, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.timeout(60)
@FUZZ
@given(arbitrary_text)
def test_arbitrary_text_gives_well_formed_hits(text: str) -> None:
    hits = extract(text)
    _check_invariants(text, hits)
    # Flags only annotate: the hits are the same without them.
    assert extract(text, flag=False) == [Hit(h.type, h.value, h.start, h.end) for h in hits]


@pytest.mark.timeout(60)
@FUZZ
@given(arbitrary_text)
@example("a.exe,evil.com")
def test_arbitrary_text_hits_are_sorted(text: str) -> None:
    _check_sorted(extract(text))


# -- 3. adversarial inputs at 10^5 characters ---------------------------------------------

_HEX = "".join(random.Random(20240601).choice("0123456789abcdef") for _ in range(100_000))

ADVERSARIAL = {
    "a-": "a-" * 50_000,
    "a.": "a." * 50_000,
    "zeros": "0" * 100_000,
    "brackets": "[" * 100_000,
    "slashes": "/" * 100_000,
    "a:": "a:" * 50_000,
    "hex": _HEX,
    "long-url-host": "http://" + "a" * 100_000,
    "x@": "x@" * 50_000,
    "1.": "1." * 50_000,
    "0:": "0:" * 50_000,
    "drive-path": "C:\\" + "a \\" * 30_000,
    "registry": "HKLM\\" + "a b\\" * 30_000,
    "user-agent": "User-Agent: " * 8_000,
    "quoted-drive": '"C:\\' * 20_000,
    "kana-dots": "あ." * 50_000,
    "ones": "1" * 100_000,
    "defang-dots": "[.]" * 30_000,
    "hxxp": "hxxp://" * 15_000,
    "env-var": "%A%\\" * 20_000,
}
ADVERSARIAL["mix"] = "".join(ADVERSARIAL.values())


def _expect_nothing(text: str, hits: list[Hit]) -> None:
    assert hits == []


def _expect_drive_path(text: str, hits: list[Hit]) -> None:
    # One path, from the drive to the last segment's text before its space.
    assert [(h.type, h.start, h.end) for h in hits] == [("file-path", 0, len(text) - 2)]
    assert hits[0].value == text[: len(text) - 2]


def _expect_registry_key(text: str, hits: list[Hit]) -> None:
    # One key; the last segment "a b" ends at its space (P2), so the key ends "...\\a".
    assert [(h.type, h.start, h.end) for h in hits] == [("registry-key", 0, len(text) - 3)]
    assert hits[0].value == text[: len(text) - 3]


def _expect_user_agents(text: str, hits: list[Hit]) -> None:
    # At most one value per label, each read to at most 1024 characters.
    assert {h.type for h in hits} <= {"user-agent"}
    assert len(hits) <= text.count("User-Agent:")
    assert all(len(h.value) <= 1024 for h in hits)


def _expect_bounded_mix(text: str, hits: list[Hit]) -> None:
    # The parts glue together, so only the path, key and header readers can fire; none
    # of the dotted, hex or defanged runs becomes an indicator.
    assert {h.type for h in hits} <= {"file-path", "registry-key", "user-agent"}
    _expect_user_agents(text, [h for h in hits if h.type == "user-agent"])
    assert len(hits) <= text.count("User-Agent:") + 2


ADVERSARIAL_EXPECT = dict.fromkeys(ADVERSARIAL, _expect_nothing) | {
    "drive-path": _expect_drive_path,
    "registry": _expect_registry_key,
    "user-agent": _expect_user_agents,
    "mix": _expect_bounded_mix,
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_input(name: str) -> None:
    text = ADVERSARIAL[name]
    assert len(text) >= 60_000
    hits = extract(text)
    _check_invariants(text, hits)
    ADVERSARIAL_EXPECT[name](text, hits)
    # "1." * 50000 has five or more dotted groups: never an IP (I1).
    assert not any(h.type in ("ipv4", "ipv6", "cidr") for h in hits)


# -- 4. linear scaling, by counting -------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("n", [2_000, 4_000])
@pytest.mark.parametrize("sep", [" ", ",", "、", "\n", "であり"])
def test_repeated_addresses_one_hit_each(n: int, sep: str) -> None:
    items = [f"45.77.{(i // 256) % 256}.{i % 256}" for i in range(n)]
    text = sep.join(items)
    hits = extract(text)
    assert [(h.type, h.value) for h in hits] == [("ipv4", item) for item in items]
    starts = [0]
    for item in items[:-1]:
        starts.append(starts[-1] + len(item) + len(sep))
    assert [h.start for h in hits] == starts


UNITS = [
    "45.77.12.34 ",
    "45.77.12.34,",
    "evil[.]com ",
    "evil.com,",
    "hxxp://evil[.]com/a?b=1 ",
    "user[@]evil[.]co[.]jp, ",
    "d41d8cd98f00b204e9800998ecf8427e ",
    "通信先は45.77.12.34であり、",
    "ｅｖｉｌ．ｃｏｍ、",
    "C:\\Windows\\a.exe ",
    "HKCU\\Software\\Run\n",
    "User-Agent: curl/8.0\n",
    "CVE-2024-1234 T1059.001 AS13335 ",
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("unit", UNITS)
def test_repeated_unit_scales_exactly(unit: str) -> None:
    """``unit * k`` gives ``k`` copies of ``unit``'s hits, shifted, for k and 2k."""
    one = extract(unit)
    assert one, unit
    for k in (1_000, 2_000):
        expected = [
            Hit(h.type, h.value, h.start + i * len(unit), h.end + i * len(unit), h.flags)
            for i in range(k)
            for h in one
        ]
        assert extract(unit * k) == expected


@pytest.mark.timeout(30)
@pytest.mark.parametrize("unit", ["a.", "1.", "0:", "[.]", "a-", "x@", "hxxp://", "あ."])
def test_degenerate_patterns_stay_empty_as_they_grow(unit: str) -> None:
    for k in (10_000, 20_000):
        assert extract(unit * k) == []


# -- 5. offsets on generated mixtures -----------------------------------------------------

indicators = st.one_of(domains(), ipv4s, urls(), emails(), _md5s, _sha1s, _sha256s)
findable = st.one_of(unswallowed_domains, ipv4s, urls(), emails(), _md5s, _sha1s, _sha256s)
_SPELL = {
    "plain": lambda v: v,
    "defang": defang,
    "fullwidth": _fullwidth,
    "upper": str.upper,
    "fullwidth-defang": lambda v: _fullwidth(defang(v)),
}
spellings = st.builds(lambda v, how: _SPELL[how](v), indicators, st.sampled_from(list(_SPELL)))
separators = st.sampled_from(
    [" ", "\n", "、", "。", "であり", ", ", " (", ") ", "「", "」", "", "/"]
)
mixtures = st.lists(
    st.one_of(spellings, separators, st.sampled_from(FRAGMENTS)), min_size=1, max_size=12
).map("".join)


@pytest.mark.timeout(60)
@settings(deadline=None, max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(mixtures)
def test_offsets_point_at_the_written_spelling(text: str) -> None:
    _check_invariants(text, extract(text))


@pytest.mark.timeout(60)
@ROUNDTRIP
@given(st.lists(st.tuples(findable, st.sampled_from(list(_SPELL))), min_size=1, max_size=6))
def test_separated_indicators_are_each_found_where_written(
    items: list[tuple[str, str]],
) -> None:
    """Indicators written in any spelling, one after another: each one is found at its own
    span. (" ; " rather than a bare space: a URL path ending in "v" or "ver" followed by a
    space hides the next IP, see the version-context bug.)"""
    text = ""
    placed = []
    for value, how in items:
        spelling = _SPELL[how](value)
        if text:
            text += " ; "
        placed.append((value, len(text), len(text) + len(spelling)))
        text += spelling
    hits = extract(text)
    _check_invariants(text, hits)
    for value, start, end in placed:
        assert any(
            h.value.lower() == value.lower() and (h.start, h.end) == (start, end) for h in hits
        ), (text, value, hits)


# -- known extractor bugs (minimal inputs) ------------------------------------------------


def _bug(text: str, expected: tuple[str, str], reason: str) -> object:
    return pytest.param(text, expected, id=reason.split(":", 1)[0] + ":" + text[:30])


REGRESSIONS = [
    _bug(
        "1.2.3.4.com",
        ("domain", "1.2.3.4.com"),
        "quad-prefixed-domain: a domain whose first four labels are numbers is read as "
        "ipv4 1.2.3.4 and the domain is lost (I1: five or more dotted groups are not an IP)",
    ),
    _bug(
        "1.2.3.4-a.com",
        ("domain", "1.2.3.4-a.com"),
        "quad-prefixed-domain: a first label '4-a' after three numeric labels: the ipv4 "
        "pattern's look-ahead allows '-', so 1.2.3.4 is reported and the domain lost",
    ),
    _bug(
        "999.1.1.1.com",
        ("domain", "999.1.1.1.com"),
        "quad-prefixed-domain: an out-of-range dotted-quad prefix yields nothing at all",
    ),
    _bug(
        "1aaaaaaaaaaaaaaaaaaaaaaaaa.com",
        ("domain", "1aaaaaaaaaaaaaaaaaaaaaaaaa.com"),
        "id-shaped-label: a 26-35 character first label starting with 1 or 3 matches the "
        "Bitcoin pattern, fails the checksum, and the domain is lost (nothing extracted)",
    ),
    _bug(
        "cve-2024-1234.com",
        ("domain", "cve-2024-1234.com"),
        "id-shaped-label: the CVE pattern takes the first label; the domain is lost",
    ),
    _bug(
        "aa-bb-cc-dd-ee-ff.com",
        ("domain", "aa-bb-cc-dd-ee-ff.com"),
        "id-shaped-label: the MAC pattern takes the first label; the domain is lost",
    ),
    _bug(
        "0x" + "0" * 40 + ".com",
        ("domain", "0x" + "0" * 40 + ".com"),
        "id-shaped-label: the Ethereum pattern takes the first label; the domain is lost",
    ),
    _bug(
        "The C2 server 45.77.12.34 was active.",
        ("ipv4", "45.77.12.34"),
        "version-context: _VERSION_CONTEXT has no word boundary, so any word ending in "
        "'ver' or 'v' (server, over, driver, Nov, dev) before an IP hides it",
    ),
    _bug(
        "server 45.77.12.0/24",
        ("cidr", "45.77.12.0/24"),
        "version-context: the same missing word boundary hides a CIDR after 'server'",
    ),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("text", "expected"), REGRESSIONS)
def test_regressions(text: str, expected: tuple[str, str]) -> None:
    hits = extract(text)
    _check_invariants(text, hits)
    assert expected in {(h.type, h.value) for h in hits}, hits


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text", ["http://evil.com./", "hxxp://evil[.]com[.]/x"])
def test_url_host_span_excludes_the_root_dot(text: str) -> None:
    (domain,) = [h for h in extract(text) if h.type == "domain"]
    assert domain.value == "evil.com"
    assert refang(text[domain.start : domain.end]) == "evil.com"


_VERSION_WORDS = {"version", "ver", "v", "build", "release", "firmware"}


@pytest.mark.timeout(60)
@ROUNDTRIP
@given(
    st.from_regex(r"\A[a-z]{1,10}\Z").filter(lambda w: w not in _VERSION_WORDS),
    ipv4s,
)
@example("server", "45.77.12.34")
def test_a_prose_word_does_not_hide_the_next_address(word: str, address: str) -> None:
    hits = extract(f"The {word} {address} was seen.")
    assert ("ipv4", address) in {(h.type, h.value) for h in hits}, hits


# -- the two scans agree ------------------------------------------------------------------

_SCAN_ALPHABET = st.sampled_from(
    list("abcXYZ019.:/@\\=-_[](){}%|,;?#&!~ \n") + list("あア漢字。、「」ー１．：")
)


@given(st.text(_SCAN_ALPHABET, max_size=80), st.integers(min_value=0, max_value=80))
@settings(max_examples=600, deadline=None)
def test_the_run_start_scan_finds_what_the_master_pattern_finds(text: str, pos: int) -> None:
    """Mostly-Japanese text is scanned run by run (faster there); it must find exactly the
    matches a plain ``_MASTER.search`` finds, from any position."""
    from kizashi.text.extract import core

    pos = min(pos, len(text))
    expected = core._MASTER.search(text, pos)
    found = core._search_run_starts(text, pos)
    assert (found.span() if found else None) == (expected.span() if expected else None)
