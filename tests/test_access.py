"""TLP:RED is for admins and its author on every read path, not only in search: an
object by id, lists, history, edits and tags, graphs' neighbours, rules' tag sources and
suggestions, and indicator pages and lookups (which quote the reports that mention a
value). On SQLite and PostgreSQL, through the services, the API and the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizashi.config import Settings
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.server import create_app
from kizashi.services import Kizashi
from test_web import login

IDENTITY = "identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"
VALUE = "203.0.113.77"


def report(kz: Kizashi, actor: Actor, name: str, text: str, tlp: str | None = None) -> str:
    raw: dict[str, Any] = {
        "type": "report",
        "name": name,
        "description": text,
        "published": "2024-05-01T00:00:00.000Z",
        "object_refs": [IDENTITY],
    }
    view, _ = kz.objects.create(actor, raw, tlp=tlp)
    return view.id


def indicator_id(kz: Kizashi) -> str:
    found = kz.indicators.lookup(SYSTEM, [VALUE])[0]
    return next(i for i, t in found.objects if t == "ipv4-addr")


@pytest.fixture
def people(kz: Kizashi) -> dict[str, Actor]:
    kz.users.create(SYSTEM, "alice", "alice-password", "admin")
    kz.users.create(SYSTEM, "ana", "analyst-password", "analyst")
    kz.users.create(SYSTEM, "bob", "analyst-password", "analyst")
    kz.users.create(SYSTEM, "rei", "reader-password", "reader")
    return {n: kz.users.get_actor(n) for n in ("alice", "ana", "bob", "rei")}


def not_found(call: Any) -> bool:
    try:
        call()
    except KizashiError as exc:
        return exc.code == "not_found"
    return False


def test_red_is_read_by_admins_and_its_author_only(kz: Kizashi, people: dict[str, Actor]) -> None:
    alice, ana, bob, rei = (people[n] for n in ("alice", "ana", "bob", "rei"))
    red = report(kz, ana, "Ana's source", f"C2 at {VALUE}, from a named recipient.", "red")
    amber = report(kz, alice, "Shared", "Nothing special here.", "amber")
    for who in (alice, ana):
        assert kz.objects.get(who, red).tlp == "red"
        assert kz.objects.history(who, red)
        assert red in {v.id for v in kz.objects.list(who, types=["report"]).items}
    for who in (bob, rei):
        assert not_found(lambda w=who: kz.objects.get(w, red))
        assert not_found(lambda w=who: kz.objects.history(w, red))
        listed = {v.id for v in kz.objects.list(who, types=["report"]).items}
        assert red not in listed and amber in listed
        assert kz.objects.get_many(who, [red, amber]).keys() == {amber}
        assert not_found(lambda w=who: kz.rules.provenance(w, red))
        assert not_found(lambda w=who: kz.rules.suggestions(w, red))
    # Writing what one may not read is "not found" too: its existence is not told.
    assert not_found(lambda: kz.objects.update(bob, red, {"name": "mine now"}))
    assert not_found(lambda: kz.objects.revoke(bob, red))
    assert not_found(lambda: kz.tags.tag(bob, red, ["seen"]))
    assert not_found(lambda: kz.tags.untag(bob, red, ["tlp:red"]))
    assert kz.objects.get(alice, red).name == "Ana's source"
    # The search agrees with the rest.
    assert kz.search.search(bob, "recipient").total == 0
    assert kz.search.search(ana, "recipient").total == 1


def test_an_indicator_page_quotes_only_reports_the_reader_may_read(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    alice, ana, bob = people["alice"], people["ana"], people["bob"]
    green = report(kz, bob, "Public write-up", f"Scanning from {VALUE} and 198.51.100.23.", "green")
    red = report(kz, alice, "Named recipients", f"Beacon to {VALUE} seen by a partner.", "red")
    ioc = indicator_id(kz)
    # The value is known from the green report; what the red one says of it is red.
    assert kz.objects.get(ana, ioc).tlp == "green"
    page = kz.indicators.overview(ana, ioc)
    assert page.reports == 1 and [m.report_id for m in page.mentions] == [green]
    assert all("partner" not in m.context for m in page.mentions)
    assert {v for _, v, _, _ in page.co_occurring} == {"198.51.100.23"}
    admin_page = kz.indicators.overview(alice, ioc)
    assert admin_page.reports == 2
    assert {m.report_id for m in admin_page.mentions} == {red, green}
    seen = kz.indicators.lookup(ana, [VALUE])[0]
    assert (seen.known, seen.reports, seen.first_seen is not None) == (True, 1, True)
    assert kz.indicators.lookup(alice, [VALUE])[0].reports == 2
    assert red not in {i for i, _ in kz.relationships.neighbours(ana, ioc).referrers}
    assert red in {i for i, _ in kz.relationships.neighbours(alice, ioc).referrers}
    assert not_found(lambda: kz.indicators.in_report(ana, red))
    assert [m.value for m in kz.indicators.in_report(alice, red)] == [VALUE]
    # The correlation map cannot be centred on a report one may not read.
    assert not_found(lambda: kz.analytics.indicator_graph(ana, around=red))


def test_what_extraction_finds_is_marked_as_the_reports_it_was_found_in(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    # A value only a TLP:RED report names is not even known to others; as less
    # restricted reports name it, its marking falls to the least restricted of theirs.
    alice, ana, bob = people["alice"], people["ana"], people["bob"]
    report(kz, alice, "Partner's find", f"Beacon to {VALUE}.", "red")
    ioc = indicator_id(kz)
    assert kz.objects.get(alice, ioc).tlp == "red"
    assert not_found(lambda: kz.objects.get(ana, ioc))
    unknown = kz.indicators.lookup(ana, [VALUE])[0]
    assert (unknown.known, unknown.reports, unknown.objects) == (False, 0, [])
    assert kz.indicators.lookup(alice, [VALUE])[0].known
    assert kz.search.search(ana, VALUE).total == 0
    report(kz, bob, "Shared with the community", f"Also seen: {VALUE}.", "amber")
    assert kz.objects.get(ana, ioc).tlp == "amber"
    assert kz.objects.get(ana, ioc).tags == ["tlp:amber"]
    assert kz.indicators.lookup(ana, [VALUE])[0].reports == 1
    kz.tags.tag(bob, ioc, ["tlp:ex:chr"])  # someone's own TLP tag, not a level
    report(kz, bob, "A public blog", f"Blocklisted: {VALUE}.")
    view = kz.objects.get(ana, ioc)
    assert (view.tlp, view.tags) == (None, ["tlp:ex:chr"])
    # Never raised again by a more restricted report.
    report(kz, alice, "Another red one", f"{VALUE} again.", "red")
    assert kz.objects.get(ana, ioc).tlp is None


def test_a_marking_someone_set_is_not_lowered_by_extraction(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    alice, bob = people["alice"], people["bob"]
    kept, _ = kz.objects.create(alice, {"type": "ipv4-addr", "value": VALUE}, tlp="amber")
    report(kz, bob, "Public", f"Seen {VALUE}.")
    assert kz.objects.get(alice, kept.id).tlp == "amber"
    # Derived, then marked by hand: the hand wins from then on.
    report(kz, alice, "Red", "Beacon to 192.0.2.55.", "red")
    other = next(
        i for i, t in kz.indicators.lookup(SYSTEM, ["192.0.2.55"])[0].objects if t == "ipv4-addr"
    )
    kz.tags.tag(alice, other, ["tlp:red"])
    report(kz, bob, "Public too", "Seen 192.0.2.55.")
    assert kz.objects.get(alice, other).tlp == "red"


def test_a_relationship_cannot_point_at_what_one_may_not_read(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    alice, ana = people["alice"], people["ana"]
    red = report(kz, alice, "Red", "Red text.", "red")
    mine = report(kz, ana, "Mine", "My text.")
    with pytest.raises(KizashiError) as caught:
        kz.relationships.create(ana, mine, "related-to", red)
    assert caught.value.code == "validation_failed"
    assert "not a stored object" in str(caught.value.problems)


def test_the_dashboard_lists_the_indicators_one_may_read(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    from kizashi.services.dashboard import DashboardService

    alice, ana, bob = people["alice"], people["ana"], people["bob"]

    def domain(who: Actor, value: str, tlp: str | None) -> str:
        view, _ = kz.objects.create(who, {"type": "domain-name", "value": value}, tlp=tlp)
        return view.id

    theirs = domain(alice, "red-only.example.org", "red")
    mine = domain(ana, "ana-red.example.org", "red")
    public = domain(bob, "public.example.org", None)
    board = DashboardService(kz.ctx, kz.search, kz.analytics, kz.objects)
    shown = {i.id for i in board.recent_indicators(ana, 10)}
    assert {mine, public} <= shown and theirs not in shown
    assert theirs in {i.id for i in board.recent_indicators(alice, 10)}


def test_tags_only_on_red_items_are_not_shown_to_others(
    kz: Kizashi, people: dict[str, Actor]
) -> None:
    # A tag's name can say what its item does not ("op:…" on a TLP:RED report): listed,
    # counted, suggested and related only over what the asker may read.
    alice, ana, bob = people["alice"], people["ana"], people["bob"]
    red = report(kz, alice, "Red op", "Named recipients only.", "red")
    kz.tags.tag(alice, red, ["op:nightjar", "shared"])
    public = report(kz, bob, "Public", "Anyone may read this.")
    kz.tags.tag(bob, public, ["shared"])
    kz.tags.create(bob, "unused")  # on nothing yet: everyone sees it
    for who, expect in ((ana, {"shared": 1, "unused": 0}), (alice, None)):
        listed = {t.name: t.count for t in kz.tags.list(who)}
        if expect is None:
            assert listed["op:nightjar"] == 1 and listed["shared"] == 2
        else:
            assert {k: listed[k] for k in expect} == expect
            assert "op:nightjar" not in listed and "tlp:red" not in listed
    assert "op:nightjar" not in kz.tags.suggest(ana, "op")
    assert "op:nightjar" in kz.tags.suggest(alice, "op")
    assert not_found(lambda: kz.tags.get(ana, "op:nightjar"))
    assert kz.tags.get(alice, "op:nightjar").count == 1
    assert kz.tags.get(ana, "shared").count == 1
    assert ("op:nightjar", 1) not in kz.tags.neighbours(ana, "shared")
    assert ("op:nightjar", 1) in kz.tags.neighbours(alice, "shared")
    assert not_found(lambda: kz.tags.neighbours(ana, "op:nightjar"))
    # Its author reads her own red item, and its tags.
    mine = report(kz, ana, "Ana's red", "Mine.", "red")
    kz.tags.tag(ana, mine, ["op:heron"])
    assert kz.tags.get(ana, "op:heron").count == 1
    assert not_found(lambda: kz.tags.get(bob, "op:heron"))


# -- through the API and the pages ---------------------------------------------------------


@pytest.fixture
def client(kz: Kizashi, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret")
    with TestClient(create_app(settings, kz)) as c:
        yield c


def bearer(kz: Kizashi, actor: Actor) -> dict[str, str]:
    token, _ = kz.users.create_token(actor, "tests")
    return {"Authorization": f"Bearer {token}"}


def test_the_api_and_pages_answer_red_with_not_found(
    kz: Kizashi, people: dict[str, Actor], client: TestClient
) -> None:
    alice, ana = people["alice"], people["ana"]
    red = report(kz, alice, "Red by id", f"Seen at {VALUE}.", "red")
    ioc = indicator_id(kz)
    as_ana, as_alice = bearer(kz, ana), bearer(kz, alice)
    assert client.get(f"/api/v1/objects/{red}", headers=as_ana).status_code == 404
    assert client.get(f"/api/v1/objects/{red}", headers=as_alice).status_code == 200
    assert client.get(f"/api/v1/objects/{red}/history", headers=as_ana).status_code == 404
    listed = client.get("/api/v1/objects", params={"type": "report"}, headers=as_ana).json()
    assert red not in {o["id"] for o in listed["items"]}
    assert client.get(f"/api/v1/objects/{ioc}/indicator", headers=as_ana).status_code == 404
    assert client.get(f"/api/v1/objects/{ioc}/indicator", headers=as_alice).status_code == 200
    looked = client.get("/api/v1/lookup", params={"value": VALUE}, headers=as_ana)
    assert looked.json()[0]["reports"] == 0
    looked = client.get("/api/v1/lookup", params={"value": VALUE}, headers=as_alice)
    assert looked.json()[0]["reports"] == 1
    # The page of an indicator does not quote the red report's sentence to ana.
    login(client, "ana", "analyst-password")
    assert client.get(f"/objects/{red}").status_code == 404
    assert client.get(f"/objects/{ioc}").status_code == 404  # known only from the red one
