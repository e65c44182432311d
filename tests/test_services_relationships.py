"""Relationships on SQLite and PostgreSQL: both ends stored, neighbourhoods by depth."""

from __future__ import annotations

from typing import Any

import pytest

from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi

MISSING = "malware--6d0f3b8e-2a4c-4e5f-9a1b-3c7d8e9f0a1b"


def code_of(fn: Any, *args: Any, **kwargs: Any) -> KizashiError:
    with pytest.raises(KizashiError) as info:
        fn(*args, **kwargs)
    return info.value


def obj(kz: Kizashi, who: Actor, name: str, stix_type: str = "malware") -> str:
    raw: dict[str, Any] = {"type": stix_type, "name": name}
    if stix_type == "malware":
        raw["is_family"] = True
    return kz.objects.create(who, raw)[0].id


def relationships(kz: Kizashi, who: Actor) -> int:
    return len(kz.objects.list(who, types=["relationship"], limit=500).items)


def test_relationship_between_two_stored_objects(kz: Kizashi, analyst: Actor) -> None:
    actor = obj(kz, analyst, "Lazarus", "threat-actor")
    mal = obj(kz, analyst, "AppleJeus")
    rel = kz.relationships.create(
        analyst, actor, "uses", mal, description="確認済み", confidence=80, tags=["x"]
    )
    assert rel.type == "relationship"
    assert rel.tags == ["x"]
    s = rel.stix
    assert (s["source_ref"], s["relationship_type"], s["target_ref"]) == (actor, "uses", mal)
    assert (s["description"], s["confidence"]) == ("確認済み", 80)
    assert kz.relationships.get_edge(analyst, rel.id) == rel
    assert code_of(kz.relationships.get_edge, analyst, mal).code == "not_found"


def test_both_ends_must_exist(kz: Kizashi, analyst: Actor) -> None:
    mal = obj(kz, analyst, "m")
    before = relationships(kz, analyst)
    err = code_of(kz.relationships.create, analyst, mal, "uses", MISSING)
    assert err.code == "validation_failed"
    assert [p.loc for p in err.problems] == ["target_ref"]
    err = code_of(kz.relationships.create, analyst, MISSING, "uses", mal)
    assert [p.loc for p in err.problems] == ["source_ref"]
    err = code_of(kz.relationships.create, analyst, MISSING, "uses", MISSING.replace("6d", "7d"))
    assert {p.loc for p in err.problems} == {"source_ref", "target_ref"}
    assert relationships(kz, analyst) == before


def test_revoked_end_is_refused(kz: Kizashi, analyst: Actor) -> None:
    a, b = obj(kz, analyst, "a"), obj(kz, analyst, "b")
    kz.objects.revoke(analyst, b)
    err = code_of(kz.relationships.create, analyst, a, "related-to", b)
    assert [p.loc for p in err.problems] == ["target_ref"]


def test_self_relation_is_refused(kz: Kizashi, analyst: Actor) -> None:
    a = obj(kz, analyst, "a")
    err = code_of(kz.relationships.create, analyst, a, "related-to", a)
    assert err.code == "validation_failed"
    assert [p.loc for p in err.problems] == ["target_ref"]
    assert relationships(kz, analyst) == 0


@pytest.mark.parametrize("bad", ["", "Uses", "uses it", "-uses", "使う", "x" * 101, "uses\n"])
def test_invalid_relationship_type_is_refused(kz: Kizashi, analyst: Actor, bad: str) -> None:
    a, b = obj(kz, analyst, "a"), obj(kz, analyst, "b")
    err = code_of(kz.relationships.create, analyst, a, bad, b)
    assert err.code == "validation_failed"
    assert [p.loc for p in err.problems] == ["relationship_type"]
    assert relationships(kz, analyst) == 0


def test_open_vocabulary_type_is_allowed(kz: Kizashi, analyst: Actor) -> None:
    a, b = obj(kz, analyst, "a"), obj(kz, analyst, "b")
    assert (
        kz.relationships.create(analyst, a, "sponsored-by-2", b).stix["relationship_type"]
        == "sponsored-by-2"
    )


def test_reader_cannot_relate(kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    a, b = obj(kz, analyst, "a"), obj(kz, analyst, "b")
    assert code_of(kz.relationships.create, reader, a, "uses", b).code == "forbidden"


def chain(kz: Kizashi, who: Actor) -> tuple[str, str, str, str, str]:
    """a -> b <- c, and d -> c: a chain a-b-c-d."""
    a, b, c, d = (obj(kz, who, n) for n in "abcd")
    r1 = kz.relationships.create(who, a, "uses", b).id
    kz.relationships.create(who, c, "variant-of", b)
    kz.relationships.create(who, d, "drops", c)
    return a, b, c, d, r1


def test_neighbours_depth_one_and_two(kz: Kizashi, analyst: Actor) -> None:
    a, b, c, _, r1 = chain(kz, analyst)
    one = kz.relationships.neighbours(analyst, a, depth=1)
    assert set(one.nodes) == {a, b}
    assert [e.id for e in one.edges] == [r1]
    two = kz.relationships.neighbours(analyst, a, depth=2)
    assert set(two.nodes) == {a, b, c}
    assert {(e.source_ref, e.relationship_type, e.target_ref) for e in two.edges} == {
        (a, "uses", b),
        (c, "variant-of", b),
    }
    from_b = kz.relationships.neighbours(analyst, b, depth=1)
    assert set(from_b.nodes) == {a, b, c}
    assert code_of(kz.relationships.neighbours, analyst, a, depth=3).code == "validation_failed"
    assert code_of(kz.relationships.neighbours, analyst, MISSING).code == "not_found"


def test_revoked_relationships_are_not_neighbours(
    kz: Kizashi, admin: Actor, analyst: Actor
) -> None:
    a, b, c, _, r1 = chain(kz, analyst)
    kz.objects.revoke(analyst, r1)
    for who in (analyst, admin):
        hood = kz.relationships.neighbours(who, a, depth=2)
        assert set(hood.nodes) == {a}
        assert hood.edges == []
    assert set(kz.relationships.neighbours(analyst, b, depth=1).nodes) == {b, c}


def test_revoked_objects_are_hidden_from_non_admins(
    kz: Kizashi, admin: Actor, analyst: Actor
) -> None:
    a, b, c, _, _ = chain(kz, analyst)
    kz.objects.revoke(analyst, c)
    hood = kz.relationships.neighbours(analyst, b, depth=1)
    assert set(hood.nodes) == {a, b}
    assert all(c not in (e.source_ref, e.target_ref) for e in hood.edges)
    assert c in kz.relationships.neighbours(admin, b, depth=1).nodes


def test_referrers_are_listed(kz: Kizashi, analyst: Actor) -> None:
    a = obj(kz, analyst, "a")
    report, _ = kz.objects.create(
        analyst,
        {"type": "report", "name": "r", "published": "2025-01-01T00:00:00Z", "object_refs": [a]},
    )
    hood = kz.relationships.neighbours(analyst, a)
    assert hood.referrers == [(report.id, "object_refs")]
    assert hood.as_dict()["referrers"] == [{"id": report.id, "property": "object_refs"}]


def test_no_path_through_a_revoked_object(kz: Kizashi, analyst: Actor) -> None:
    a, b, c, _, _ = chain(kz, analyst)
    kz.objects.revoke(analyst, b)
    hood = kz.relationships.neighbours(analyst, a, depth=2)
    # c is two hops away only through b, which the analyst cannot see.
    assert set(hood.nodes) == {a}
    assert hood.edges == []
    assert c not in hood.nodes
