"""STIX 2.1 import and export (issue 19): versions, bad input, references, markings and
labels, who may change what, and the interplay with extraction and rules."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import sqlalchemy as sa

from kizashi.formats import Limits
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.services.exchange import ImportReport, Selection
from support import bundle, opener, store_counts

IDENTITY = "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"
AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
MALWARE = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
INDICATOR = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
RELATIONSHIP = "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"
REPORT = "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3"


def malware(modified: str = "2024-01-01T00:00:00.000Z", **extra: Any) -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": MALWARE,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": "Poison Ivy",
        "is_family": True,
        **extra,
    }


def indicator() -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": INDICATOR,
        "created": "2024-01-02T00:00:00.000Z",
        "modified": "2024-01-02T00:00:00.000Z",
        "name": "C2",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2024-01-02T00:00:00Z",
    }


def relationship() -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": RELATIONSHIP,
        "created": "2024-01-03T00:00:00.000Z",
        "modified": "2024-01-03T00:00:00.000Z",
        "relationship_type": "indicates",
        "source_ref": INDICATOR,
        "target_ref": MALWARE,
    }


def imp(kz: Kizashi, actor: Actor, data: bytes, **kw: Any) -> ImportReport:
    return kz.exchange.import_(actor, opener(data), **kw)


def exported(kz: Kizashi, actor: Actor, selection: Selection | None = None) -> dict[str, Any]:
    out = io.BytesIO()
    kz.exchange.export(actor, out, selection or Selection(include_revoked=True), format="stix")
    doc = json.loads(out.getvalue())
    assert doc["type"] == "bundle"
    return {o["id"]: o for o in doc["objects"]}


# -- versions ---------------------------------------------------------------------------


def test_import_then_again_changes_nothing(kz: Kizashi) -> None:
    data = bundle(malware(), indicator(), relationship())
    first = imp(kz, SYSTEM, data)
    assert first.counts["new"] == 3 and first.written
    before = store_counts(kz)
    again = imp(kz, SYSTEM, data)
    assert again.counts["unchanged"] == 3
    assert again.counts["new"] == again.counts["updated"] == 0
    assert store_counts(kz) == before


def test_versions_follow_modified(kz: Kizashi) -> None:
    imp(kz, SYSTEM, bundle(malware("2024-02-01T00:00:00.000Z", description="second")))
    older = imp(kz, SYSTEM, bundle(malware("2024-01-15T00:00:00.000Z", description="first")))
    assert older.counts["older"] == 1
    assert kz.objects.get(SYSTEM, MALWARE).stix["description"] == "second"
    newer = imp(kz, SYSTEM, bundle(malware("2024-03-01T00:00:00.123456Z", description="third")))
    assert newer.counts["updated"] == 1
    view = kz.objects.get(SYSTEM, MALWARE)
    assert view.stix["description"] == "third"
    assert view.stix["modified"] == "2024-03-01T00:00:00.123456Z"  # as the producer wrote it
    history = kz.objects.history(SYSTEM, MALWARE)
    assert [v.stix.get("description") for v in history] == ["third", "second"]
    # Same modified, other content: a conflict, the stored one kept.
    clash = imp(kz, SYSTEM, bundle(malware("2024-03-01T00:00:00.123456Z", description="x")))
    assert clash.counts["conflict"] == 1
    assert clash.problems[0].id == MALWARE and clash.problems[0].where == "modified"
    assert kz.objects.get(SYSTEM, MALWARE).stix["description"] == "third"


def test_a_later_copy_in_the_same_input_wins_when_newer(kz: Kizashi) -> None:
    report = imp(
        kz,
        SYSTEM,
        bundle(
            malware("2024-01-01T00:00:00.000Z", description="a"),
            malware("2024-01-05T00:00:00.000Z", description="b"),
            malware("2024-01-05T00:00:00.000Z", description="c"),
        ),
    )
    assert report.counts["new"] == 1 and report.counts["updated"] == 1
    assert report.counts["conflict"] == 1
    assert kz.objects.get(SYSTEM, MALWARE).stix["description"] == "b"


def test_preview_writes_nothing_and_counts_what_would_change(kz: Kizashi) -> None:
    imp(kz, SYSTEM, bundle(malware()))
    before = store_counts(kz)
    preview = imp(
        kz,
        SYSTEM,
        bundle(malware("2024-06-01T00:00:00.000Z"), indicator(), {"type": "indicator"}),
        write=False,
    )
    assert not preview.written
    assert preview.counts["updated"] == 1 and preview.counts["new"] == 1
    assert preview.counts["invalid"] == 1
    assert preview.by_type["malware"]["updated"] == 1
    assert store_counts(kz) == before


def test_revoked_objects_are_marked_revoked(kz: Kizashi) -> None:
    imp(kz, SYSTEM, bundle(malware(revoked=True)))
    with kz.store.read() as conn:
        revoked = conn.execute(
            sa.text("SELECT revoked FROM objects WHERE id = :i"), {"i": MALWARE}
        ).scalar_one()
    assert bool(revoked)
    assert MALWARE in exported(kz, SYSTEM)
    assert MALWARE not in exported(kz, SYSTEM, Selection())


# -- references, custom content, markings, labels -----------------------------------------------


def test_references_resolve_in_any_order_and_later(kz: Kizashi) -> None:
    # The relationship first, its ends not yet stored: kept as written.
    imp(kz, SYSTEM, bundle(relationship()))
    assert exported(kz, SYSTEM)[RELATIONSHIP]["source_ref"] == INDICATOR
    imp(kz, SYSTEM, bundle(indicator(), malware()))
    around = exported(kz, SYSTEM, Selection(ids=(MALWARE,), depth=1))
    assert {MALWARE, RELATIONSHIP, INDICATOR} <= set(around)
    only = exported(kz, SYSTEM, Selection(ids=(MALWARE,)))
    assert set(only) == {MALWARE}


def test_custom_objects_properties_and_extensions_are_kept(kz: Kizashi) -> None:
    custom = {
        "type": "x-acme-sighting-note",
        "spec_version": "2.1",
        "id": "x-acme-sighting-note--0c2d8e2b-4e4a-4b0f-9f0e-6a3d6b1e2c11",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "x_acme_score": 7.5,
        "nested": {"deep": [1, {"k": "値"}]},
    }
    extended = malware(
        x_acme_family_id="PI-7",
        extensions={
            "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {
                "extension_type": "property-extension",
                "rank": 3,
            }
        },
    )
    report = imp(kz, SYSTEM, bundle(custom, extended))
    assert report.counts["new"] == 2, report.problems
    out = exported(kz, SYSTEM)
    assert out[custom["id"]] == custom
    assert out[MALWARE] == extended


def test_labels_become_tags_and_markings_tlp_and_both_come_back(kz: Kizashi) -> None:
    obj = malware(labels=["Ransomware", "tlp:amber"], object_marking_refs=[AMBER])
    imp(kz, SYSTEM, bundle(obj))
    view = kz.objects.get(SYSTEM, MALWARE)
    assert view.tlp == "amber"
    assert "Ransomware" in view.tags and "tlp:amber" in view.tags
    out = exported(kz, SYSTEM)
    assert out[MALWARE] == obj  # as it came, labels in their order and spelling
    assert out[AMBER]["definition"] == {"tlp": "amber"}  # the bundle carries the marking
    # An analyst's change to the tags shows in the export.
    kz.tags.tag(SYSTEM, MALWARE, ["apt:pi"])
    kz.tags.untag(SYSTEM, MALWARE, ["Ransomware"])
    assert exported(kz, SYSTEM)[MALWARE]["labels"] == ["tlp:amber", "apt:pi"]


def test_labels_that_cannot_be_tags_come_back_even_when_tags_change(kz: Kizashi) -> None:
    # A taxonomy not enabled (misp-stix writes misp:type on every attribute), a label
    # longer than a tag may be: kept as labels, and exported as they came.
    odd = ['misp:type="ip-dst"', 'osint:source-type="blog-post"', "x" * 300]
    obj = malware(labels=["Ransomware", *odd])
    imp(kz, SYSTEM, bundle(obj))
    assert kz.objects.get(SYSTEM, MALWARE).tags == ["Ransomware"]
    assert exported(kz, SYSTEM)[MALWARE] == obj
    kz.tags.untag(SYSTEM, MALWARE, ["Ransomware"])
    assert exported(kz, SYSTEM)[MALWARE]["labels"] == odd
    # Enabling the taxonomy later does not turn a kept label into a removed tag.
    kz.tags.set_taxonomy(SYSTEM, "osint", True)
    assert exported(kz, SYSTEM)[MALWARE]["labels"] == odd
    # A newer version's labels replace the old ones, kept or not.
    newer = malware("2024-02-01T00:00:00.000Z", labels=["Ransomware"])
    imp(kz, SYSTEM, bundle(newer))
    assert exported(kz, SYSTEM)[MALWARE]["labels"] == ["Ransomware"]


def ipv4(value: str) -> dict[str, Any]:
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--b5b8d5a0-1c2d-4e3f-9a8b-7c6d5e4f3a21",  # a producer's own uuid
        "value": value,
    }


def observed(modified: str, *refs: str) -> dict[str, Any]:
    return {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": "observed-data--b5b8d5a0-1c2d-4e3f-9a8b-7c6d5e4f3a21",
        "created": "2024-05-01T00:00:00.000Z",
        "modified": modified,
        "first_observed": "2024-05-01T00:00:00Z",
        "last_observed": "2024-05-01T00:00:00Z",
        "number_observed": 1,
        "object_refs": list(refs),
    }


def test_an_observable_takes_the_version_of_the_observed_data_that_carries_it(
    kz: Kizashi,
) -> None:
    sco = ipv4("198.51.100.7")
    imp(kz, SYSTEM, bundle(observed("2024-05-01T00:00:00.000Z", sco["id"]), sco))
    # Other content alone: no version tells which is newer, the stored one stays.
    alone = imp(kz, SYSTEM, bundle(ipv4("198.51.100.8")))
    assert alone.counts["conflict"] == 1 and "no version" in alone.problems[0].why
    assert kz.objects.get(SYSTEM, sco["id"]).stix["value"] == "198.51.100.7"
    # With an observed data that is newer and carries it (a MISP attribute whose value
    # changed): the new content.
    again = imp(
        kz, SYSTEM, bundle(observed("2024-05-02T00:00:00.000Z", sco["id"]), ipv4("198.51.100.8"))
    )
    assert again.counts["updated"] == 2 and again.counts["conflict"] == 0
    assert kz.objects.get(SYSTEM, sco["id"]).stix["value"] == "198.51.100.8"
    assert kz.indicators.lookup(SYSTEM, ["198.51.100.8"])[0].known
    assert not kz.indicators.lookup(SYSTEM, ["198.51.100.7"])[0].known


def test_accounts_identities_come_only_with_what_they_made(kz: Kizashi) -> None:
    from kizashi.model.actor import identity_for

    kz.users.create(SYSTEM, "partner", "partner password", "reader")
    kz.users.create(SYSTEM, "ana", "analyst password", "analyst")
    ana = kz.users.get_actor("ana")
    imp(kz, SYSTEM, bundle(malware()))
    assert identity_for("partner") not in exported(kz, SYSTEM)
    assert identity_for("ana") not in exported(kz, SYSTEM)
    made, _ = kz.objects.create(ana, {"type": "tool", "name": "Cobalt Strike"})
    out = exported(kz, SYSTEM)
    assert out[made.id]["created_by_ref"] == identity_for("ana") and identity_for("ana") in out
    assert identity_for("partner") not in out
    # Named, it comes.
    named = exported(kz, SYSTEM, Selection(ids=(identity_for("partner"),)))
    assert identity_for("partner") in named


def test_invalid_objects_are_reported_one_by_one_and_the_rest_imported(kz: Kizashi) -> None:
    bad_pattern = {**indicator(), "id": "indicator--0f9d1f8c-9c3a-4a7e-b2a5-0b7c3d9f2e11"}
    del bad_pattern["pattern"]
    report = imp(
        kz,
        SYSTEM,
        bundle(
            malware(),
            {"type": "malware", "id": "malware--not-a-uuid", "spec_version": "2.1"},
            {**malware(), "id": "tool--31b940d4-6f7f-459a-80ea-9c1f17b5891b"},
            {
                **malware(),
                "spec_version": "2.0",
                "id": "malware--6b616fc1-1505-48e3-8b2c-0d19337bff38",
            },
            bad_pattern,
            {**relationship(), "modified": "yesterday"},
            [1, 2],
            {**malware(), "id": "malware--7d1b5e4c-3a2f-4b6e-9c8d-1e2f3a4b5c6d", "is_family": None},
            {
                **indicator(),
                "id": "indicator--2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
                "pattern": "[ipv4-addr:value = '1.2.3.4'",
            },
        ),
    )
    assert report.counts["new"] == 1 and report.counts["invalid"] == 8
    why = {(p.index, p.where): p.why for p in report.problems}
    assert "not a STIX identifier" in why[(1, "id")]
    assert "names type 'tool'" in why[(2, "id")]
    assert "Kizashi reads STIX 2.1" in why[(3, "spec_version")]
    assert any(i == 4 and "pattern" in (w + m) for (i, w), m in why.items())
    assert "not a STIX timestamp" in why[(5, "modified")]
    assert "not a STIX object" in why[(6, "")]
    # python-stix2's message, then the OASIS validator's on the same object.
    assert why[(7, "is_family")].startswith("No values for required properties for Malware")
    assert "stix2-validator: is_family: null properties are not allowed" in why[(7, "is_family")]
    assert "missing ']'" in why[(8, "pattern")]
    assert "stix2-validator: Pattern failed to validate" in why[(8, "pattern")]
    assert kz.objects.get(SYSTEM, MALWARE).name == "Poison Ivy"


# -- bad input as a whole -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "empty"),
        (b"not json at all", "not JSON"),
        (bundle(malware())[:-7], "not complete JSON"),
        (b'{"type": "bundle", "objects": [' + b"[" * 100 + b"]" * 100 + b"]}", "nested deeper"),
        (b'{"type": "bundle", "objects": [' + b"[" * 2_000_000, "nested deeper"),
        (bundle(malware()) + b" {}", "goes on"),
        (b'"a string"', "single JSON value"),
    ],
)
def test_an_unreadable_file_is_refused_and_nothing_stored(
    kz: Kizashi, data: bytes, said: str
) -> None:
    # The good object first: a refusal at the end still stores nothing.
    data = data.replace(
        b'"objects": [', b'"objects": [' + json.dumps(indicator()).encode() + b",", 1
    )
    before = store_counts(kz)
    with pytest.raises(KizashiError) as info:
        imp(kz, SYSTEM, data, format="stix")
    assert info.value.code == "unreadable_input"
    assert said in info.value.message and "Nothing was stored" in info.value.message
    assert store_counts(kz) == before


def test_an_input_no_format_recognises_says_so(kz: Kizashi) -> None:
    with pytest.raises(
        KizashiError, match="No format recognises this input; name one: misp, misp-galaxy, stix"
    ):
        imp(kz, SYSTEM, b"type,value\nipv4-addr,198.51.100.7\n")


def test_limits_bound_strings_and_items(kz: Kizashi) -> None:
    huge = malware(description="x" * 5000)
    with pytest.raises(KizashiError, match="5,000 characters: at most 1,000"):
        imp(kz, SYSTEM, bundle(huge), limits=Limits(max_string=1000))
    with pytest.raises(KizashiError, match="more than 10 JSON values"):
        imp(kz, SYSTEM, bundle(malware()), limits=Limits(max_item_events=10))
    with pytest.raises(KizashiError, match="More than 1 items"):
        imp(kz, SYSTEM, bundle(malware(), indicator()), limits=Limits(max_items=1))
    assert store_counts(kz)[0] == store_counts(kz)[0]
    with pytest.raises(KizashiError):
        kz.objects.get(SYSTEM, MALWARE)


def test_one_object_or_a_list_imports_too(kz: Kizashi) -> None:
    assert imp(kz, SYSTEM, json.dumps(malware()).encode()).counts["new"] == 1
    assert imp(kz, SYSTEM, json.dumps([indicator(), relationship()]).encode()).counts["new"] == 2


# -- who may change what ----------------------------------------------------------------------


def test_a_reader_cannot_import(kz: Kizashi, reader: Actor) -> None:
    with pytest.raises(KizashiError):
        imp(kz, reader, bundle(malware()))


def test_an_object_one_may_not_read_is_neither_changed_nor_described(
    kz: Kizashi, admin: Actor, analyst: Actor
) -> None:
    red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    imp(kz, admin, bundle(malware(object_marking_refs=[red], description="secret")))
    report = imp(kz, analyst, bundle(malware("2025-01-01T00:00:00.000Z", description="mine")))
    assert report.counts["refused"] == 1 and report.counts["updated"] == 0
    assert report.problems[0].why == "an object with this id exists that you may not change"
    assert "secret" not in json.dumps(report.as_dict())
    assert kz.objects.get(admin, MALWARE).stix["description"] == "secret"
    assert MALWARE not in exported(kz, analyst, Selection())
    assert MALWARE in exported(kz, admin, Selection())


def test_an_observable_known_only_from_red_reports_falls_to_the_importers_level(
    kz: Kizashi, admin: Actor, analyst: Actor
) -> None:
    """The observable extraction made of a TLP:RED report is RED by derivation; an
    analyst who imports the same value at AMBER knows it: it falls to AMBER, as when an
    AMBER report names it, and the analyst is not told it existed."""
    kz.objects.create(
        admin,
        {
            "type": "report",
            "name": "red one",
            "description": "C2 at 203.0.113.66 seen.",
            "published": "2025-04-01T00:00:00Z",
        },
        tlp="red",
    )
    found = kz.indicators.lookup(admin, ["203.0.113.66"])[0].objects
    sco_id = next(i for i, t in found if t == "ipv4-addr")
    sco = {
        k: v for k, v in kz.objects.get(admin, sco_id).stix.items() if k != "object_marking_refs"
    }
    assert not kz.indicators.lookup(analyst, ["203.0.113.66"])[0].known
    # Other content under that id stays refused, and says nothing more.
    other = imp(
        kz,
        analyst,
        bundle(
            {**sco, "x_note": "mine"},
        ),
    )
    assert other.counts["refused"] == 1
    assert kz.objects.get(admin, sco_id).tlp == "red"
    # The same value at AMBER: new to the analyst, AMBER from now on.
    preview = imp(kz, analyst, bundle({**sco, "object_marking_refs": [AMBER]}), write=False)
    assert preview.counts["new"] == 1 and not preview.problems
    assert kz.objects.get(admin, sco_id).tlp == "red"  # a preview writes nothing
    done = imp(kz, analyst, bundle({**sco, "object_marking_refs": [AMBER]}))
    assert done.counts["new"] == 1 and not done.problems
    assert kz.objects.get(analyst, sco_id).tlp == "amber"
    assert kz.indicators.lookup(analyst, ["203.0.113.66"])[0].known
    # The RED report stays RED.
    assert kz.objects.list(analyst, types=["report"]).items == []


# -- like a feed item -------------------------------------------------------------------------


def test_an_imported_report_is_extracted_ruled_and_searchable(kz: Kizashi) -> None:
    kz.rules.save(
        SYSTEM, {"name": "pi", "when": {"words": ["Poison"]}, "then": {"add_tags": ["family:pi"]}}
    )
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": REPORT,
        "created": "2024-01-04T00:00:00.000Z",
        "modified": "2024-01-04T00:00:00.000Z",
        "name": "Poison Ivy returns",
        "description": "The C2 at 198.51.100.7 and evil-domain.example served Poison Ivy.",
        "published": "2024-01-04T00:00:00Z",
        "report_types": ["threat-report"],
        "object_refs": [MALWARE],
    }
    imp(kz, SYSTEM, bundle(report, malware()))
    view = kz.objects.get(SYSTEM, REPORT)
    assert view.stix["object_refs"] == [MALWARE]  # as the producer wrote them
    assert "family:pi" in view.tags
    found = {m.value for m in kz.indicators.in_report(SYSTEM, REPORT)}
    assert "198.51.100.7" in found
    assert kz.indicators.lookup(SYSTEM, ["198.51.100.7"])[0].known
    kz.search.follower.catch_up()
    hits = kz.search.search(SYSTEM, "Poison Ivy")
    assert REPORT in {h.id for h in hits.hits}
    # The rule's tag shows as a label in the export; the rest as it came.
    out = exported(kz, SYSTEM)[REPORT]
    assert out.pop("labels") == ["family:pi"]
    assert out == report


def test_imported_indicators_are_looked_up_and_correlated_by_their_values(
    kz: Kizashi, analyst: Actor
) -> None:
    two = {
        **indicator(),
        "pattern": "[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'Evil-C2.example']"
        " AND [file:hashes.'SHA-256' = 'AB" + "0" * 62 + "']",
    }
    imp(kz, SYSTEM, bundle(two))
    for value in ("198.51.100.7", "evil-c2.example", "ab" + "0" * 62):
        found = kz.indicators.lookup(analyst, [value])[0]
        assert (INDICATOR, "indicator") in found.objects, value
    assert kz.indicators.lookup(analyst, ["198.51.100.8"])[0].objects == []
    # A report that mentions one of its values correlates with the indicator.
    kz.objects.create(
        analyst,
        {
            "type": "report",
            "name": "C2 seen again",
            "description": "Beacons to 198.51.100[.]7 were seen on Monday.",
            "published": "2024-02-01T00:00:00Z",
        },
    )
    seen = kz.indicators.overview(analyst, INDICATOR)
    assert seen.reports == 1 and [m.report_name for m in seen.mentions] == ["C2 seen again"]
    # A new version with another pattern is looked up by its new values only.
    newer = {
        **two,
        "modified": "2024-03-01T00:00:00.000Z",
        "pattern": "[url:value = 'http://x.example/a']",
    }
    imp(kz, SYSTEM, bundle(newer))
    assert (INDICATOR, "indicator") not in kz.indicators.lookup(analyst, ["198.51.100.7"])[
        0
    ].objects
    assert (INDICATOR, "indicator") in kz.indicators.lookup(analyst, ["http://x.example/a"])[
        0
    ].objects
    # Revoked, it is no longer found.
    revoked = {**newer, "modified": "2024-04-01T00:00:00.000Z", "revoked": True}
    imp(kz, SYSTEM, bundle(revoked))
    assert kz.indicators.lookup(analyst, ["http://x.example/a"])[0].objects == []


def test_an_indicator_above_the_readers_tlp_is_not_looked_up_by_its_pattern(
    kz: Kizashi, analyst: Actor, admin: Actor
) -> None:
    red = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
    imp(kz, admin, bundle({**indicator(), "object_marking_refs": [red]}))
    assert kz.indicators.lookup(admin, ["198.51.100.7"])[0].objects == [(INDICATOR, "indicator")]
    assert kz.indicators.lookup(analyst, ["198.51.100.7"])[0].objects == []
