"""The tag service on SQLite and PostgreSQL: taxonomies, TLP, rename, merge, suggest."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from kizashi.model import tlp as tlp_model
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.services.taxonomies import catalogue


def code_of(fn: Any, *args: Any, **kwargs: Any) -> KizashiError:
    with pytest.raises(KizashiError) as info:
        fn(*args, **kwargs)
    return info.value


def new(kz: Kizashi, who: Actor, name: str = "Emotet", **kw: Any) -> str:
    view, _ = kz.objects.create(who, {"type": "malware", "name": name, "is_family": True}, **kw)
    return view.id


def tags_of(kz: Kizashi, who: Actor, stix_id: str) -> list[str]:
    return kz.objects.get(who, stix_id).tags


def tlp_tags(kz: Kizashi, who: Actor, stix_id: str) -> list[str]:
    return [t for t in tags_of(kz, who, stix_id) if t.startswith("tlp:")]


def test_tags_are_created_on_first_use(kz: Kizashi, analyst: Actor) -> None:
    oid = new(kz, analyst)
    assert kz.tags.list(SYSTEM) == []
    assert kz.tags.tag(analyst, oid, ["ランサムウェア", " TLP:AMBER ", "ランサムウェア"]) == [
        "tlp:amber",
        "ランサムウェア",
    ]
    listed = {t.name: t.count for t in kz.tags.list(SYSTEM)}
    assert listed == {"ランサムウェア": 1, "tlp:amber": 1}
    assert kz.tags.get(SYSTEM, "TLP:Amber").colour == "#ffc000"
    oid2 = new(kz, analyst, "Other")
    kz.tags.tag(analyst, oid2, ["ランサムウェア"])
    assert kz.tags.get(SYSTEM, "ランサムウェア").count == 2
    assert len(kz.tags.list(SYSTEM)) == 2


def test_reader_cannot_tag(kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    oid = new(kz, analyst, tags=["keep"])
    assert code_of(kz.tags.tag, reader, oid, ["x"]).code == "forbidden"
    assert code_of(kz.tags.untag, reader, oid, ["keep"]).code == "forbidden"
    assert code_of(kz.tags.create, reader, "x").code == "forbidden"
    assert code_of(kz.tags.update, reader, "keep", new_name="y").code == "forbidden"
    assert tags_of(kz, reader, oid) == ["keep"]


def test_machine_tag_must_be_a_value_of_an_enabled_taxonomy(kz: Kizashi, analyst: Actor) -> None:
    oid = new(kz, analyst)
    err = code_of(kz.tags.tag, analyst, oid, ['admiralty-scale:source-reliability="z"'])
    assert err.code == "validation_failed"
    assert 'admiralty-scale:source-reliability="a"' in err.message
    assert 'admiralty-scale:source-reliability="f"' in err.message
    err = code_of(kz.tags.tag, analyst, oid, ["tlp:purple"])
    for level in ("tlp:red", "tlp:amber", "tlp:green", "tlp:clear"):
        assert level in err.message
    assert tags_of(kz, analyst, oid) == []
    ok = 'Admiralty-Scale:source-reliability="b"'
    assert kz.tags.tag(analyst, oid, [ok]) == ['admiralty-scale:source-reliability="b"']


def test_default_pap_taxonomy_is_enforced_in_its_own_spelling(kz: Kizashi, analyst: Actor) -> None:
    # PAP (upper-case in MISP) is enabled on first run and checked like tlp.
    assert kz.tags.taxonomy_states().get("PAP") is True
    oid = new(kz, analyst)
    assert kz.tags.tag(analyst, oid, ["pap:amber"]) == ["PAP:AMBER"]
    assert code_of(kz.tags.tag, analyst, oid, ["pap:bogus"]).code == "validation_failed"
    assert code_of(kz.tags.tag, analyst, oid, ["PAP:BOGUS"]).code == "validation_failed"
    assert kz.tags.tag(analyst, oid, ["PAP:AMBER"]) == ["PAP:AMBER"]
    assert "PAP:RED" in kz.tags.suggest(SYSTEM, "pap")


def test_a_taxonomy_tag_is_found_in_the_spelling_it_was_accepted_in(
    kz: Kizashi, analyst: Actor
) -> None:
    adm = 'Admiralty-Scale:source-reliability="b"'
    oid = new(kz, analyst, tags=["pap:amber", adm])
    assert tags_of(kz, analyst, oid) == ["PAP:AMBER", 'admiralty-scale:source-reliability="b"']
    for typed in ("pap:amber", adm):
        assert [v.id for v in kz.objects.list(analyst, tags=typed).items] == [oid], typed
        assert kz.tags.get(SYSTEM, typed).count == 1
    kz.tags.untag(analyst, oid, ["pap:amber", adm])
    assert tags_of(kz, analyst, oid) == []


def test_known_but_disabled_taxonomy_is_refused(kz: Kizashi, admin: Actor, analyst: Actor) -> None:
    assert "osint" in catalogue()
    oid = new(kz, analyst)
    tag = 'osint:source-type="blog-post"'
    err = code_of(kz.tags.tag, analyst, oid, [tag])
    assert err.code == "validation_failed"
    assert "not enabled" in err.message
    assert code_of(kz.tags.set_taxonomy, analyst, "osint", True).code == "forbidden"
    kz.tags.set_taxonomy(admin, "osint", True)
    assert kz.tags.taxonomy_states()["osint"] is True
    assert kz.tags.tag(analyst, oid, [tag]) == [tag]
    assert (
        code_of(kz.tags.tag, analyst, oid, ['osint:source-type="rumour"']).code
        == "validation_failed"
    )
    kz.tags.set_taxonomy(admin, "tlp", False)
    assert code_of(kz.tags.tag, analyst, oid, ["tlp:red"]).code == "validation_failed"
    assert code_of(kz.tags.set_taxonomy, admin, "no-such-taxonomy", True).code == "not_found"


def test_unknown_namespace_is_a_teams_own(kz: Kizashi, analyst: Actor) -> None:
    oid = new(kz, analyst)
    names = ["team:triage", 'team:owner="赤 チーム"', "Team:Other"]
    assert kz.tags.tag(analyst, oid, names) == sorted(names)


def test_long_namespace_is_stored_or_refused_on_every_backend(kz: Kizashi, analyst: Actor) -> None:
    oid = new(kz, analyst)
    name = "n" * 150 + ":x"
    try:
        kz.tags.tag(analyst, oid, [name])
    except KizashiError as exc:
        refused: KizashiError | None = exc
    else:
        refused = None
    assert tags_of(kz, analyst, oid) == ([] if refused else [name])
    assert refused is None or refused.code == "validation_failed"


def test_tlp_is_exclusive_and_the_column_follows(kz: Kizashi, analyst: Actor) -> None:
    oid = new(kz, analyst, tags=["x", "tlp:amber"])
    assert kz.objects.get(analyst, oid).tlp == "amber"
    assert kz.tags.tag(analyst, oid, ["tlp:red"]) == ["tlp:red", "x"]
    view = kz.objects.get(analyst, oid)
    assert view.tlp == "red"
    assert view.stix["object_marking_refs"] == [tlp_model.MARKING_IDS["red"]]
    assert [v.id for v in kz.objects.list(analyst, tlp=["red"]).items] == [oid]
    assert kz.objects.list(analyst, tlp=["amber"]).items == []


@pytest.mark.parametrize(
    "pair", [("tlp:red", "tlp:amber"), ("tlp:green", "TLP:CLEAR"), ("tlp:white", "tlp:clear")]
)
def test_two_tlp_tags_at_once_never_end_on_one_object(
    kz: Kizashi, analyst: Actor, pair: tuple[str, str]
) -> None:
    oid = new(kz, analyst, tlp="amber")
    try:
        kz.tags.tag(analyst, oid, list(pair))
    except KizashiError as exc:
        refused: KizashiError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.code == "validation_failed"
        assert tlp_tags(kz, analyst, oid) == ["tlp:amber"]
    assert len(tlp_tags(kz, analyst, oid)) == 1


def test_two_different_levels_at_once_are_refused(kz: Kizashi, analyst: Actor) -> None:
    oid = new(kz, analyst)
    assert code_of(kz.tags.tag, analyst, oid, ["tlp:red", "tlp:amber"]).code == "validation_failed"
    assert code_of(
        kz.objects.create,
        analyst,
        {"type": "url", "value": "http://x"},
        tags=["tlp:red", "tlp:green"],
    )
    assert tags_of(kz, analyst, oid) == []


@pytest.mark.parametrize("other", ["tlp:unclear", "tlp:ex:chr"])
def test_a_non_level_tlp_tag_does_not_drop_the_level(
    kz: Kizashi, analyst: Actor, other: str
) -> None:
    oid = new(kz, analyst, tlp="amber")
    with contextlib.suppress(KizashiError):
        kz.tags.tag(analyst, oid, [other])
    view = kz.objects.get(analyst, oid)
    assert view.tlp == "amber"
    assert tlp_model.MARKING_IDS["amber"] in view.stix["object_marking_refs"]


def test_untag(kz: Kizashi, analyst: Actor) -> None:
    oid = new(kz, analyst, tags=["ransomware", "ランサム"], tlp="amber")
    assert kz.tags.untag(analyst, oid, ["ransomware"]) == ["tlp:amber", "ランサム"]
    assert kz.tags.untag(analyst, oid, ["TLP:AMBER"]) == ["ランサム"]
    view = kz.objects.get(analyst, oid)
    assert view.tlp is None
    assert "object_marking_refs" not in view.stix
    assert view.stix["labels"] == ["ランサム"]
    assert kz.tags.untag(analyst, oid, ["never-there"]) == ["ランサム"]
    assert (
        code_of(kz.tags.untag, analyst, "malware--5e0b8a7e-3c52-4a8f-9d1e-2b6c7f8a9d0e", ["x"]).code
        == "not_found"
    )


def test_rename_keeps_links_colour_and_description(kz: Kizashi, analyst: Actor) -> None:
    kz.tags.create(analyst, "apt28", colour="#AA0000", description="ロシア")
    a, b = new(kz, analyst, "a", tags=["apt28"]), new(kz, analyst, "b", tags=["apt28", "x"])
    renamed = kz.tags.update(analyst, "apt28", new_name="APT 28")
    assert (renamed.name, renamed.colour, renamed.description, renamed.count) == (
        "APT 28",
        "#aa0000",
        "ロシア",
        2,
    )
    assert tags_of(kz, analyst, a) == ["APT 28"]
    assert tags_of(kz, analyst, b) == ["APT 28", "x"]
    assert code_of(kz.tags.get, SYSTEM, "apt28").code == "not_found"
    assert [v.id for v in kz.objects.list(analyst, tags='"APT 28"').items] == [b, a]


def test_rename_onto_an_existing_tag_merges(kz: Kizashi, analyst: Actor) -> None:
    o1, o2, o3 = (
        new(kz, analyst, "1", tags=["apt28"]),
        new(kz, analyst, "2", tags=["fancy"]),
        new(kz, analyst, "3"),
    )
    kz.tags.tag(analyst, o3, ["apt28", "fancy"])
    merged = kz.tags.update(analyst, "apt28", new_name="fancy")
    assert (merged.name, merged.count) == ("fancy", 3)
    for oid in (o1, o2, o3):
        assert tags_of(kz, analyst, oid) == ["fancy"]
    assert code_of(kz.tags.get, SYSTEM, "apt28").code == "not_found"
    assert {t.name for t in kz.tags.list(SYSTEM)} == {"fancy"}


def test_merge_several(kz: Kizashi, analyst: Actor) -> None:
    o1, o2 = (
        new(kz, analyst, "1", tags=["lazarus", "hidden cobra"]),
        new(kz, analyst, "2", tags=["apt38", "x"]),
    )
    result = kz.tags.merge(analyst, ["lazarus", "hidden cobra", "apt38"], "Lazarus Group")
    assert (result.name, result.count) == ("Lazarus Group", 2)
    assert tags_of(kz, analyst, o1) == ["Lazarus Group"]
    assert tags_of(kz, analyst, o2) == ["Lazarus Group", "x"]
    assert {t.name for t in kz.tags.list(SYSTEM)} == {"Lazarus Group", "x"}
    assert code_of(kz.tags.merge, analyst, ["nope"], "x").code == "not_found"


@pytest.mark.parametrize("how", ["rename", "merge"])
def test_renaming_into_a_tlp_tag_keeps_one_tlp_tag(kz: Kizashi, analyst: Actor, how: str) -> None:
    oid = new(kz, analyst, tags=["secret"], tlp="amber")
    if how == "rename":
        kz.tags.update(analyst, "secret", new_name="tlp:red")
    else:
        kz.tags.merge(analyst, ["secret"], "tlp:red")
    view = kz.objects.get(analyst, oid)
    assert [t for t in view.tags if t.startswith("tlp:")] == [f"tlp:{view.tlp}"]


def test_colours(kz: Kizashi, analyst: Actor) -> None:
    assert kz.tags.create(analyst, "blue", colour="#0000FF").colour == "#0000ff"
    for bad in ("blue", "#00f", "0000ff", "#0000fg"):
        err = code_of(kz.tags.create, analyst, f"t{bad}", colour=bad)
        assert err.code == "validation_failed" and err.problems[0].loc == "colour"
        assert code_of(kz.tags.update, analyst, "blue", colour=bad).code == "validation_failed"
    assert kz.tags.get(SYSTEM, "blue").colour == "#0000ff"
    assert kz.tags.update(analyst, "blue", colour="#123abc").colour == "#123abc"
    assert code_of(kz.tags.create, analyst, "blue").code == "conflict"
    assert kz.tags.create(analyst, "tlp:red").colour == "#ff2b2b"


def test_suggest_existing_tags_then_taxonomy_values(kz: Kizashi, analyst: Actor) -> None:
    new(kz, analyst, "1", tags=["tlp:green", "tlpish"])
    new(kz, analyst, "2", tags=["tlp:green"])
    got = kz.tags.suggest(SYSTEM, "tlp", limit=20)
    assert got[:2] == ["tlp:green", "tlpish"]
    rest = got[2:]
    assert {"tlp:red", "tlp:amber", "tlp:amber+strict", "tlp:clear"} <= set(rest)
    assert set(rest) <= set(catalogue()["tlp"].tags)
    assert len(got) == len(set(got))
    assert kz.tags.suggest(SYSTEM, "tlp", limit=3) == got[:3]
    adm = kz.tags.suggest(SYSTEM, "admiralty", limit=50)
    assert adm == list(catalogue()["admiralty-scale"].tags)


def test_neighbours_count_co_occurring_tags(kz: Kizashi, analyst: Actor) -> None:
    new(kz, analyst, "1", tags=["a", "b", "c"])
    new(kz, analyst, "2", tags=["a", "b"])
    new(kz, analyst, "3", tags=["a", "d"])
    new(kz, analyst, "4", tags=["b", "e"])
    gone = new(kz, analyst, "5", tags=["a", "e"])
    kz.objects.revoke(analyst, gone)
    assert kz.tags.neighbours(SYSTEM, "a") == [("b", 2), ("c", 1), ("d", 1)]
    assert kz.tags.neighbours(SYSTEM, "b") == [("a", 2), ("c", 1), ("e", 1)]
    assert kz.tags.neighbours(SYSTEM, "a", limit=1) == [("b", 2)]
    assert code_of(kz.tags.neighbours, SYSTEM, "zzz").code == "not_found"


def test_related_tags_count_the_newest_objects_of_each_tag(kz: Kizashi, analyst: Actor) -> None:
    """A page's related tags: counted once per object on a tag's newest ``sample``
    objects, said to be a sample when the tag has more, the object's own tags left out."""
    older = [new(kz, analyst, f"old-{k}") for k in range(3)]
    newer = [new(kz, analyst, f"new-{k}") for k in range(2)]
    for oid in older:
        kz.tags.tag(analyst, oid, ["apt", "loader"])
    for oid in newer:
        kz.tags.tag(analyst, oid, ["apt", "wiper", "tlp:green"])
    every = kz.tags.related(analyst, ["apt"], 10, sample=10)
    assert every.tags == [("loader", 3), ("tlp:green", 2), ("wiper", 2)]
    assert (every.counted, every.sampled) == (5, False)
    newest = kz.tags.related(analyst, ["apt"], 10, sample=2)
    assert newest.tags == [("tlp:green", 2), ("wiper", 2)]
    assert (newest.counted, newest.sampled) == (2, True)
    # Two asked tags on one object count it once; besides leaves a tag out of the answer.
    both = kz.tags.related(analyst, ["apt", "wiper"], 10, sample=10, besides=["tlp:green"])
    assert both.tags == [("loader", 3)]
    assert both.counted == 5
    assert kz.tags.related(analyst, ["no-such-tag"], 10).tags == []
