"""The object service on SQLite and PostgreSQL: create, read, edit, revoke, list, bulk."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import stix2

from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.model.stix import format_timestamp
from kizashi.model.tagquery import evaluate, map_tags, parse_tag_query
from kizashi.model.tags import parse_tag
from kizashi.services import Kizashi
from kizashi.store.schema import object_versions, objects

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
AMBER = tlp_model.MARKING_IDS["amber"]


def count(kz: Kizashi, table: sa.Table = objects) -> int:
    with kz.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def code_of(fn: Any, *args: Any, **kwargs: Any) -> KizashiError:
    with pytest.raises(KizashiError) as info:
        fn(*args, **kwargs)
    return info.value


def malware(name: str = "Emotet", **extra: Any) -> dict[str, Any]:
    return {"type": "malware", "name": name, "is_family": True, **extra}


def every_type(ids: dict[str, str]) -> Iterator[dict[str, Any]]:
    """One object of every required type; later ones point at ids of earlier ones."""
    ts = "2025-03-04T05:06:07.123Z"
    yield {"type": "identity", "name": "JPCERT/CC", "identity_class": "organization"}
    yield {"type": "threat-actor", "name": "Lazarus Group", "threat_actor_types": ["nation-state"]}
    yield {"type": "intrusion-set", "name": "APT 38", "aliases": ["BlueNoroff"]}
    yield {"type": "campaign", "name": "Operation Dream Job", "first_seen": ts}
    yield malware("Emotet", malware_types=["trojan"])
    yield {"type": "tool", "name": "Cobalt Strike"}
    yield {
        "type": "attack-pattern",
        "name": "Phishing",
        "external_references": [{"source_name": "mitre-attack", "external_id": "T1566"}],
    }
    yield {"type": "vulnerability", "name": "CVE-2024-3400", "description": "PAN-OS 脆弱性"}
    yield {
        "type": "indicator",
        "pattern_type": "stix",
        "pattern": "[domain-name:value = 'evil.example']",
        "valid_from": ts,
        "indicator_types": ["malicious-activity"],
    }
    yield {"type": "report", "name": "週報", "published": ts, "object_refs": [ids["malware"]]}
    yield {"type": "note", "content": "確認済み", "object_refs": [ids["malware"]]}
    yield {
        "type": "relationship",
        "relationship_type": "uses",
        "source_ref": ids["threat-actor"],
        "target_ref": ids["malware"],
    }
    yield {
        "type": "marking-definition",
        "name": "社外秘",
        "extensions": {
            "extension-definition--3a4b5c6d-1111-4222-8333-944455556666": {
                "extension_type": "property-extension",
                "statement": "Internal only",
            }
        },
    }
    yield {"type": "ipv4-addr", "value": "198.51.100.7"}
    yield {"type": "ipv6-addr", "value": "2001:db8::7"}
    yield {"type": "domain-name", "value": "evil.example"}
    yield {"type": "url", "value": "https://evil.example/login?next=%2F"}
    yield {"type": "email-addr", "value": "ceo@evil.example"}
    yield {"type": "file", "name": "請求書.exe", "hashes": {"SHA-256": SHA256, "MD5": "0" * 32}}
    yield {"type": "autonomous-system", "number": 64496, "name": "Example AS"}


def test_every_type_round_trips(kz: Kizashi, analyst: Actor) -> None:
    ids: dict[str, str] = {}
    for raw in every_type(ids):
        view, created = kz.objects.create(analyst, raw)
        assert created, raw["type"]
        ids[raw["type"]] = view.id
        got = kz.objects.get(analyst, view.id)
        assert got == view
        assert {k: got.stix[k] for k in raw} == raw
        assert got.type == raw["type"] and got.version == 1 and not got.revoked
    assert len(ids) == 20
    page = kz.objects.list(analyst, types=sorted(ids), limit=100)
    listed = {v.id for v in page.items}
    assert set(ids.values()) <= listed
    assert len(listed) == 22  # and the identities of Kizashi and of the analyst
    assert kz.objects.get(analyst, ids["autonomous-system"]).name == "Example AS"
    assert kz.objects.get(analyst, ids["file"]).stix["hashes"]["SHA-256"] == SHA256


def test_japanese_round_trips_exactly(kz: Kizashi, analyst: Actor) -> None:
    name = "ラザルス・グループ（北朝鮮）"
    description = '「Lazarus」は金融機関を狙う。\n二行目：ｶﾀｶﾅ 🐉 \\ "引用"'
    view, _ = kz.objects.create(
        analyst, {"type": "threat-actor", "name": name, "description": description}
    )
    got = kz.objects.get(analyst, view.id)
    assert got.name == name
    assert got.stix["name"] == name and got.stix["description"] == description
    assert [v.id for v in kz.objects.list(analyst, text="北朝鮮").items] == [view.id]


def test_nul_character_is_stored_or_refused_alike_on_every_backend(
    kz: Kizashi, analyst: Actor
) -> None:
    raw = {"type": "url", "value": "http://evil.example/\x00x"}
    before = count(kz)
    try:
        view, _ = kz.objects.create(analyst, raw)
    except KizashiError as exc:
        refused: KizashiError | None = exc
    else:
        refused = None
        assert kz.objects.get(analyst, view.id).stix["value"] == raw["value"]
    assert refused is None or (refused.code == "validation_failed" and count(kz) == before)


def test_invalid_input_stores_nothing(kz: Kizashi, analyst: Actor) -> None:
    before = count(kz)
    err = code_of(
        kz.objects.create, analyst, {"type": "malware", "name": "x", "confidence": "high"}
    )
    assert err.code == "validation_failed"
    assert {p.loc for p in err.problems} == {"is_family", "confidence"}
    assert code_of(kz.objects.create, analyst, {"type": "x-nothing"}).code == "unknown_type"
    assert (
        code_of(kz.objects.create, analyst, malware(), tags=["tlp:purple"]).code
        == "validation_failed"
    )
    assert code_of(kz.objects.create, analyst, malware(), tlp="purple").code == "validation_failed"
    assert count(kz) == before


def test_same_observable_twice_is_one_object(kz: Kizashi, analyst: Actor) -> None:
    before = count(kz)
    a, created = kz.objects.create(analyst, {"type": "ipv4-addr", "value": "203.0.113.9"})
    b, again = kz.objects.create(
        analyst, {"type": "ipv4-addr", "value": "203.0.113.9"}, tags=["c2"]
    )
    assert (created, again) == (True, False)
    assert a.id == b.id and b.tags == ["c2"]
    assert count(kz) == before + 1


def test_domain_object_with_an_existing_id_conflicts(kz: Kizashi, analyst: Actor) -> None:
    view, _ = kz.objects.create(analyst, malware())
    err = code_of(kz.objects.create, analyst, malware("Other", id=view.id))
    assert err.code == "conflict"
    assert kz.objects.get(analyst, view.id).name == "Emotet"
    assert kz.objects.get(analyst, view.id).version == 1


def test_edit_bumps_modified_and_keeps_history(kz: Kizashi, analyst: Actor, clock: Any) -> None:
    view, _ = kz.objects.create(analyst, malware(description="v1"))
    clock.tick(5)
    v2 = kz.objects.update(analyst, view.id, {"description": "v2", "aliases": ["Heodo"]})
    assert v2.modified == format_timestamp(clock.now) > view.modified
    assert v2.created == view.created and v2.version == 2
    # Without the clock moving, modified still moves on.
    v3 = kz.objects.update(analyst, view.id, {"description": None})
    assert v3.modified > v2.modified
    assert "description" not in v3.stix and v3.stix["aliases"] == ["Heodo"]
    history = kz.objects.history(analyst, view.id)
    assert [h.version for h in history] == [3, 2, 1]
    assert [h.action for h in history[1:]] == ["update", "create"]
    assert history[1].stix["description"] == "v2"
    assert history[2].stix["description"] == "v1"
    assert history[2].modified == view.modified
    assert history[1].changed_by == "ana"


@pytest.mark.parametrize("prop", ["id", "type", "created", "spec_version"])
def test_identity_properties_cannot_be_edited(kz: Kizashi, analyst: Actor, prop: str) -> None:
    view, _ = kz.objects.create(analyst, malware())
    new = {
        "id": "malware--0f0a3c1e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
        "type": "tool",
        "created": "2020-01-01T00:00:00.000Z",
    }
    err = code_of(kz.objects.update, analyst, view.id, {prop: new.get(prop, "2.0")})
    assert err.code == "validation_failed"
    assert [p.loc for p in err.problems] == [prop]
    assert kz.objects.get(analyst, view.id) == view


def test_observable_value_cannot_change(kz: Kizashi, analyst: Actor) -> None:
    view, _ = kz.objects.create(analyst, {"type": "domain-name", "value": "a.example"})
    err = code_of(kz.objects.update, analyst, view.id, {"value": "b.example"})
    assert err.code == "validation_failed"
    assert kz.objects.get(analyst, view.id).stix["value"] == "a.example"
    assert count(kz, object_versions) == 0


def test_revoke_hides_and_admin_restores(
    kz: Kizashi, admin: Actor, analyst: Actor, reader: Actor
) -> None:
    view, _ = kz.objects.create(analyst, malware())
    kz.objects.revoke(analyst, view.id)
    for who in (analyst, reader):
        assert code_of(kz.objects.get, who, view.id).code == "not_found"
        assert view.id not in {v.id for v in kz.objects.list(who, limit=500).items}
    assert code_of(kz.objects.list, analyst, include_revoked=True).code == "forbidden"
    seen = kz.objects.get(admin, view.id)
    assert seen.revoked and seen.stix["revoked"] is True
    assert view.id in {v.id for v in kz.objects.list(admin, include_revoked=True, limit=500).items}
    assert code_of(kz.objects.update, analyst, view.id, {"description": "x"}).code == "conflict"
    assert code_of(kz.objects.restore, analyst, view.id).code == "forbidden"
    back = kz.objects.restore(admin, view.id)
    assert not back.revoked and "revoked" not in back.stix
    assert kz.objects.get(reader, view.id).version == 3
    history = kz.objects.history(admin, view.id)
    assert [(h.action, h.current) for h in history] == [
        ("restore", True), ("revoke", False), ("create", False)
    ]  # fmt: skip
    assert [h.changed_by for h in history] == ["alice", "ana", "ana"]
    assert code_of(kz.objects.restore, admin, view.id).code == "conflict"


def test_reader_cannot_write(kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    view, _ = kz.objects.create(analyst, malware())
    before = count(kz)
    assert code_of(kz.objects.create, reader, malware("x")).code == "forbidden"
    assert (
        code_of(kz.objects.create_many, reader, [{"type": "url", "value": "http://x"}]).code
        == "forbidden"
    )
    assert code_of(kz.objects.update, reader, view.id, {"description": "x"}).code == "forbidden"
    assert code_of(kz.objects.revoke, reader, view.id).code == "forbidden"
    assert count(kz) == before
    assert kz.objects.get(reader, view.id) == view


# -- listing ----------------------------------------------------------------------------

ALPHABET = ["a", "b", "c", "APT 28", "ランサム", 'team:owner="Red Team"']
QUERIES = [
    "a",
    "a AND b",
    "a b",
    "a OR b",
    "NOT a",
    "a NOT b",
    "NOT (a OR b)",
    "a OR b AND c",
    "(a OR b) AND NOT c",
    '"APT 28" OR ランサム',
    'team:owner="Red Team" NOT "APT 28"',
    "nosuchtag OR c",
    "nosuchtag AND a",
    "NOT nosuchtag",
    "TLP:AMBER OR c",
]


def test_tag_filters_match_the_reference_semantics(kz: Kizashi, analyst: Actor) -> None:
    rnd = random.Random(20260102)
    for i in range(14):
        tags = rnd.sample(ALPHABET, rnd.randint(0, 4))
        kz.objects.create(analyst, malware(f"m{i}"), tags=tags, tlp="amber" if i % 3 == 0 else None)
    everything = kz.objects.list(analyst, limit=500).items
    # 14, Kizashi's and the analyst's identities, and three extension definitions
    # (articles, wallets, user agents).
    assert len(everything) == 19
    for q in QUERIES:
        expr = map_tags(parse_tag_query(q), lambda t: parse_tag(t).name)
        expected = [v.id for v in everything if evaluate(expr, set(v.tags))]
        assert [v.id for v in kz.objects.list(analyst, tags=q, limit=500).items] == expected, q
        walked, cursor = [], None
        while True:
            page = kz.objects.list(analyst, tags=q, limit=2, cursor=cursor)
            walked += [v.id for v in page.items]
            if (cursor := page.next_cursor) is None:
                break
        assert walked == expected, q


def test_all_tags_matches_like_the_expression(kz: Kizashi, analyst: Actor) -> None:
    view, _ = kz.objects.create(analyst, malware(), tags=["APT 28", 'team:owner="Red Team"', "a"])
    kz.objects.create(analyst, malware("other"), tags=["a"])
    for names in (["a", "APT 28"], ['team:owner="Red Team"'], ["a", 'team:owner="Red Team"']):
        assert [v.id for v in kz.objects.list(analyst, all_tags=names).items] == [view.id], names


def test_text_tlp_type_and_created_filters(kz: Kizashi, analyst: Actor) -> None:
    emotet, _ = kz.objects.create(
        analyst, malware("Emotet", created="2024-01-10T00:00:00.000Z"), tlp="amber"
    )
    under, _ = kz.objects.create(
        analyst, malware("snake_case", created="2024-02-10T00:00:00.000Z"), tlp="red"
    )
    pct, _ = kz.objects.create(analyst, malware("100% evil", created="2024-03-10T00:00:00.000Z"))
    dom, _ = kz.objects.create(analyst, {"type": "domain-name", "value": "emotet-c2.example"})

    def ids(**kw: Any) -> list[str]:
        return [v.id for v in kz.objects.list(analyst, limit=500, **kw).items]

    assert ids(text="EMOTET") == [dom.id, emotet.id]
    assert ids(text="_") == [under.id]
    assert ids(text="%") == [pct.id]
    assert ids(tlp=["amber"]) == [emotet.id]
    assert ids(tlp=["TLP:AMBER", "red"]) == [under.id, emotet.id]
    assert ids(types=["domain-name"]) == [dom.id]
    assert ids(types=["malware"], created_from="2024-02-10T00:00:00.000Z") == [pct.id, under.id]
    assert ids(types=["malware"], created_to="2024-02-10T00:00:00.000Z") == [under.id, emotet.id]
    assert ids(created_from="2024-01-01", created_to="2024-02-01") == [emotet.id]
    assert code_of(kz.objects.list, analyst, types=["nope"]).code == "unknown_type"
    assert code_of(kz.objects.list, analyst, tags="a AND").code == "validation_failed"


def test_cursor_pagination_walks_every_object_once_newest_first(
    kz: Kizashi, analyst: Actor
) -> None:
    made = [kz.objects.create(analyst, malware(f"m{i:02d}"))[0].id for i in range(11)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = kz.objects.list(analyst, types=["malware"], limit=3, cursor=cursor)
        assert len(page.items) <= 3
        seen += [v.id for v in page.items]
        pages += 1
        if (cursor := page.next_cursor) is None:
            break
    assert seen == made[::-1]
    assert pages == 4
    assert code_of(kz.objects.list, analyst, cursor="not-a-cursor").code == "validation_failed"


# -- bulk -------------------------------------------------------------------------------


def test_create_many_is_all_or_nothing(kz: Kizashi, analyst: Actor) -> None:
    before = count(kz)
    batch = [
        {"type": "domain-name", "value": "ok.example"},
        malware("fine"),
        {"type": "malware", "name": "bad"},
        {"type": "url"},
    ]
    err = code_of(kz.objects.create_many, analyst, batch)
    assert err.code == "validation_failed"
    assert {p.loc for p in err.problems} == {"[2].is_family", "[3].value"}
    assert count(kz) == before


def test_create_many_counts_duplicates_as_existing(kz: Kizashi, analyst: Actor) -> None:
    kz.objects.create(analyst, {"type": "domain-name", "value": "old.example"})
    before = count(kz)
    batch = [
        {"type": "domain-name", "value": "old.example"},
        {"type": "domain-name", "value": "new.example"},
        {"type": "domain-name", "value": "new.example"},
        {"type": "ipv4-addr", "value": "192.0.2.1", "x_source": "feed"},
        malware("bulk"),
    ]
    result = kz.objects.create_many(analyst, batch, tags=["feed:alpha"])
    assert (result.created, result.existing) == (3, 2)
    assert count(kz) == before + 3
    tagged = kz.objects.list(analyst, tags="feed:alpha", limit=500).items
    assert sorted(v.name for v in tagged) == ["192.0.2.1", "bulk", "new.example", "old.example"]
    clash = kz.objects.create_many(analyst, [{"type": "url", "value": "http://z"}]).ids
    assert len(clash) == 1
    mal = kz.objects.list(analyst, types=["malware"]).items[0]
    err = code_of(
        kz.objects.create_many,
        analyst,
        [{"type": "url", "value": "http://y"}, malware("x", id=mal.id)],
    )
    assert err.code == "conflict"
    assert count(kz) == before + 4


def test_create_many_refuses_a_lone_surrogate_as_a_problem(kz: Kizashi, analyst: Actor) -> None:
    err = code_of(kz.objects.create_many, analyst, [{"type": "url", "value": "http://x/\ud800"}])
    assert err.code == "validation_failed"
    assert err.problems[0].loc.startswith("[0]")


# -- TLP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["tlp", "tag", "marking", "tlp1-marking"])
def test_tlp_ends_as_one_tag_and_one_marking(kz: Kizashi, analyst: Actor, how: str) -> None:
    other = "marking-definition--34b1b4b4-ea3f-4bc6-a0b6-ff4e2f0e5e9c"
    raw = malware(object_marking_refs=[other])
    kwargs: dict[str, Any] = {}
    if how == "tlp":
        kwargs["tlp"] = "TLP:AMBER"
    elif how == "tag":
        kwargs["tags"] = ["TLP:AMBER", "x"]
    else:
        raw["object_marking_refs"] = [other, AMBER if how == "marking" else stix2.TLP_AMBER.id]
    view, _ = kz.objects.create(analyst, raw, **kwargs)
    for v in (view, kz.objects.get(analyst, view.id)):
        assert v.tlp == "amber"
        assert [t for t in v.tags if t.startswith("tlp:")] == ["tlp:amber"]
        assert sorted(v.stix["object_marking_refs"]) == sorted([other, AMBER])
        assert not any(t.startswith("tlp:") for t in v.stix.get("labels", []))
    assert [v.id for v in kz.objects.list(analyst, tlp=["amber"]).items] == [view.id]


def test_changing_tlp_by_edit_keeps_one_tlp_tag(kz: Kizashi, analyst: Actor) -> None:
    view, _ = kz.objects.create(analyst, malware(), tlp="amber")
    red = kz.objects.update(
        analyst, view.id, {"object_marking_refs": [tlp_model.MARKING_IDS["red"]]}
    )
    assert red.tlp == "red" and [t for t in red.tags if t.startswith("tlp:")] == ["tlp:red"]
    relabelled = kz.objects.update(analyst, view.id, {"labels": ["foo", "tlp:green"]})
    tlp_tags = [t for t in relabelled.tags if t.startswith("tlp:")]
    assert len(tlp_tags) == 1
    assert tlp_tags == [f"tlp:{relabelled.tlp}"]
    assert relabelled.stix["object_marking_refs"] == [tlp_model.MARKING_IDS[relabelled.tlp]]
