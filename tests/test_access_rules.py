"""Rules and tags read as their owner: a rule's test, runs (ingest, edit, retroactive),
counts, samples and events see only what the rule's owner (and who asks) may read, a
rule never changes an object its owner may not read, and a tag only on hidden objects
answers exactly as a tag that does not exist. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from test_access import people, report

__all__ = ["people"]

RED_IP = "198.51.100.9"
TEXT = f"Panda 作戦: C2 は {RED_IP}。ランサムウェアを配布している。"

CONDITIONS: list[dict[str, Any]] = [
    {"words": ["Panda"]},
    {"words": ["ランサムウェア"]},
    {"regex": r"Panda\s作戦"},
    {"phrase": "Panda 作戦"},
    {"watchlist": [RED_IP]},
    {"fuzzy": "Pamda", "threshold": 80},
    {"all": [{"words": ["Panda"]}, {"language": "ja"}]},
    {"any": [{"words": ["no-such-word"]}, {"watchlist": [RED_IP]}]},
]


def rule(name: str, when: dict[str, Any], **then: Any) -> dict[str, Any]:
    return {"name": name, "when": when, "then": {"add_tags": [f"by:{name}"], **then}}


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(KizashiError) as info:
        call()
    return info.value.code, info.value.message


def tags_of(kz: Kizashi, who: Actor, stix_id: str) -> list[str]:
    return kz.objects.get(who, stix_id).tags


@pytest.mark.parametrize("when", CONDITIONS, ids=lambda c: next(iter(c)))
def test_a_rule_test_counts_and_samples_only_what_the_tester_may_read(
    kz: Kizashi, people: dict[str, Actor], when: dict[str, Any]
) -> None:
    alice, ana, bob = people["alice"], people["ana"], people["bob"]
    red = report(kz, alice, "Alice's source", TEXT, "red")
    amber = report(kz, bob, "Shared", TEXT, "amber")
    own = report(kz, ana, "Ana's own", TEXT, "red")
    spec = rule("probe", when)

    def found(who: Actor) -> set[str]:
        result = kz.rules.test(who, spec)
        ids = {s.id for s in result.sample}
        assert result.matched == len(ids)  # fewer than a sample's worth: all are shown
        # A watchlist also finds the IP's observable, marked as the least restricted
        # report that mentions it (Bob's amber one): everyone here reads it.
        return {i for i in ids if i.startswith("report--")}

    assert found(alice) == {red, amber, own}
    assert found(ana) == {amber, own}
    assert found(bob) == {amber}
    # Readers do not test rules at all, so they cannot probe either.
    assert error_of(lambda: kz.rules.test(people["rei"], spec))[0] == "forbidden"


def test_a_rule_on_incoming_and_edited_items_acts_only_on_what_its_owner_reads(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    alice, ana, rei = people["alice"], people["ana"], people["rei"]
    kz.rules.save(ana, rule("ana-panda", {"words": ["Panda"]}, notify=True))
    kz.rules.save(alice, {**rule("alice-panda", {"words": ["Panda"]}, notify=True), "order": 5})
    red = report(kz, alice, "Alice's source", TEXT, "red")
    amber = report(kz, alice, "Shared", TEXT, "amber")
    assert "by:ana-panda" not in tags_of(kz, alice, red)
    assert "by:alice-panda" in tags_of(kz, alice, red)
    assert {"by:ana-panda", "by:alice-panda"} <= set(tags_of(kz, alice, amber))
    # An edit runs the rules again, still as their owners.
    kz.objects.update(alice, red, {"description": TEXT + " 追記。"})
    assert "by:ana-panda" not in tags_of(kz, alice, red)
    # Events: each reader sees those about what they may read.
    about = {w: {e["payload"]["object_id"] for e in kz.rules.events(people[w])} for w in people}
    assert about["alice"] == {red, amber}
    assert about["ana"] == about["rei"] == about["bob"] == {amber}
    assert all(e["payload"]["object_id"] != red for e in kz.rules.events(rei, limit=1000))


def test_a_marking_raised_by_an_earlier_rule_hides_the_item_from_later_rules(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    alice, ana, bob = people["alice"], people["ana"], people["bob"]
    kz.rules.save(alice, {**rule("seal", {"words": ["Panda"]}, set_tlp="red"), "order": 1})
    kz.rules.save(ana, {**rule("ana-panda", {"words": ["Panda"]}), "order": 2})
    bobs = report(kz, bob, "Bob's", TEXT)
    anas = report(kz, ana, "Ana's", TEXT)
    assert kz.objects.get(alice, bobs).tlp == "red"
    # Bob's item turned RED before Ana's rule came to it: hers no longer reads it.
    assert "by:ana-panda" not in tags_of(kz, alice, bobs)
    # Ana's own item is RED too, but hers: her rule reads and tags it.
    assert "by:ana-panda" in tags_of(kz, ana, anas)


def test_retroactive_runs_read_as_the_owner_and_the_starter(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    alice, ana, bob, rei = (people[n] for n in ("alice", "ana", "bob", "rei"))
    red = report(kz, alice, "Alice's source", TEXT, "red")
    amber = report(kz, alice, "Shared", TEXT, "amber")
    kz.rules.save(ana, rule("ana-panda", {"words": ["Panda"]}, notify=True))
    kz.rules.save(alice, rule("alice-panda", {"regex": "Panda"}))
    # An admin running the analyst's rule: the rule still reads as its owner.
    run = kz.rules.apply(alice, "ana-panda")
    assert run.matched == 1
    assert "by:ana-panda" not in tags_of(kz, alice, red)
    assert "by:ana-panda" in tags_of(kz, alice, amber)
    # An analyst running the admin's rule: nothing the analyst may not read changes,
    # and the count is of what they may read.
    run = kz.rules.apply(ana, "alice-panda")
    assert run.matched == 1
    assert "by:alice-panda" not in tags_of(kz, alice, red)
    every = kz.rules.apply(ana)
    assert every.matched == 2  # one item for each rule
    assert "by:alice-panda" not in tags_of(kz, alice, red)
    # A run is its starter's (and admins'): another analyst or a reader learns nothing.
    assert kz.rules.run_view(run.id, ana).matched == 1
    assert kz.rules.run_view(run.id, alice).id == run.id
    missing = error_of(lambda: kz.rules.run_view(10_000, bob))
    assert error_of(lambda: kz.rules.run_view(run.id, bob)) == (
        missing[0],
        missing[1].replace("10000", str(run.id)),
    )
    assert error_of(lambda: kz.rules.run_view(run.id, rei))[0] == "not_found"
    assert {e["payload"]["object_id"] for e in kz.rules.events(rei)} == {amber}
    # Deleting a rule reports how many items lost a tag among those one may read.
    kz.rules.save(alice, rule("alice-both", {"words": ["Panda"]}))
    kz.rules.apply(alice, "alice-both")
    assert "by:alice-both" in tags_of(kz, alice, red)
    assert kz.rules.delete(ana, "alice-both", remove_tags=True) == 1


def test_a_tag_only_on_hidden_objects_answers_as_one_that_does_not_exist(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    alice, ana, rei = people["alice"], people["ana"], people["rei"]
    red = report(kz, alice, "Alice's source", TEXT, "red")
    shared = report(kz, alice, "Shared", "nothing", "amber")
    kz.tags.tag(alice, red, ["op:secret-panda", "shared"])
    kz.tags.tag(alice, shared, ["shared"])

    def same(call: Any, name: str) -> None:
        hidden = error_of(lambda: call("op:secret-panda"))
        absent = error_of(lambda: call(name))
        assert hidden == (absent[0], absent[1].replace(name, "op:secret-panda"))

    for who in (ana, rei):
        same(lambda n, w=who: kz.tags.get(w, n), "op:never-was")
        same(lambda n, w=who: kz.tags.neighbours(w, n), "op:never-was")
        listed = {t.name for t in kz.tags.list(who)}
        assert "op:secret-panda" not in listed and "shared" in listed
        assert kz.tags.get(who, "shared").count == 1
        assert "op:secret-panda" not in kz.tags.suggest(who, "op:")
        assert dict(kz.tags.neighbours(who, "shared")) == {"tlp:amber": 1}
    same(lambda n: kz.tags.update(ana, n, colour="#112233"), "op:never-was")
    same(lambda n: kz.tags.update(ana, n, new_name="op:mine"), "op:never-was")
    same(lambda n: kz.tags.merge(ana, [n], "shared"), "op:never-was")
    # Merging a visible tag into a hidden one counts only what the asker reads.
    kz.tags.create(ana, "ana-tag")
    kz.tags.tag(ana, shared, ["ana-tag"])
    assert kz.tags.merge(ana, ["ana-tag"], "op:secret-panda").count == 1
    # Creating a name held only by hidden objects succeeds as a new tag would.
    made = kz.tags.create(ana, "op:other-secret-never")
    assert made.count == 0
    kz.tags.tag(alice, red, ["op:only-red"])
    assert kz.tags.create(ana, "op:only-red").count == 0
    assert error_of(lambda: kz.tags.create(ana, "shared"))[0] == "conflict"
    # The admin still sees all of it, and nothing of it was lost.
    assert kz.tags.get(alice, "op:secret-panda").count == 2
    assert "op:secret-panda" in tags_of(kz, alice, red)
