"""STIX validation, deterministic observable ids, the bulk fast path and display names."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stix2
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kizashi.model.errors import KizashiError
from kizashi.model.stix import (
    display_name,
    format_timestamp,
    next_modified,
    observable_value,
    parse_timestamp,
    simple_file,
    simple_observable,
    simple_report,
    validate,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
VALUE_TYPES = ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "mac-addr")
SHA256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
INDICATOR = {
    "type": "indicator",
    "pattern_type": "stix",
    "pattern": "[ipv4-addr:value = '198.51.100.7']",
    "valid_from": "2025-01-01T00:00:00.000Z",
}


def problems_of(raw: Any) -> KizashiError:
    with pytest.raises(KizashiError) as info:
        validate(raw, now=NOW)
    return info.value


# -- validation ---------------------------------------------------------------------


def test_every_bad_property_is_listed_with_its_location() -> None:
    err = problems_of({**INDICATOR, "confidence": "high", "revoked": "maybe", "colour": "red"})
    assert err.code == "validation_failed"
    assert {p.loc for p in err.problems} == {"confidence", "revoked", "colour"}
    assert len(err.problems) == 3
    assert all(p.msg for p in err.problems)


def test_missing_required_and_bad_values_are_reported_together() -> None:
    err = problems_of(
        {"type": "malware", "name": "Emotet", "confidence": "high", "created": "yesterday"}
    )
    locs = {p.loc for p in err.problems}
    assert {"is_family", "confidence", "created"} <= locs
    assert next(p.msg for p in err.problems if p.loc == "is_family") == "required"


@pytest.mark.parametrize("confidence", [-1, 101, 500])
def test_confidence_outside_0_to_100_is_rejected(confidence: int) -> None:
    # STIX 2.1 section 3.2: confidence MUST be an integer in the range 0-100.
    err = problems_of(
        {"type": "malware", "name": "Emotet", "is_family": True, "confidence": confidence}
    )
    assert [p.loc for p in err.problems] == ["confidence"]


def test_custom_properties_are_allowed() -> None:
    out = validate({**INDICATOR, "x_kizashi_note": "ok"}, now=NOW)
    assert out["x_kizashi_note"] == "ok"


@pytest.mark.parametrize("stix_type", ["x-unknown", "bundle", "Indicator"])
def test_unknown_type(stix_type: str) -> None:
    err = problems_of({"type": stix_type, "name": "x"})
    assert err.code == "unknown_type"
    assert [p.loc for p in err.problems] == ["type"]


@pytest.mark.parametrize("raw", [None, [], "indicator", {"name": "no type"}, {"type": ""}])
def test_not_an_object_or_no_type(raw: Any) -> None:
    err = problems_of(raw)
    assert err.code == "validation_failed"
    assert err.problems


def test_valid_until_before_valid_from_is_rejected() -> None:
    err = problems_of({**INDICATOR, "valid_until": "2024-12-31T23:59:59.000Z"})
    assert err.code == "validation_failed"
    assert any("valid_until" in p.msg for p in err.problems)
    # The same indicator with the dates in order is fine.
    ok = validate({**INDICATOR, "valid_until": "2025-06-01T00:00:00.000Z"}, now=NOW)
    assert parse_timestamp(ok["valid_until"]) == datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "marking",
    [
        {
            "type": "marking-definition",
            "definition_type": "statement",
            "definition": {"statement": "社外秘"},
        },
        json.loads(stix2.v21.TLP_AMBER.serialize()),
    ],
    ids=["statement", "tlp1-amber"],
)
def test_marking_definitions_with_a_definition_are_valid(marking: dict[str, Any]) -> None:
    # Both are valid STIX 2.1 (stix2.parse accepts them); feeds still send TLP 1.0 markings.
    stix2.parse(
        {
            "spec_version": "2.1",
            "created": "2025-01-01T00:00:00.000Z",
            "id": f"marking-definition--{uuid.uuid4()}",
            **marking,
        },
        version="2.1",
    )
    out = validate(marking, now=NOW)
    assert out["definition"] == marking["definition"]
    assert out["definition_type"] == marking["definition_type"]


def test_defaults_filled_in_for_domain_objects() -> None:
    author = "identity--" + str(uuid.uuid4())
    out = validate(
        {"type": "malware", "name": "Emotet", "is_family": True}, now=NOW, author_ref=author
    )
    assert out["spec_version"] == "2.1"
    assert out["id"].startswith("malware--")
    assert out["created"] == out["modified"] == "2026-01-02T03:04:05.678Z"
    assert out["created_by_ref"] == author
    given_id = "malware--" + str(uuid.uuid4())
    assert (
        validate({"type": "malware", "name": "E", "is_family": True, "id": given_id}, now=NOW)["id"]
        == given_id
    )


# -- observable ids -----------------------------------------------------------------

SCOS: list[dict[str, Any]] = [
    {"type": "ipv4-addr", "value": "198.51.100.7"},
    {"type": "ipv6-addr", "value": "2001:db8::1"},
    {"type": "domain-name", "value": "例え.テスト"},
    {"type": "url", "value": 'https://evil.example/a?q="x"&b=\\'},
    {"type": "email-addr", "value": "ceo@evil.example"},
    {"type": "mac-addr", "value": "00:00:5e:00:53:af"},
    {"type": "file", "hashes": {"SHA-256": SHA256, "MD5": "0" * 32}},
    {"type": "file", "name": "請求書.pdf.exe"},
    {"type": "autonomous-system", "number": 64496, "name": "Example AS"},
    {"type": "mutex", "name": "Global\\kizashi"},
]


@pytest.mark.parametrize("raw", SCOS, ids=lambda r: r["type"])
def test_observable_ids_are_deterministic_and_match_stix2(raw: dict[str, Any]) -> None:
    first = validate(raw, now=NOW)
    later = validate(raw, now=NOW + timedelta(days=3))
    assert first["id"] == later["id"]
    assert first["id"] == stix2.parse({**raw, "spec_version": "2.1"}, version="2.1").id
    # A caller-supplied id is ignored: the value decides.
    wrong = f"{raw['type']}--{uuid.UUID(int=1)}"
    assert validate({**raw, "id": wrong}, now=NOW)["id"] == first["id"]


def test_different_values_give_different_ids() -> None:
    a = validate({"type": "domain-name", "value": "a.example"}, now=NOW)
    b = validate({"type": "domain-name", "value": "b.example"}, now=NOW)
    assert a["id"] != b["id"]


# -- the bulk fast path -------------------------------------------------------------

awkward = st.text(
    alphabet=st.sampled_from(list('ab"\\\x00\x01\x1f\x7f\u2028\u00e9e\u0301日本 \t\n/:@.'))
)


@settings(max_examples=300, deadline=None, database=None)
@given(stix_type=st.sampled_from(VALUE_TYPES), value=st.one_of(st.text(), awkward))
@example(stix_type="url", value='"quoted" \\ back\\slash')
@example(stix_type="domain-name", value="\x00\x1f\x7f")
@example(stix_type="email-addr", value="ユーザー@例え.jp")
def test_simple_observable_equals_validate(stix_type: str, value: str) -> None:
    raw = {"type": stix_type, "value": value}
    fast = simple_observable(raw)
    try:
        expected = validate(raw, now=NOW)
    except KizashiError:
        # What validate refuses, the fast path hands over to it (None), never accepts.
        assert fast is None
        return
    assert fast == expected
    assert fast == simple_observable({**raw, "spec_version": "2.1"})


@settings(max_examples=300, deadline=None, database=None)
@given(
    alg=st.sampled_from(["MD5", "SHA-1", "SHA-256", "SHA-512", "SSDEEP", "sha256"]),
    value=st.one_of(st.text(alphabet="0123456789abcdefABCDEFxyz", max_size=130), awkward),
)
@example(alg="SHA-256", value="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
@example(alg="MD5", value="D41D8CD98F00B204E9800998ECF8427E")
def test_simple_file_equals_validate(alg: str, value: str) -> None:
    raw = {"type": "file", "hashes": {alg: value}}
    fast = simple_file(raw)
    try:
        expected = validate(raw, now=NOW)
    except KizashiError:
        assert fast is None
        return
    if fast is not None:  # (the fast path may also hand a valid file over: None)
        assert fast == expected
    if alg == "SHA-256" and len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value):
        assert fast == expected


def test_simple_observable_does_not_crash_on_a_lone_surrogate() -> None:
    # A JSON body may carry "\ud800"; validate refuses it with a KizashiError, and the
    # fast path must either do the same or hand the object to validate (None).
    raw = {"type": "url", "value": "http://x/\ud800"}
    with pytest.raises(KizashiError):
        validate(raw, now=NOW)
    try:
        fast = simple_observable(raw)
    except KizashiError:
        fast = None
    assert fast is None


@pytest.mark.parametrize(
    "raw",
    [
        {
            "type": "domain-name",
            "value": "a.example",
            "id": "domain-name--" + str(uuid.UUID(int=3)),
        },
        {"type": "domain-name", "value": "a.example", "resolves_to_refs": []},
        {"type": "domain-name", "value": "a.example", "x_note": "custom"},
        {"type": "domain-name", "value": "a.example", "labels": ["x"]},
        {"type": "domain-name", "value": "a.example", "spec_version": "2.0"},
        {"type": "url", "value": 7},
        {"type": "file", "name": "a.exe"},
        {"type": "malware", "value": "x"},
    ],
)
def test_simple_observable_declines_anything_else(raw: dict[str, Any]) -> None:
    assert simple_observable(raw) is None


# -- modified ------------------------------------------------------------------------


def test_next_modified_moves_on_when_the_clock_stands_still() -> None:
    prev = format_timestamp(NOW)
    nxt = next_modified(prev, NOW)
    assert nxt > prev
    assert next_modified(nxt, NOW) > nxt
    # A clock behind the stored value still moves forward.
    assert next_modified(prev, NOW - timedelta(hours=1)) > prev
    # A clock ahead is used as is.
    assert next_modified(prev, NOW + timedelta(seconds=2)) == "2026-01-02T03:04:07.678Z"


@settings(max_examples=200, deadline=None, database=None)
@given(
    prev=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    delta_us=st.integers(min_value=-(10**9), max_value=10**9),
    micro=st.booleans(),
)
def test_next_modified_is_strictly_later(prev: datetime, delta_us: int, micro: bool) -> None:
    text = prev.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if micro else format_timestamp(prev)
    nxt = next_modified(text, prev + timedelta(microseconds=delta_us))
    assert parse_timestamp(nxt) > parse_timestamp(text)
    assert nxt == format_timestamp(parse_timestamp(nxt))


# -- names ----------------------------------------------------------------------------


def test_display_name_and_value_of_a_file() -> None:
    f = validate(
        {"type": "file", "hashes": {"MD5": "D41D8CD98F00B204E9800998ECF8427E", "SHA-256": SHA256}},
        now=NOW,
    )
    assert display_name(f) == SHA256
    assert observable_value(f) == SHA256.lower()
    md5 = validate({"type": "file", "hashes": {"MD5": "D41D8CD98F00B204E9800998ECF8427E"}}, now=NOW)
    assert observable_value(md5) == "d41d8cd98f00b204e9800998ecf8427e"
    named = validate({"type": "file", "name": "請求書.exe"}, now=NOW)
    assert display_name(named) == "請求書.exe"
    assert observable_value(named) == "請求書.exe"


def test_display_name_and_value_of_an_autonomous_system() -> None:
    bare = validate({"type": "autonomous-system", "number": 64496}, now=NOW)
    assert display_name(bare) == "AS64496"
    assert observable_value(bare) == "AS64496"
    named = validate({"type": "autonomous-system", "number": 64496, "name": "Example"}, now=NOW)
    assert display_name(named) == "Example"
    assert observable_value(named) == "AS64496"


def test_display_name_of_relationship_and_note() -> None:
    src, tgt = f"malware--{uuid.uuid4()}", f"threat-actor--{uuid.uuid4()}"
    rel = validate(
        {"type": "relationship", "relationship_type": "uses", "source_ref": tgt, "target_ref": src},
        now=NOW,
    )
    assert display_name(rel) == f"{tgt} uses {src}"
    note = validate(
        {"type": "note", "content": "\n  一行目の内容\n二行目", "object_refs": [src]}, now=NOW
    )
    assert display_name(note) == "一行目の内容"
    abstract = validate(
        {"type": "note", "abstract": "要約", "content": "本文", "object_refs": [src]}, now=NOW
    )
    assert display_name(abstract) == "要約"
    long = validate({"type": "note", "content": "x" * 300, "object_refs": [src]}, now=NOW)
    assert display_name(long) == "x" * 120
    assert observable_value(note) is None


def test_observable_value_normalises_case_where_safe() -> None:
    assert observable_value({"type": "domain-name", "value": "EVIL.Example"}) == "evil.example"
    assert (
        observable_value({"type": "email-addr", "value": "CEO@Evil.Example"}) == "ceo@evil.example"
    )
    assert observable_value({"type": "ipv6-addr", "value": "2001:DB8::1"}) == "2001:db8::1"
    # A URL path is case-sensitive and is kept as written.
    assert (
        observable_value({"type": "url", "value": "https://x.example/AbC"})
        == "https://x.example/AbC"
    )
    assert observable_value({"type": "mutex", "name": "Global\\M"}) == "Global\\M"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("cve", "CVE-2024-3400"),
        ("jvn", "JVNDB-2024-000123"),
        ("attack-technique", "T1059.001"),
        ("attack-group", "G0007"),
        ("attack-software", "S0002"),
        ("attack-tactic", "TA0001"),
    ],
)
def test_named_objects_built_directly_equal_validate(kind: str, value: str) -> None:
    from kizashi.model.observables import named_object, stix_for

    raw = stix_for(kind, value)[0]
    assert named_object(raw, format_timestamp(NOW)) == validate(raw, now=NOW)


# -- the feed pipeline's report fast path ---------------------------------------------
_EXT = "extension-definition--6596ac9a-bb87-542e-8b3f-20adf7870f44"
_AUTHOR = "identity--9e2b4f1e-1b5c-5d2a-8f3e-000000000001"
_TLP = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
_odd = st.one_of(st.text(max_size=40), awkward)
_stamp = st.one_of(
    st.sampled_from(["2025-03-01T09:00:00Z", "2025-03-01T09:00:00.000Z", "2025-02-30T00:00:00Z",
                     "2025-03-01T09:00:00.120Z", "2025-03-01T09:00:00.123456Z", "2025-03-01"]),
    st.text(max_size=25),
)  # fmt: skip


@st.composite
def pipeline_reports(draw: st.DrawFn) -> dict[str, Any]:
    report: dict[str, Any] = {
        "type": "report",
        "id": draw(st.sampled_from([f"report--{uuid.UUID(int=7, version=4)}", "report--x"])),
        "name": draw(_odd),
        "published": draw(_stamp),
        "object_refs": draw(st.sampled_from([[_AUTHOR], [], ["identity--bad"], [_AUTHOR, _TLP]])),
        "created_by_ref": _AUTHOR,
    }
    for key, strategy in [
        ("description", _odd),
        ("lang", _odd),
        ("report_types", st.lists(_odd, max_size=2)),
        ("labels", st.lists(_odd, max_size=2)),
        ("object_marking_refs", st.sampled_from([[_TLP], []])),
        (
            "external_references",
            st.lists(
                st.fixed_dictionaries({"source_name": _odd}, optional={"url": _odd}), max_size=2
            ),
        ),
        (
            "extensions",
            st.fixed_dictionaries(
                {
                    _EXT: st.fixed_dictionaries(
                        {"extension_type": st.just("property-extension")},
                        optional={"url": _odd, "summary": _odd},
                    )
                }
            ),
        ),
    ]:
        if draw(st.booleans()):
            report[key] = draw(strategy)
    return report


@settings(max_examples=500, deadline=None, database=None)
@given(pipeline_reports())
def test_simple_report_equals_validate(raw: dict[str, Any]) -> None:
    fast = simple_report(raw, now=NOW, author_ref=_AUTHOR)
    try:
        expected = validate(raw, now=NOW, author_ref=_AUTHOR)
    except KizashiError:
        assert fast is None  # what validate refuses is never accepted on the fast path
        return
    if fast is not None:
        assert fast == expected


def test_simple_report_takes_what_the_feed_pipeline_makes() -> None:
    raw = {
        "type": "report", "id": f"report--{uuid.UUID(int=9, version=4)}", "name": "記事",
        "published": "2025-03-01T09:00:00.000Z", "description": "本文", "lang": "ja",
        "report_types": ["threat-report"], "object_refs": [_AUTHOR], "created_by_ref": _AUTHOR,
        "labels": ["apt"], "external_references": [{"source_name": "JPCERT", "url": "https://a"}],
        "extensions": {_EXT: {"extension_type": "property-extension", "url": "https://a"}},
    }  # fmt: skip
    fast = simple_report(raw, now=NOW, author_ref=_AUTHOR)
    assert fast is not None and fast == validate(raw, now=NOW, author_ref=_AUTHOR)
