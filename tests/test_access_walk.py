"""Every route of the API, walked twice: in a world without a TLP:RED report and in the
same world with one (and what it brings: a RED relationship and note, the observables
found in it, its tags, the events of rules it matched). An analyst and a reader must get
exactly the same answers in both (status, body, counts), reads and writes alike; the
one difference allowed is none. A route in the OpenAPI schema with no call here fails.

On SQLite and on PostgreSQL: the two worlds are built identically, each in a database
of its own (two files, or two PostgreSQL databases emptied with their sequences reset),
so their ids, counters and timestamps match."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import FakeClock, truncate_pg
from kizashi.config import Settings
from kizashi.model.actor import SYSTEM, Actor
from kizashi.server import create_app
from kizashi.services import Kizashi
from kizashi.store.schema import objects

IDENTITY = "identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"
ANA_REPORT = "report--0b8c7d1e-1111-4a1a-8a1a-000000000001"
AMBER_REPORT = "report--0b8c7d1e-2222-4a1a-8a1a-000000000002"
SHARED_REL = "relationship--0b8c7d1e-3333-4a1a-8a1a-000000000003"
RED_REPORT = "report--0b8c7d1e-9999-4a1a-8a1a-000000000009"
RED_REL = "relationship--0b8c7d1e-9998-4a1a-8a1a-000000000008"
RED_NOTE = "note--0b8c7d1e-9997-4a1a-8a1a-000000000007"
NEW_REPORT = "report--0b8c7d1e-5555-4a1a-8a1a-000000000005"
MISSING = "report--0b8c7d1e-0000-4a1a-8a1a-000000000000"
SHARED_IP, RED_IP = "198.51.100.7", "203.0.113.99"
RED_DOMAIN, RED_CVE = "evil-red.example", "CVE-2025-0042"
STAMP = "2024-05-01T00:00:00.000Z"

PASSWORDS = {"alice": "alice-password", "ana": "analyst-password", "rei": "reader-password"}


def stix(kind: str, sid: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "id": sid, "created": STAMP, "modified": STAMP, **props}


def build(kz: Kizashi, *, red: bool) -> None:
    """The same world twice; with ``red``, alice's TLP:RED report and what it brings."""
    for name, role in (("alice", "admin"), ("ana", "analyst"), ("rei", "reader")):
        kz.users.create(SYSTEM, name, PASSWORDS[name], role)
    alice, ana = kz.users.get_actor("alice"), kz.users.get_actor("ana")
    kz.rules.save(
        ana,
        {"name": "ana-rule", "when": {"words": ["Panda"]}, "then": {"add_tags": ["op:panda"]}},
    )
    kz.rules.save(
        alice,
        {
            "name": "alice-watch",
            "when": {"watchlist": [RED_IP, SHARED_IP]},
            "then": {"add_tags": ["alert:watch"], "notify": True},
        },
    )
    kz.objects.create(
        ana,
        stix(
            "report",
            ANA_REPORT,
            name="Panda campaign",
            description=f"Panda campaign uses {SHARED_IP}; ランサムウェアの配布。",
            published=STAMP,
            object_refs=[IDENTITY],
            labels=["shared-tag", "ana-tag"],
        ),
    )
    kz.objects.create(
        alice,
        stix(
            "report",
            AMBER_REPORT,
            name="Panda 作戦",
            description=f"Panda 作戦の C2 は {SHARED_IP}。CVE-2024-3400 を悪用。",
            published=STAMP,
            object_refs=[IDENTITY],
            labels=["shared-tag"],
        ),
        tlp="amber",
    )
    kz.objects.create(
        ana,
        stix(
            "relationship",
            SHARED_REL,
            relationship_type="related-to",
            source_ref=ANA_REPORT,
            target_ref=AMBER_REPORT,
        ),
    )
    kz.search.save(ana, "ana-panda", "Panda")
    kz.digests.create(ana, "ana-digest", query="Panda")
    if red:
        add_red(kz, alice)
    kz.search.follower.catch_up()


def add_red(kz: Kizashi, alice: Actor) -> None:
    text = (
        f"Panda 作戦の極秘情報: C2 は {RED_IP} と {RED_DOMAIN}、{RED_CVE} を悪用。"
        f" {SHARED_IP} も使う。ランサムウェアの新型。"
    )
    kz.objects.create(
        alice,
        stix(
            "report",
            RED_REPORT,
            name="極秘 Panda",
            description=text,
            published=STAMP,
            object_refs=[IDENTITY, ANA_REPORT],
            labels=["red-only-tag", "shared-tag", "ana-tag"],
        ),
        tlp="red",
    )
    kz.objects.create(
        alice,
        stix(
            "relationship",
            RED_REL,
            relationship_type="related-to",
            source_ref=RED_REPORT,
            target_ref=ANA_REPORT,
        ),
        tlp="red",
    )
    kz.objects.create(
        alice,
        stix("note", RED_NOTE, content="極秘の所見 Panda", object_refs=[ANA_REPORT, AMBER_REPORT]),
        tlp="red",
    )


