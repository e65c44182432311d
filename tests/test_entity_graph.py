"""The entity graph of an object page, on SQLite and PostgreSQL: relationships, refs both
ways, TLP and revocation, caps with counts of what was left out, and the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi


def make(kz: Kizashi, who: Actor, raw: dict[str, Any], **kw: Any) -> str:
    return kz.objects.create(who, raw, **kw)[0].id


def malware(kz: Kizashi, who: Actor, name: str) -> str:
    return make(kz, who, {"type": "malware", "name": name, "is_family": True})


def report(kz: Kizashi, who: Actor, name: str, text: str, refs: list[str], **kw: Any) -> str:
    raw = {
        "type": "report",
        "name": name,
        "description": text,
        "published": "2025-03-01T00:00:00Z",
        "object_refs": refs,
    }
    return make(kz, who, raw, **kw)


def edges_of(graph: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(e["source"], e["label"], e["target"], e["kind"]) for e in graph["edges"]}


def names_of(graph: dict[str, Any]) -> dict[str, str]:
    return {n["id"]: n["name"] for n in graph["nodes"]}


def test_one_hop_around_malware_and_around_a_report(
    kz: Kizashi, analyst: Actor, reader: Actor
) -> None:
    actor = make(kz, analyst, {"type": "threat-actor", "name": "Lazarus"})
    mal = malware(kz, analyst, "AppleJeus")
    uses = kz.relationships.create(analyst, actor, "uses", mal).id
    rep = report(kz, analyst, "AppleJeus の分析", "通信先は 45[.]77[.]12[.]34 だった。", [mal])

    around_malware = kz.entity_graph.graph(analyst, mal).as_dict()
    assert around_malware["root"] == mal
    assert names_of(around_malware) == {
        mal: "AppleJeus",
        actor: "Lazarus",
        rep: "AppleJeus の分析",
    }
    assert edges_of(around_malware) == {
        (actor, "uses", mal, "relationship"),
        (rep, "object_refs", mal, "ref"),
    }
    assert next(e["id"] for e in around_malware["edges"] if e["kind"] == "relationship") == uses
    assert around_malware["more"] == {}

    # The report names the malware by hand and the address by extraction.
    around_report = kz.entity_graph.graph(analyst, rep).as_dict()
    types = {n["type"] for n in around_report["nodes"]}
    assert types == {"report", "malware", "ipv4-addr"}
    ip = next(n["id"] for n in around_report["nodes"] if n["type"] == "ipv4-addr")
    assert edges_of(around_report) == {
        (rep, "object_refs", mal, "ref"),
        (rep, "object_refs", ip, "ref"),
    }
    # Expanding the address leads back to the report that mentions it.
    around_ip = kz.entity_graph.graph(analyst, ip).as_dict()
    assert edges_of(around_ip) == {(rep, "object_refs", ip, "ref")}

    # A relationship's own graph is its two ends.
    around_edge = kz.entity_graph.graph(analyst, uses).as_dict()
    assert edges_of(around_edge) == {
        (uses, "source_ref", actor, "ref"),
        (uses, "target_ref", mal, "ref"),
    }
    assert names_of(around_edge)[uses] == "Lazarus uses AppleJeus"

    # A report that names the relationship draws it by its ends' names, not their ids;
    # an end the reader may not read keeps its id.
    hidden = make(kz, analyst, {"type": "threat-actor", "name": "極秘集団"}, tlp="red")
    secret = kz.relationships.create(analyst, hidden, "uses", mal).id
    named = report(kz, analyst, "関係の報告", "関係。", [uses, secret])
    assert names_of(kz.entity_graph.graph(analyst, named).as_dict())[uses] == (
        "Lazarus uses AppleJeus"
    )
    for_reader = names_of(kz.entity_graph.graph(reader, named).as_dict())
    assert for_reader[secret] == f"{hidden} uses AppleJeus"
    assert "極秘集団" not in str(for_reader)


def test_hidden_objects_are_not_nodes(
    kz: Kizashi, analyst: Actor, admin: Actor, reader: Actor
) -> None:
    mal = malware(kz, analyst, "PlugX")
    secret = report(kz, analyst, "内部調査", "限定共有。", [mal], tlp="red")
    shared = report(kz, analyst, "公開報告", "公開。", [mal], tlp="clear")
    gone = report(kz, analyst, "取り下げ", "誤り。", [mal])
    kz.objects.revoke(analyst, gone)

    def seen(who: Actor) -> set[str]:
        return set(names_of(kz.entity_graph.graph(who, mal).as_dict())) - {mal}

    # TLP:RED: its author and admins. Revoked is deleted, for admins too: an admin
    # opens a revoked object by its id, it is not a neighbour of anything.
    assert seen(reader) == {shared}
    assert seen(analyst) == {shared, secret}
    assert seen(admin) == {shared, secret}
    assert gone not in seen(admin)


def test_a_hub_is_capped_and_says_how_much_was_left(kz: Kizashi, analyst: Actor) -> None:
    mal = malware(kz, analyst, "Emotet")
    reports = [report(kz, analyst, f"報告 {i}", "本文。", [mal]) for i in range(5)]
    capped = kz.entity_graph.graph(analyst, mal, limit=2).as_dict()
    # Newest first.
    assert set(names_of(capped)) == {mal, reports[4], reports[3]}
    assert capped["more"] == {"referred": 3}
    assert len(kz.entity_graph.graph(analyst, mal, limit=5).as_dict()["nodes"]) == 6
    with pytest.raises(KizashiError) as info:
        kz.entity_graph.graph(analyst, mal, limit=0)
    assert info.value.code == "validation_failed"


def test_api_graph_of_an_object(kz: Kizashi, analyst: Actor, api: TestClient) -> None:
    mal = malware(kz, analyst, "QakBot")
    rep = report(kz, analyst, "QakBot returns", "Loader seen again.", [mal])
    assert api.get(f"/api/v1/objects/{mal}/graph").status_code == 401
    token, _ = kz.users.create_token(analyst, "tests")
    api.headers["Authorization"] = f"Bearer {token}"
    body = api.get(f"/api/v1/objects/{mal}/graph").json()
    assert body["root"] == mal
    assert {n["id"] for n in body["nodes"]} == {mal, rep}
    assert body["edges"] == [
        {
            "id": f"{rep}|object_refs|{mal}",
            "source": rep,
            "target": mal,
            "label": "object_refs",
            "kind": "ref",
        }
    ]
    assert api.get(f"/api/v1/objects/{mal}/graph?limit=0").status_code == 422
    missing = "malware--6d0f3b8e-2a4c-4e5f-9a1b-3c7d8e9f0a1b"
    assert api.get(f"/api/v1/objects/{missing}/graph").status_code == 404


def test_object_page_carries_the_graph(kz: Kizashi, web: TestClient) -> None:
    from test_web import login

    mal = malware(kz, kz.users.get_actor("ana"), "PlugX")
    login(web, "rei", "reader-password")
    page = web.get(f"/objects/{mal}").text
    assert '<script src="/static/dist/entity.js" defer></script>' in page
    assert f'id="entity-graph" class="graph-canvas entity-canvas" data-root="{mal}"' in page
    # The script reads the graph with the reader's session.
    body = web.get(f"/api/v1/objects/{mal}/graph").json()
    assert [n["name"] for n in body["nodes"]] == ["PlugX"]
