"""The values a STIX pattern names (model/patterns.py): what indicators are looked up by."""

from __future__ import annotations

import pytest

from kizashi.model.patterns import MAX_VALUES, pattern_values


@pytest.mark.parametrize(
    ("pattern", "values"),
    [
        ("[ipv4-addr:value = '198.51.100.7']", ["198.51.100.7"]),
        ("[domain-name:value = 'Evil.Example.COM']", ["evil.example.com"]),
        ("[file:hashes.'SHA-256' = 'AB" + "0" * 62 + "']", ["ab" + "0" * 62]),
        (
            "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']",
            ["d41d8cd98f00b204e9800998ecf8427e"],
        ),
        ("[file:name = 'invoice.exe']", ["invoice.exe"]),
        ("[autonomous-system:number = 64500]", ["AS64500"]),
        ("[url:value = 'http://x.example/a\\'b']", ["http://x.example/a'b"]),
        ("[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]", ["192.0.2.1", "192.0.2.2"]),
        (
            "[ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.1'] AND "
            "[email-addr:value = 'A@Example.org']",
            ["192.0.2.1", "a@example.org"],
        ),
        # Through a reference: misp-stix writes an ip-dst attribute so.
        (
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND "
            "network-traffic:dst_ref.value = '198.51.100.8']",
            ["198.51.100.8"],
        ),
        ("[network-traffic:src_ref.value = '2001:db8::1']", ["2001:db8::1"]),
        ("[network-traffic:dst_ref.value = 'C2.Example.net']", ["c2.example.net"]),
        (
            "[network-traffic:dst_ref.type = 'domain-name' AND "
            "network-traffic:dst_ref.value = 'c2.example.net']",
            ["c2.example.net"],
        ),
        ("[email-message:from_ref.value = 'Boss@Example.org']", ["boss@example.org"]),
        ("[email-message:to_refs[*].value = 'hr@example.org']", ["hr@example.org"]),
        ("[network-traffic:dst_ref.type = 'ipv4-addr']", []),
        # Comparisons that describe many values name none.
        ("[ipv4-addr:value != '192.0.2.1']", []),
        ("[url:value MATCHES '^http://']", []),
        ("[domain-name:value LIKE '%.example']", []),
        ("[ipv4-addr:value ISSUBSET '192.0.2.0/24']", []),
        # Properties one does not look an observable up by.
        ("[file:size = 1024]", []),
        ("[network-traffic:dst_port = 443]", []),
        # Not a pattern at all.
        ("[ipv4-addr:value = ", []),
        ("", []),
    ],
)
def test_values_named_for_equality(pattern: str, values: list[str]) -> None:
    assert sorted(pattern_values(pattern)) == sorted(values)


def test_not_a_string_names_nothing() -> None:
    assert pattern_values(None) == [] and pattern_values(42) == []


def test_a_pattern_of_thousands_of_values_is_cut() -> None:
    many = " OR ".join(f"ipv4-addr:value = '10.0.{i // 256}.{i % 256}'" for i in range(600))
    assert len(pattern_values(f"[{many}]")) == MAX_VALUES