@dataclass
class World:
    kz: Kizashi
    clock: FakeClock
    clients: dict[str, TestClient]
    #: STIX ids that exist when the walk starts: shown as they are, never masked.
    known: set[str] = field(default_factory=set)


def world_urls(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    """Two empty stores of the backend, one per world."""
    if backend == "sqlite":
        return [f"sqlite:///{tmp_path / name / 'kizashi.db'}" for name in ("plain", "red")]
    urls = [request.getfixturevalue(f) for f in ("pg_database", "pg_database_2")]
    for url in urls:
        truncate_pg(url)
    return urls


@pytest.fixture
def worlds(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[World, World]]:
    made: list[World] = []
    stack: list[Any] = []
    urls = world_urls(backend, tmp_path, request)
    for url, (name, red) in zip(urls, (("plain", False), ("red", True)), strict=True):
        data = tmp_path / name
        clock = FakeClock()
        kz = Kizashi.open(url, clock=clock, search_dir=data / "search")
        build(kz, red=red)
        settings = Settings(data_dir=data, secret_key="walk-secret")
        app = create_app(settings, kz)
        clients = {}
        for who in ("ana", "rei"):
            client = TestClient(app)
            stack.append(client.__enter__())
            token, _ = kz.users.create_token(kz.users.get_actor(who), "walk")
            client.headers["authorization"] = f"Bearer {token}"
            clients[who] = client
        with kz.store.read() as conn:
            known = {r[0] for r in conn.execute(objects.select().with_only_columns(objects.c.id))}
        made.append(World(kz, clock, clients, known))
    # One list for both: an id is kept if it exists in either world or is asked for.
    known = made[0].known | made[1].known | set(OBJECTS)
    for world in made:
        world.known = known
    yield made[0], made[1]
    for client in stack:
        client.__exit__(None, None, None)
    for world in made:
        world.kz.close()


# -- the calls ------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    raw: bytes | None = None


def ip_id(value: str) -> str:
    ns = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1's SCO namespace
    return f"ipv4-addr--{uuid.uuid5(ns, json.dumps({'value': value}))}"


OBJECTS = [
    ANA_REPORT,
    AMBER_REPORT,
    SHARED_REL,
    RED_REPORT,
    RED_REL,
    RED_NOTE,
    ip_id(RED_IP),
    ip_id(SHARED_IP),
    MISSING,
]
TAGS = ["shared-tag", "ana-tag", "red-only-tag", "alert:watch", "op:panda", "never-was"]
QUERIES = ["Panda", "極秘", "ランサムウェア", RED_IP, RED_CVE, "tag:red-only-tag", ""]
VALUES = [RED_IP, SHARED_IP, RED_DOMAIN, RED_CVE, "192.0.2.200"]


def each(template: str, key: str, values: list[str], **kw: Any) -> list[Call]:
    return [Call(template.replace("{" + key + "}", v), **kw) for v in values]


def per_query(path: str, **extra: Any) -> list[Call]:
    return [Call(path, {"q": q, **extra}) for q in QUERIES]


RULE = {"name": "walk-rule", "when": {"words": ["極秘"]}, "then": {"add_tags": ["walk:hit"]}}
RULE_TESTS = [
    {"name": "probe", "when": cond, "then": {"add_tags": ["x"]}}
    for cond in (
        {"words": ["極秘"]},
        {"words": ["Panda"]},
        {"regex": "極秘|Panda"},
        {"watchlist": [RED_IP, SHARED_IP]},
        {"not": {"words": ["never-there"]}},
        {"fuzzy": "Pamda", "threshold": 80},
    )
]

#: What to call for each (method, route): reads, then writes in an order that keeps a
#: world's state the same in both (what is deleted goes last).
READS: dict[tuple[str, str], list[Call]] = {
    ("GET", "/api/v1/objects"): [
        Call("/api/v1/objects"),
        *[Call("/api/v1/objects", {"tag": t}) for t in TAGS],
        *[Call("/api/v1/objects", {"q": q}) for q in QUERIES],
        Call("/api/v1/objects", {"type": "note"}),
        Call("/api/v1/objects", {"type": "relationship"}),
        Call("/api/v1/objects", {"tlp": "red"}),
        Call("/api/v1/objects", {"include_revoked": "true"}),
        *[Call("/api/v1/objects", {"sort": s}) for s in ("modified", "oldest", "created", "name")],
    ],
    ("GET", "/api/v1/objects/{stix_id}"): each("/api/v1/objects/{stix_id}", "stix_id", OBJECTS),
    ("GET", "/api/v1/objects/{stix_id}/history"): each(
        "/api/v1/objects/{stix_id}/history", "stix_id", OBJECTS
    ),
    ("GET", "/api/v1/objects/{stix_id}/neighbours"): each(
        "/api/v1/objects/{stix_id}/neighbours", "stix_id", OBJECTS, params={"depth": 2}
    ),
    ("GET", "/api/v1/objects/{stix_id}/graph"): each(
        "/api/v1/objects/{stix_id}/graph", "stix_id", OBJECTS
    ),
    ("GET", "/api/v1/tags"): [
        Call("/api/v1/tags"),
        Call("/api/v1/tags", {"prefix": "red"}),
        Call("/api/v1/tags", {"namespace": "alert"}),
    ],
    ("GET", "/api/v1/tags/suggest"): [
        Call("/api/v1/tags/suggest", {"prefix": p}) for p in ("r", "red", "alert", "s", "")
    ],
    ("GET", "/api/v1/tags/{name}/neighbours"): each("/api/v1/tags/{name}/neighbours", "name", TAGS),
    ("GET", "/api/v1/tags/{name}"): each("/api/v1/tags/{name}", "name", TAGS),
    ("GET", "/api/v1/taxonomies"): [Call("/api/v1/taxonomies")],
    ("GET", "/api/v1/relationships"): [Call("/api/v1/relationships", {"ref": r}) for r in OBJECTS],
    ("GET", "/api/v1/relationships/vocabulary"): [Call("/api/v1/relationships/vocabulary")],
    ("GET", "/api/v1/relationships/{stix_id}"): each(
        "/api/v1/relationships/{stix_id}", "stix_id", OBJECTS
    ),
    ("GET", "/api/v1/lookup"): [Call("/api/v1/lookup", {"value": v}) for v in VALUES],
    ("GET", "/api/v1/objects/{stix_id}/indicator"): each(
        "/api/v1/objects/{stix_id}/indicator", "stix_id", OBJECTS
    ),
    ("GET", "/api/v1/objects/{stix_id}/mentions"): each(
        "/api/v1/objects/{stix_id}/mentions", "stix_id", OBJECTS
    ),
    ("GET", "/api/v1/search"): [
        *per_query("/api/v1/search"),
        *per_query("/api/v1/search", facets="tags,type,tlp"),
        Call("/api/v1/search", {"q": "Panda", "sort": "newest"}),
    ],
    ("GET", "/api/v1/search/status"): [Call("/api/v1/search/status")],
    ("GET", "/api/v1/saved-searches"): [Call("/api/v1/saved-searches")],
    ("GET", "/api/v1/saved-searches/{name}"): each(
        "/api/v1/saved-searches/{name}", "name", ["ana-panda", "nope"]
    ),
    ("GET", "/api/v1/stats/terms"): per_query("/api/v1/stats/terms"),
    ("GET", "/api/v1/stats/cloud.png"): per_query("/api/v1/stats/cloud.png"),
    ("GET", "/api/v1/stats/emerging"): per_query("/api/v1/stats/emerging"),
    ("GET", "/api/v1/stats/graph/tags"): per_query("/api/v1/stats/graph/tags", min_count=1),
    ("GET", "/api/v1/stats/graph/words"): per_query("/api/v1/stats/graph/words", min_count=1),
    ("GET", "/api/v1/stats/graph/indicators"): [
        *per_query("/api/v1/stats/graph/indicators", min_shared=1),
        *[Call("/api/v1/stats/graph/indicators", {"around": v}) for v in VALUES],
    ],
    ("GET", "/api/v1/stats/trends"): [
        *[Call("/api/v1/stats/trends", {"by": "tag", "value": t}) for t in TAGS],
        *[Call("/api/v1/stats/trends", {"by": "word", "value": w}) for w in ("Panda", "極秘")],
        *per_query("/api/v1/stats/trends"),
    ],
    ("GET", "/api/v1/summaries/jobs/{job_id}"): each(
        "/api/v1/summaries/jobs/{job_id}", "job_id", ["1", "2", "99"]
    ),
    ("GET", "/api/v1/digests"): [Call("/api/v1/digests")],
    # Exports and the MISP feed: a selection naming what is RED, or reaching it.
    ("GET", "/api/v1/export"): [
        *[Call("/api/v1/export", {"tags": t}) for t in TAGS],
        *[Call("/api/v1/export", {"q": q}) for q in QUERIES if q],
        *[Call("/api/v1/export", {"id": i}) for i in (RED_REPORT, RED_NOTE, ANA_REPORT)],
        Call("/api/v1/export", {"id": ANA_REPORT, "depth": 2}),
        Call("/api/v1/export", {"format": "misp"}),
    ],
    ("GET", "/api/v1/misp/feed/manifest.json"): [Call("/api/v1/misp/feed/manifest.json")],
    ("GET", "/api/v1/misp/feed/hashes.csv"): [Call("/api/v1/misp/feed/hashes.csv")],
    ("GET", "/api/v1/misp/feed/{name}"): each(
        "/api/v1/misp/feed/{name}",
        "name",
        [f"{r.split('--')[1]}.json" for r in (RED_REPORT, ANA_REPORT, AMBER_REPORT, MISSING)],
    ),
    ("GET", "/api/v1/misp/feed/tag/{tags}/manifest.json"): each(
        "/api/v1/misp/feed/tag/{tags}/manifest.json", "tags", TAGS
    ),
    ("GET", "/api/v1/misp/feed/tag/{tags}/{name}"): [
        Call(f"/api/v1/misp/feed/tag/{t}/{RED_REPORT.split('--')[1]}.json")
        for t in ("red-only-tag", "shared-tag")
    ],
    ("GET", "/api/v1/digests/{name}"): each(
        "/api/v1/digests/{name}", "name", ["ana-digest", "nope"]
    ),
    ("GET", "/api/v1/rules"): [Call("/api/v1/rules")],
    ("GET", "/api/v1/rules/export"): [Call("/api/v1/rules/export")],
    ("GET", "/api/v1/rules/runs/{run_id}"): each(
        "/api/v1/rules/runs/{run_id}", "run_id", ["1", "2", "3", "99"]
    ),
    ("GET", "/api/v1/rules/events"): [Call("/api/v1/rules/events", {"limit": 1000})],
    ("GET", "/api/v1/rules/{name}"): each(
        "/api/v1/rules/{name}", "name", ["ana-rule", "alice-watch", "nope"]
    ),
    ("GET", "/api/v1/objects/{stix_id}/tag-sources"): each(
        "/api/v1/objects/{stix_id}/tag-sources", "stix_id", OBJECTS
    ),
    ("GET", "/api/v1/objects/{stix_id}/suggestions"): each(
        "/api/v1/objects/{stix_id}/suggestions", "stix_id", OBJECTS
    ),
    ("GET", "/api/v1/feeds"): [Call("/api/v1/feeds")],
    ("GET", "/api/v1/feeds/opml"): [Call("/api/v1/feeds/opml")],
    ("GET", "/api/v1/feeds/{feed_id}"): each("/api/v1/feeds/{feed_id}", "feed_id", ["1", "99"]),
    ("GET", "/api/v1/feeds/{feed_id}/items"): each(
        "/api/v1/feeds/{feed_id}/items", "feed_id", ["1", "99"]
    ),
    ("GET", "/api/v1/auth/me"): [Call("/api/v1/auth/me")],
    ("GET", "/api/v1/auth/tokens"): [Call("/api/v1/auth/tokens")],
    ("GET", "/api/v1/users"): [Call("/api/v1/users")],
}

OPML = (
    b'<?xml version="1.0"?><opml version="2.0"><body>'
    b'<outline type="rss" text="x" xmlUrl="http://192.0.2.10/feed.xml"/></body></opml>'
)

WRITES: list[tuple[str, str, list[Call]]] = [
    (
        "POST",
        "/api/v1/objects",
        [
            Call(
                "/api/v1/objects",
                body=stix(
                    "report",
                    NEW_REPORT,
                    name="Walk",
                    description=f"Panda と {RED_IP} 極秘",
                    published=STAMP,
                    object_refs=[IDENTITY],
                    labels=["red-only-tag"],
                ),
            ),
            Call(
                "/api/v1/objects",
                {"tlp": "red"},
                body=stix(
                    "note",
                    "note--0b8c7d1e-6666-4a1a-8a1a-000000000006",
                    content="Ana's own red",
                    object_refs=[ANA_REPORT],
                ),
            ),
            # An observable's id is its value's (STIX's deterministic ids): storing one
            # that only a RED report mentions must not tell that it is known.
            Call("/api/v1/objects", body={"type": "ipv4-addr", "value": RED_IP}),
            Call("/api/v1/objects", body={"type": "domain-name", "value": RED_DOMAIN}),
        ],
    ),
    (
        "POST",
        "/api/v1/extract",
        [
            Call("/api/v1/extract", body={"text": f"{RED_IP} {RED_DOMAIN} {RED_CVE} {SHARED_IP}"}),
        ],
    ),
    ("POST", "/api/v1/lookup", [Call("/api/v1/lookup", body={"values": VALUES})]),
    (
        "POST",
        "/api/v1/objects/{stix_id}/tags",
        each("/api/v1/objects/{stix_id}/tags", "stix_id", OBJECTS, body={"tags": ["walk-tag"]}),
    ),
    (
        "DELETE",
        "/api/v1/objects/{stix_id}/tags",
        each("/api/v1/objects/{stix_id}/tags", "stix_id", OBJECTS, params={"tag": "shared-tag"}),
    ),
    (
        "POST",
        "/api/v1/objects/bulk",
        [
            # Every object at once, the RED ones among them: they are "not_found" like
            # the missing one, and only what the analyst may read changes.
            Call(
                "/api/v1/objects/bulk",
                body={"ids": OBJECTS, "add_tags": ["walk-bulk"], "remove_tags": ["ana-tag"]},
            ),
            Call("/api/v1/objects/bulk", body={"ids": OBJECTS, "tlp": "green"}),
            Call("/api/v1/objects/bulk", body={"ids": [RED_REPORT], "add_tags": ["red-only-tag"]}),
        ],
    ),
    (
        "PATCH",
        "/api/v1/objects/{stix_id}",
        each("/api/v1/objects/{stix_id}", "stix_id", OBJECTS, body={"description": "edited"}),
    ),
    (
        "POST",
        "/api/v1/tags",
        [
            Call("/api/v1/tags", body={"name": n, "colour": "#123456"})
            for n in ("red-only-tag", "alert:watch", "brand-new", "shared-tag")
        ],
    ),
    (
        "PATCH",
        "/api/v1/tags/{name}",
        each("/api/v1/tags/{name}", "name", TAGS, body={"description": "walked"}),
    ),
    (
        "POST",
        "/api/v1/tags/merge",
        [
            Call("/api/v1/tags/merge", body={"sources": [t], "target": "merged"})
            for t in ("red-only-tag", "alert:watch", "never-was", "ana-tag", "tlp:red")
        ]
        + [Call("/api/v1/tags/merge", body={"sources": ["brand-new"], "target": "red-only-tag"})],
    ),
    (
        "PUT",
        "/api/v1/taxonomies/{namespace}",
        [Call("/api/v1/taxonomies/tlp", body={"enabled": True})],
    ),
    (
        "POST",
        "/api/v1/relationships",
        [
            Call("/api/v1/relationships", body={"source_ref": s, "target_ref": ANA_REPORT})
            for s in (AMBER_REPORT, RED_REPORT, RED_NOTE, MISSING)
        ],
    ),
    ("POST", "/api/v1/search/reindex", [Call("/api/v1/search/reindex")]),
    (
        "PUT",
        "/api/v1/saved-searches",
        [Call("/api/v1/saved-searches", body={"name": "walk", "query": "極秘"})],
    ),
    (
        "POST",
        "/api/v1/summaries",
        [
            *[Call("/api/v1/summaries", body={"id": i}) for i in OBJECTS],
            *[Call("/api/v1/summaries", body={"query": q}) for q in QUERIES],
        ],
    ),
    (
        "POST",
        "/api/v1/summaries/jobs",
        [
            Call("/api/v1/summaries/jobs", body={"query": "Panda"}),
            Call("/api/v1/summaries/jobs", body={"id": RED_REPORT}),
        ],
    ),
    ("POST", "/api/v1/digests", [Call("/api/v1/digests", body={"name": "walk", "query": "Panda"})]),
    (
        "POST",
        "/api/v1/digests/{name}/run",
        each("/api/v1/digests/{name}/run", "name", ["ana-digest", "walk", "nope"]),
    ),
    ("POST", "/api/v1/rules/test", [Call("/api/v1/rules/test", body=r) for r in RULE_TESTS]),
    ("POST", "/api/v1/rules", [Call("/api/v1/rules", body=RULE)]),
    (
        "PUT",
        "/api/v1/rules/{name}",
        [
            Call("/api/v1/rules/walk-rule", body={**RULE, "when": {"words": ["Panda"]}}),
            Call("/api/v1/rules/nope", body=RULE),
        ],
    ),
    (
        "POST",
        "/api/v1/rules/import",
        [
            Call(
                "/api/v1/rules/import",
                raw=b"- {name: imported, when: {words: [Panda]}, then: {add_tags: [imp]}}",
            ),
        ],
    ),
    (
        "POST",
        "/api/v1/rules/{name}/apply",
        each("/api/v1/rules/{name}/apply", "name", ["walk-rule", "alice-watch", "nope"]),
    ),
    ("POST", "/api/v1/rules/apply", [Call("/api/v1/rules/apply")]),
    ("POST", "/api/v1/rules/train", [Call("/api/v1/rules/train")]),
    (
        "POST",
        "/api/v1/objects/{stix_id}/suggestions/{decision}",
        [
            Call(f"/api/v1/objects/{i}/suggestions/{d}", body={"tag": "shared-tag"})
            for i in OBJECTS
            for d in ("accept", "dismiss")
        ],
    ),
    ("POST", "/api/v1/feeds", [Call("/api/v1/feeds", body={"url": "http://192.0.2.10/a.xml"})]),
    ("POST", "/api/v1/feeds/opml", [Call("/api/v1/feeds/opml", raw=OPML)]),
    (
        "PATCH",
        "/api/v1/feeds/{feed_id}",
        each("/api/v1/feeds/{feed_id}", "feed_id", ["1", "99"], body={"title": "walked"}),
    ),
    (
        "POST",
        "/api/v1/feeds/{feed_id}/poll",
        each("/api/v1/feeds/{feed_id}/poll", "feed_id", ["1", "99"]),
    ),
    ("POST", "/api/v1/auth/tokens", [Call("/api/v1/auth/tokens", body={"name": "second"})]),
    (
        "DELETE",
        "/api/v1/auth/tokens/{token_id}",
        each("/api/v1/auth/tokens/{token_id}", "token_id", ["99"]),
    ),
    (
        "POST",
        "/api/v1/users",
        [
            Call(
                "/api/v1/users",
                body={"username": "eve", "password": "eve-password", "role": "admin"},
            )
        ],
    ),
    (
        "PATCH",
        "/api/v1/users/{username}",
        [
            Call("/api/v1/users/alice", body={"role": "reader"}),
            Call("/api/v1/users/rei", body={"password": "a new reader password"}),
        ],
    ),
    (
        "DELETE",
        "/api/v1/saved-searches/{name}",
        each("/api/v1/saved-searches/{name}", "name", ["walk", "nope"]),
    ),
    ("DELETE", "/api/v1/digests/{name}", each("/api/v1/digests/{name}", "name", ["walk", "nope"])),
    (
        "DELETE",
        "/api/v1/rules/{name}",
        [
            Call("/api/v1/rules/alice-watch", {"remove_tags": "true"}),
            Call("/api/v1/rules/nope"),
        ],
    ),
    ("DELETE", "/api/v1/feeds/{feed_id}", each("/api/v1/feeds/{feed_id}", "feed_id", ["99"])),
    (
        "POST",
        "/api/v1/objects/{stix_id}/restore",
        each("/api/v1/objects/{stix_id}/restore", "stix_id", OBJECTS),
    ),
    ("DELETE", "/api/v1/objects/{stix_id}", each("/api/v1/objects/{stix_id}", "stix_id", OBJECTS)),
]


# -- calls made from the schema alone ---------------------------------------------------
#: Values for a path parameter, by its name: every route gets these calls whether or not
#: the tables above know it, so a new route is walked the day it is added.
NAMES = ["shared-tag", "red-only-tag", "ana-rule", "ana-digest", "ana-panda", "ana", "nope"]


def path_values(name: str, spec: dict[str, Any]) -> list[str]:
    kind = spec.get("schema", {})
    if "pattern" in kind:  # an enumeration in a pattern, such as ^(accept|dismiss)$
        return re.findall(r"\w+", kind["pattern"])[:1]
    if kind.get("type") == "integer":
        return ["1", "99"]
    if name.endswith("id"):
        return OBJECTS
    return NAMES


def sample(name: str, spec: dict[str, Any], components: dict[str, Any]) -> Any:
    """A value for a body field, chosen to touch the hidden things where it can."""
    if "$ref" in spec:
        spec = components[spec["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in spec:
        spec = next(s for s in spec["anyOf"] if s.get("type") != "null")
    kind = spec.get("type")
    if kind == "object":
        props = spec.get("properties", {})
        return {k: sample(k, props[k], components) for k in spec.get("required", [])}
    if kind == "array":
        return [sample(name, spec.get("items", {"type": "string"}), components)]
    if kind == "boolean":
        return True
    if kind == "integer":
        return max(1, int(spec.get("minimum", 1)))
    by_name = {"url": "http://192.0.2.10/g.xml", "password": "generic password", "tag": TAGS[2]}
    if name.endswith("_ref"):
        return RED_REPORT
    return by_name.get(name, f"{RED_IP} 極秘 Panda" if name in ("text", "query", "q") else name)


def from_schema(schema: dict[str, Any]) -> tuple[list[tuple[str, str, Call]], ...]:
    """For every operation: a call per value of its path parameters (required query
    parameters filled in), and a body made from its request schema."""
    components = schema.get("components", {}).get("schemas", {})
    reads, writes, deletes = [], [], []
    for route, ops in schema["paths"].items():
        for method, op in ops.items():
            params = op.get("parameters", [])
            paths = [route]
            for p in (p for p in params if p["in"] == "path"):
                key = "{" + p["name"] + "}"
                paths = [t.replace(key, v) for t in paths for v in path_values(p["name"], p)]
            query = {
                p["name"]: sample(p["name"], p.get("schema", {}), components)
                for p in params
                if p["in"] == "query" and p.get("required")
            }
            content = op.get("requestBody", {}).get("content", {})
            body = None
            if "application/json" in content:
                body = sample("body", content["application/json"]["schema"], components)
            for path in paths:
                call = (method.upper(), route, Call(path, query, body))
                (reads if method == "get" else deletes if method == "delete" else writes).append(
                    call
                )
    return reads, writes, deletes


# -- comparing answers ----------------------------------------------------------------
UUID = re.compile(
    r"\b([a-z0-9-]+--)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
)
#: Values that differ between any two runs, RED or not: a new token's secret.
#: And a search hit's relevance: BM25 weighs a word by how many documents hold it, over
#: the whole index. A score's last digits move with documents one may not read (as in
#: every engine that filters a shared index); which hits, their order and counts may not.
#: A retry's time after a failed poll has random jitter. And an event's pk is a cursor
#: over one sequence for all: its gaps count events about objects one may not read (as a
#: rule run's id counts everyone's runs); what events are listed and what they say may not.
NOISE = {"token", "prefix", "score", "next_poll_at", "pk"}


def normalise(world: World, answer: Any, seen: dict[str, str]) -> Any:
    """Ids made during the walk (new relationships, ...) become their order of first
    appearance, equal in both worlds; ids that existed before are kept as they are."""

    def text(s: str) -> str:
        def swap(m: re.Match[str]) -> str:
            whole = m.group(0)
            if whole in world.known or (
                m.group(1) is None and any(k.endswith(whole) for k in world.known)
            ):
                return whole
            return seen.setdefault(whole, f"<new {len(seen)}>")

        return UUID.sub(swap, s)

    if isinstance(answer, dict):
        return {
            k: "<noise>" if k in NOISE else normalise(world, v, seen) for k, v in answer.items()
        }
    if isinstance(answer, list):
        return [normalise(world, v, seen) for v in answer]
    if isinstance(answer, str):
        return text(answer)
    return answer


#: Lists in the order objects were stored. An observable's id is its value's, so one
#: that a TLP:RED report mentioned first was stored then, and sits earlier once a report
#: one may read mentions it too: what is listed must be equal, not the places. (Where
#: it was first stored is the one thing told; docs/architecture.md, "TLP:RED".)
STORAGE_ORDER = {"/api/v1/objects"}
#: Hits whose scores tie are ordered by recency against the wall clock (the index's
#: ``recency`` weight), which moves between the two worlds' calls on a loaded machine:
#: the hits and counts must be equal, their order among equal scores is not compared.
TIED_ORDER = {"/api/v1/search"}


def answer(world: World, who: str, method: str, call: Call, seen: dict[str, str]) -> Any:
    client = world.clients[who]
    if call.raw is not None:
        r = client.request(method, call.path, params=call.params, content=call.raw)
    else:
        r = client.request(method, call.path, params=call.params, json=call.body)
    r = settle(world, who, r)
    kind = r.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body: Any = normalise(world, r.json() if r.content else None, seen)
        if method == "GET" and call.path in STORAGE_ORDER and isinstance(body, dict):
            body["items"] = sorted(body.get("items", []), key=json.dumps)
        if method == "GET" and call.path in TIED_ORDER and isinstance(body, dict):
            body["hits"] = sorted(body.get("hits", []), key=json.dumps)
    elif kind.startswith("image/"):
        body = r.content
    else:
        body = normalise(world, r.text, seen)
    return r.status_code, body


def settle(world: World, who: str, r: Any) -> Any:
    """Background work started by a call finishes before the next call, and the answer
    compared is the finished work's (the first answer races with the worker thread)."""
    if r.status_code != 202:
        return r
    out = r.json()
    client = world.clients[who]
    if r.url.path.startswith("/api/v1/rules"):
        world.kz.rules.wait(out["id"])
        return client.get(f"/api/v1/rules/runs/{out['id']}")
    if r.url.path.startswith("/api/v1/summaries"):
        world.kz.summaries.wait(SYSTEM, out["id"])
        return client.get(f"/api/v1/summaries/jobs/{out['id']}")
    return r


def walk(
    plain: World, red: World, calls: list[tuple[str, str, Call]], who: str, where: str
) -> list[str]:
    differences = []
    seen_plain: dict[str, str] = {}
    seen_red: dict[str, str] = {}
    for method, _route, call in calls:
        a = answer(plain, who, method, call, seen_plain)
        b = answer(red, who, method, call, seen_red)
        if a != b:
            sa, sb = str(a), str(b)
            at = next((i for i, (x, y) in enumerate(zip(sa, sb, strict=False)) if x != y), 0)
            at = max(0, at - 200)
            differences.append(
                f"{where} {who} {method} {call.path} {call.params or ''} (from char {at}):\n"
                f"  without RED: {sa[at : at + 600]}\n  with RED:    {sb[at : at + 600]}"
            )
        for world in (plain, red):
            world.kz.search.follower.catch_up()
            world.clock.tick(61)  # time passes alike in both: what is made later is newer
    return differences


def test_every_route_answers_the_same_with_a_red_object_present_or_absent(
    worlds: tuple[World, World],
) -> None:
    plain, red = worlds
    schema = plain.clients["ana"].app.openapi()  # type: ignore[attr-defined]
    routes = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    known = set(READS) | {(m, p) for m, p, _ in WRITES}
    assert known - routes == set(), "calls for routes that are gone"
    # Every route from the schema, and the hand-made calls for the routes known here.
    generic_reads, generic_writes, generic_deletes = from_schema(schema)
    assert {(m, p) for m, p, _ in generic_reads + generic_writes + generic_deletes} == routes
    reads = generic_reads + [(m, p, c) for (m, p), calls in READS.items() for c in calls]
    writes = generic_writes + [(m, p, c) for m, p, calls in WRITES for c in calls] + generic_deletes
    differences: list[str] = []
    for who in ("rei", "ana"):  # the reader's writes are refused, the analyst's are made
        differences += walk(plain, red, reads, who, "before writes")
        differences += walk(plain, red, writes, who, "writes")
        differences += walk(plain, red, reads, who, "after writes")
    assert not differences, "\n".join(differences[:40]) + f"\n({len(differences)} in all)"
    # The walk did reach the RED world's hidden things: the admin reads them there.
    # And left them as they were: the analyst's edits (untagging, merging red-only-tag
    # and even tlp:red away) moved only what the analyst may read.
    admin = red.kz.users.get_actor("alice")
    kept = red.kz.objects.get(admin, RED_REPORT)
    assert kept.tlp == "red" and kept.version == 1
    assert {"red-only-tag", "shared-tag", "tlp:red"} <= set(kept.tags)
    assert red.kz.objects.get(admin, RED_NOTE).tlp == "red"


def test_the_walk_sees_a_difference_where_there_is_one(worlds: tuple[World, World]) -> None:
    # The comparison is not blind: the admin, who reads RED, gets different answers.
    plain, red = worlds
    for world in worlds:
        token, _ = world.kz.users.create_token(world.kz.users.get_actor("alice"), "walk")
        client = TestClient(world.clients["ana"].app)
        client.headers["authorization"] = f"Bearer {token}"
        world.clients["alice"] = client
    calls = [
        ("GET", "", Call(f"/api/v1/objects/{RED_REPORT}")),
        ("GET", "", Call("/api/v1/tags/red-only-tag")),
        ("GET", "", Call("/api/v1/search", {"q": "極秘"})),
    ]
    assert len(walk(plain, red, calls, "alice", "admin")) == 3
