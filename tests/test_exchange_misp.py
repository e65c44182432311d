"""MISP events and galaxies (issue 19): read into STIX 2.1 as misp-stix maps them, with
Kizashi's departures (kizashi/formats/misp/reading.py), written back as MISP events, and
the PyMISP test events and the MISP galaxies from ../shared/data."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pymisp
import pytest

from kizashi import formats
from kizashi.formats import FormatError, Limits, Rejected
from kizashi.formats.misp import GALAXY_FORMAT, galaxy, reading, writing
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import SYSTEM
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.services.exchange import ImportReport, Selection
from support import opener, shared_data, store_counts

FIXTURES = Path(__file__).parent / "fixtures" / "misp"
EVENT = "6d3b0f3e-1a8e-4f55-9d8a-2f0f3c1e7a01"
ORG = "identity--0c8e3a4c-5f6e-4c1a-9d2b-7a8b9c0d1e2f"
IP_ATTR = "a1b2c3d4-0001-4000-8000-000000000001"
DOMAIN_ATTR = "a1b2c3d4-0002-4000-8000-000000000002"
HASH_ATTR = "a1b2c3d4-0005-4000-8000-000000000005"
FILE_OBJ = "b1b2c3d4-0001-4000-8000-000000000001"
APT10 = "threat-actor--56b37b05-72e7-4a89-ba8a-61ce45269a8c"
APT10_TAG = 'misp-galaxy:threat-actor="APT10"'
AMBER_1 = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def pymisp_file(name: str) -> Path:
    return shared_data("misp", "pymisp-events", "mispevent_testfiles", name)


def event_in(data: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(data)
    return document.get("Event", document)  # type: ignore[no-any-return]


def read(data: bytes, limits: Limits | None = None) -> list[Any]:
    return list(reading.read(io.BytesIO(data), limits or Limits()))


def stix_of(data: bytes) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in read(data) if isinstance(o, dict)}


def rejected(out: list[Any]) -> list[Rejected]:
    return [o for o in out if isinstance(o, Rejected)]


def types(out: list[Any]) -> Counter[str]:
    return Counter(o["type"] for o in out if isinstance(o, dict))


def imp(kz: Kizashi, data: bytes, **kw: Any) -> ImportReport:
    return kz.exchange.import_(SYSTEM, opener(data), **kw)


def write(objects: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    writing.write(objects, out)
    return out.getvalue()


def loaded(document: bytes) -> list[pymisp.MISPEvent]:
    """Each event of a written document, as pymisp loads it."""
    events = []
    for item in json.loads(document)["response"]:
        event = pymisp.MISPEvent()
        event.load(item)
        events.append(event)
    return events


# -- the formats ------------------------------------------------------------------------------


def test_both_formats_are_registered_as_plugins() -> None:
    found = formats.available()
    assert found["misp"].can_read and found["misp"].can_write
    assert found["misp-galaxy"].can_read and not found["misp-galaxy"].can_write
    assert found["misp-galaxy"] is GALAXY_FORMAT
    assert "misp" not in formats.registry.broken()


@pytest.mark.parametrize(
    ("head", "misp", "galaxy_file"),
    [
        (b'{"Event": {"info": "x"}}', True, False),
        (b'[{"Event": {"uuid": "u"}}]', True, False),
        (b'\xef\xbb\xbf  {"info": "x", "threat_level_id": "1"}', True, False),
        (b'{"Attribute": [], "analysis": "1", "info": "This is a test"}', True, False),
        (b'{"response": [{"id": "6719", "info": "Test"}]}', True, False),
        # Attributes first, the event's own fields (``info``) past the first 4 KB.
        (
            b'{"Attribute": ['
            + b",".join(
                b'{"category": "Network activity", "to_ids": true, "type": "ip-dst", '
                b'"value": "192.0.2.%d"}' % i
                for i in range(60)
            )[:4000],
            True,
            False,
        ),
        (b'{"Attribute": [{"name": "x"}], "values": []}', False, False),
        (b'{"type": "bundle", "id": "bundle--1", "objects": [{"type": "report"}]}', False, False),
        (b'{"type":"bundle","objects":[{"name":"Event"}]}', False, False),
        (b'{"authors": ["x"], "type": "tool", "uuid": "u", "values": [', False, True),
        (b"type,value\n", False, False),
    ],
)
def test_sniff_knows_misp_events_and_galaxies_and_not_stix(
    head: bytes, misp: bool, galaxy_file: bool
) -> None:
    assert reading.sniff(head) is misp
    assert galaxy.sniff(head) is galaxy_file


def test_an_event_is_recognised_without_naming_the_format(kz: Kizashi) -> None:
    report = imp(kz, fixture("event_full.json"))
    assert report.format == "misp" and report.counts["new"] > 0


# -- reading: what misp-stix makes, and what Kizashi adds ------------------------------------


def test_a_full_event_reads_as_misp_stix_maps_it() -> None:
    event = json.loads(fixture("event_full.json"))["Event"]
    out = read(fixture("event_full.json"))
    assert not rejected(out)
    got = {o["id"]: o for o in out if isinstance(o, dict)}
    to_ids = [a for a in event["Attribute"] if a["to_ids"]]
    # Published: a report. Every attribute is observed data; to_ids ones are indicators
    # too, based on it; an object with a to_ids attribute likewise.
    report = got[f"report--{EVENT}"]
    assert report["name"] == event["info"]
    assert types(out)["indicator"] == len(to_ids) + len(event["Object"])
    assert types(out)["observed-data"] == len(event["Attribute"]) + len(event["Object"])
    for a in event["Attribute"]:
        assert f"observed-data--{a['uuid']}" in got
        assert (f"indicator--{a['uuid']}" in got) is a["to_ids"]
    assert got[f"indicator--{IP_ATTR}"]["description"] == "C2 server"  # the comment
    assert "198.51.100.7" in got[f"indicator--{IP_ATTR}"]["pattern"]
    assert 'misp:type="ip-dst"' in got[f"indicator--{IP_ATTR}"]["labels"]
    # Tags: the event's on the report, an attribute's on its objects.
    assert {"PAP:RED", 'osint:source-type="blog-post"', "フィッシング"} <= set(report["labels"])
    assert "kill-chain:Command and Control" in got[f"indicator--{IP_ATTR}"]["labels"]
    # The object, and its reference as a relationship.
    pattern = got[f"indicator--{FILE_OBJ}"]["pattern"]
    assert "invoice.exe" in pattern and "d41d8cd98f00b204e9800998ecf8427e" in pattern
    refs = [o for o in out if isinstance(o, dict) and o["type"] == "relationship"]
    assert any(
        r["relationship_type"] == "communicates-with"
        and r["source_ref"] == f"observed-data--{FILE_OBJ}"
        for r in refs
    )
    # The sighting, the event report (a note, as misp-stix 2.1 has it), the galaxy.
    sighting = got["sighting--5e1a0000-0000-4000-8000-000000000001"]
    assert sighting["sighting_of_ref"] == f"indicator--{IP_ATTR}"
    assert sighting["where_sighted_refs"] == [ORG]
    note = got["note--e1b2c3d4-0001-4000-8000-000000000001"]
    assert note["abstract"] == "Summary" and f"indicator--{IP_ATTR}" in note["object_refs"]
    actor = got[APT10]
    assert actor["aliases"] == ["STONE PANDA", "Menupass Team"] and APT10_TAG in actor["labels"]
    assert APT10 in report["object_refs"]
    assert got[ORG]["name"] == "ACME CERT"


def test_tlp_tags_become_the_standard_markings_on_everything_the_event_holds() -> None:
    out = read(fixture("event_full.json"))
    got = {o["id"]: o for o in out if isinstance(o, dict)}
    assert got[AMBER_1]["definition"] == {"tlp": "amber"}  # the published TLP definition
    held = [o for o in got.values() if o["type"] not in ("marking-definition", "identity")]
    for obj in held:
        if obj["id"] == APT10:
            continue  # a galaxy's own cluster: any event may name it
        assert obj.get("object_marking_refs") == [AMBER_1], obj["id"]
    assert "object_marking_refs" not in got[APT10]
    assert "object_marking_refs" not in got[ORG]


def test_a_tlp_tag_in_any_case_sets_the_tlp_kizashi_keeps(kz: Kizashi) -> None:
    event = json.loads(fixture("event_full.json"))
    event["Event"]["Tag"] = [{"name": "TLP:RED"}]
    report = imp(kz, json.dumps(event).encode(), format="misp")
    assert report.counts["new"] > 0, report.problems
    assert kz.objects.get(SYSTEM, f"indicator--{IP_ATTR}").tlp == "red"
    assert kz.objects.get(SYSTEM, f"report--{EVENT}").tlp == "red"
    assert kz.objects.get(SYSTEM, f"observed-data--{DOMAIN_ATTR}").tlp == "red"
    assert kz.objects.get(SYSTEM, ORG).tlp is None


def test_importing_the_same_events_twice_changes_nothing(kz: Kizashi) -> None:
    for data in (fixture("event_full.json"), pymisp_file("existing_event.json").read_bytes()):
        first = imp(kz, data, format="misp")
        assert first.counts["new"] > 0 and not first.problems, first.problems
        before = store_counts(kz)
        again = imp(kz, data, format="misp")
        assert again.counts["new"] == again.counts["updated"] == 0
        assert again.counts["unchanged"] == first.counts["new"]
        assert store_counts(kz) == before


def test_events_without_uuids_or_times_read_the_same_every_time() -> None:
    for name in ("attribute.json", "event_obj_attr_tag.json", "misp_custom_obj.json"):
        data = pymisp_file(name).read_bytes()
        assert read(data) == read(data)
    # An event without a timestamp is dated from its date, not from the clock.
    report = next(
        o for o in read(pymisp_file("attribute.json").read_bytes()) if isinstance(o, dict)
    )
    assert report["created"] == report["modified"] == "2017-12-31T00:00:00.000Z"


def test_what_misp_stix_would_drop_is_kept() -> None:
    # An object of a template misp-stix does not know (uuid "a"): a custom object.
    got = stix_of(pymisp_file("misp_custom_obj.json").read_bytes())
    custom = [o for o in got.values() if o["type"] == "x-misp-object"]
    assert len(custom) == 1
    assert custom[0]["x_misp_name"] == "test_object_template"
    assert {a["value"] for a in custom[0]["x_misp_attributes"]} == {"foo", "bar"}
    grouping = next(o for o in got.values() if o["type"] == "grouping")
    assert custom[0]["id"] in grouping["object_refs"]
    # An event without info (pymisp refuses it): named after its uuid; the reference
    # between its objects "a" and "b" follows the uuids they were given.
    got = stix_of(pymisp_file("event_obj_attr_tag.json").read_bytes())
    grouping = next(o for o in got.values() if o["type"] == "grouping")
    assert re.fullmatch(r"MISP event [0-9a-f-]{36}", grouping["name"])
    assert grouping["name"].endswith(grouping["id"].split("--")[1])
    baz = [o for o in got.values() if o.get("relationship_type") == "baz"]
    assert len(baz) == 1 and {baz[0]["source_ref"], baz[0]["target_ref"]} <= set(got)
    # Older MISP gave every cluster its galaxy's uuid: each cluster is kept.
    event = event_in(pymisp_file("existing_event.json").read_bytes())
    got = stix_of(pymisp_file("existing_event.json").read_bytes())
    names = {o["name"] for o in got.values() if o["type"] in ("tool", "malware", "threat-actor")}
    clusters = {c["value"] for g in event["Galaxy"] for c in g["GalaxyCluster"]}
    assert names == clusters


def test_deleted_records_are_imported_revoked() -> None:
    got = stix_of(pymisp_file("attribute_del.json").read_bytes())
    indicator = next(o for o in got.values() if o["type"] == "indicator")
    assert indicator["revoked"] is True
    assert not next(o for o in got.values() if o["type"] == "grouping").get("revoked")


# -- the PyMISP test events -------------------------------------------------------------------

#: What each file of PyMISP's tests/mispevent_testfiles is, and what Kizashi does with it.
PYMISP_FILES: dict[str, tuple[str, str]] = {
    "attribute.json": ("event", "grouping"),
    "attribute_del.json": ("event", "grouping"),
    "def_param.json": ("event", "x-misp-object"),  # whois: not mapped by misp-stix
    # "published" with no publish_timestamp: misp-stix makes a grouping (and a note: empty)
    "event.json": ("event", "note"),
    "event_obj_attr_tag.json": ("event", "grouping"),
    "event_obj_def_param.json": ("event", "grouping"),
    "event_obj_tag.json": ("event", "grouping"),
    "event_tags.json": ("event", "grouping"),
    "existing_event.json": ("event", "grouping"),
    "existing_event_edited.json": ("event", "grouping"),
    "galaxy.json": ("galaxy", "x-misp-galaxy-cluster"),  # a galaxy misp-stix does not know
    "malware.json": ("event", "grouping"),
    "malware_exist.json": ("event", "grouping"),  # a REST answer of bare events
    "misp_custom_obj.json": ("event", "x-misp-object"),
    "proposals.json": ("event", "grouping"),
    "shadow.json": ("event", "grouping"),
    "sighting.json": ("refused", "a single record with a type and a value but no event"),
    "simple.json": ("refused", "an empty JSON object, not a MISP event"),
}


def test_every_pymisp_test_file_is_listed() -> None:
    folder = shared_data("misp", "pymisp-events", "mispevent_testfiles")
    assert {p.name for p in folder.glob("*.json")} == set(PYMISP_FILES)


@pytest.mark.parametrize("name", sorted(PYMISP_FILES))
def test_every_pymisp_test_file_loads_or_is_refused_clearly(name: str) -> None:
    kind, said = PYMISP_FILES[name]
    data = pymisp_file(name).read_bytes()
    if kind == "refused":
        with pytest.raises(FormatError, match=re.escape(said)):
            read(data)
        return
    out = read(data)
    assert types(out)[said] >= 1
    proposals = [r for r in rejected(out) if "proposal" in r.why]
    assert len(rejected(out)) == len(proposals)  # nothing else is refused
    assert read(data) == out


def test_a_galaxy_in_the_misp_format_loads_its_clusters(kz: Kizashi) -> None:
    report = imp(kz, pymisp_file("galaxy.json").read_bytes(), format="misp")
    assert report.counts["new"] == 1 and not report.problems
    cluster = kz.objects.get(SYSTEM, "x-misp-galaxy-cluster--24430dc6-9c27-4b3c-a5e7-6dda478fffa0")
    assert cluster.stix["x_misp_value"] == "Milk in tea"
    assert 'misp-galaxy:tea-matrix="Milk in tea"' in cluster.tags


def test_proposals_are_reported_not_imported() -> None:
    out = read(pymisp_file("proposals.json").read_bytes())
    whys = sorted(r.why for r in rejected(out))
    assert len(whys) == 2
    assert all("is not part of the event until it is accepted in MISP" in w for w in whys)
    assert any('"baz.jpg"' in w for w in whys) and any('"bar.pdf"' in w for w in whys)
    assert not any("bar.pdf" in json.dumps(o) for o in out if isinstance(o, dict))


#: misp-stix's STIX for each MISP attribute type and object template these events use.
_ATTRIBUTE_SCOS = {
    "domain": ("domain-name",),
    "filename": ("file",),
    "sha1": ("file",),
    "link": ("url",),
    "malware-sample": ("file", "artifact"),
}
_CUSTOM_ATTRIBUTES = {"text"}
_OBJECT_SCOS = {"file": ("file",), "domain-ip": ("domain-name", "ipv4-addr")}
_GALAXY_TYPES = {
    "threat-actor": "threat-actor",
    "tool": "tool",
    "exploit-kit": "tool",
    "mitre-malware": "malware",
}


def expected_types(event: dict[str, Any]) -> Counter[str]:
    """What an event's content makes, counted from the event itself."""
    want: Counter[str] = Counter()
    want["report" if event.get("published") else "grouping"] += 1
    want["identity"] += 1 if event.get("Orgc") else 0
    want["marking-definition"] += len(
        {t["name"] for t in event.get("Tag", []) if t["name"].startswith("tlp:")}
    )
    for attribute in event.get("Attribute", []):
        if attribute["type"] in _CUSTOM_ATTRIBUTES:
            want["x-misp-attribute"] += 1
            continue
        want["observed-data"] += 1
        want.update(_ATTRIBUTE_SCOS[attribute["type"]])
        if attribute["to_ids"]:
            want.update(["indicator", "relationship"])  # and its based-on
    for obj in event.get("Object", []):
        want["observed-data"] += 1
        want.update(_OBJECT_SCOS[obj["name"]])
        samples = [a for a in obj["Attribute"] if a["type"] == "malware-sample" and a.get("data")]
        want["artifact"] += 1 if samples else 0
        if any(a["to_ids"] for a in obj["Attribute"]):
            want.update(["indicator", "relationship"])
        want["relationship"] += len(obj.get("ObjectReference", []))
    for g in event.get("Galaxy", []):
        want[_GALAXY_TYPES[g["type"]]] += len({c["value"] for c in g["GalaxyCluster"]})
    return +want


@pytest.mark.parametrize(
    "name", ["existing_event.json", "malware.json", "shadow.json", "proposals.json"]
)
def test_counts_per_type_follow_the_events_content(name: str) -> None:
    event = event_in(pymisp_file(name).read_bytes())
    out = read(pymisp_file(name).read_bytes())
    assert types(out) == expected_types(event)


def test_a_rest_answer_reads_each_of_its_events() -> None:
    document = json.loads(pymisp_file("malware_exist.json").read_bytes())
    out = read(pymisp_file("malware_exist.json").read_bytes())
    assert types(out) == sum((expected_types(e) for e in document["response"]), Counter())


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "limits", "said"),
    [
        (b"this is not json", None, "not JSON"),
        (fixture("event_full.json")[:700], None, "truncated"),
        (
            b'{"Event": {"info": "x", "Attribute": ' + b"[" * 100 + b"]" * 100 + b"}}",
            None,
            "nested deeper than 64 levels",
        ),
        (
            json.dumps({"Event": {"info": "x" * 5000, "uuid": EVENT}}).encode(),
            Limits(max_string=1000),
            "5,000 characters: at most 1,000",
        ),
        (b"[]", None, "holds no MISP event"),
        (b'{"response": {"Attribute": []}}', None, "holds no list of events"),
    ],
)
def test_an_unreadable_file_is_refused_and_nothing_changes(
    kz: Kizashi, data: bytes, limits: Limits | None, said: str
) -> None:
    imp(kz, fixture("event_full.json"), format="misp")
    before = store_counts(kz)
    with pytest.raises(KizashiError) as info:
        imp(kz, data, format="misp", limits=limits)
    assert info.value.code == "unreadable_input"
    assert said in info.value.message and "Nothing was stored" in info.value.message
    assert store_counts(kz) == before


def test_broken_attributes_are_reported_one_by_one_and_the_rest_imported(kz: Kizashi) -> None:
    imp(kz, fixture("event_full.json"), format="misp")
    stored = kz.objects.get(SYSTEM, f"indicator--{IP_ATTR}").stix
    report = imp(kz, fixture("event_broken.json"), format="misp")
    whys = sorted(p.why for p in report.problems)
    assert whys == [
        "attribute d1000000-0000-4000-8000-000000000002 (ip-dst): value 'not-an-ip' is not "
        "valid: IP address has an invalid format",
        'attribute d1000000-0000-4000-8000-000000000003 (url): value {"a": 1} is not text',
        "attribute d2000000-0000-4000-8000-000000000003 (ip-dst): value '999.1.1.1' is not "
        "valid: IP address has an invalid format (left out of object "
        "d2000000-0000-4000-8000-000000000001, domain-ip)",
    ]
    wheres = {p.where for p in report.problems}
    assert wheres == {"Event.Attribute[1]", "Event.Attribute[2]", "Event.Object[0]"}
    assert report.counts["invalid"] == 3
    # The object is imported without the attribute MISP would refuse.
    kept = kz.objects.get(SYSTEM, "indicator--d2000000-0000-4000-8000-000000000001").stix
    assert "object-kept.example.com" in kept["pattern"] and "999" not in kept["pattern"]
    for good in ("d1000000-0000-4000-8000-000000000001", "d1000000-0000-4000-8000-000000000004"):
        assert kz.objects.get(SYSTEM, f"indicator--{good}").type == "indicator"
    grouping = kz.objects.get(SYSTEM, "grouping--7e4c1f4f-2b9f-4066-8e9b-3f1f4d2f8b02").stix
    assert not any("d1000000-0000-4000-8000-00000000000" + n in json.dumps(grouping) for n in "23")
    assert kz.objects.get(SYSTEM, f"indicator--{IP_ATTR}").stix == stored


def test_an_event_misp_stix_cannot_convert_is_refused_and_the_others_go_on() -> None:
    good = json.loads(fixture("event_full.json"))
    bad = {"Event": {"uuid": "8f5d2a1b-3c4e-4f60-9a7b-8c9d0e1f2a3b", "info": "x"}}
    bad["Event"]["threat_level_id"] = "not a level"
    other = json.loads(fixture("event_broken.json"))
    out = read(json.dumps([good, bad, other]).encode())
    refused = [r for r in rejected(out) if r.where == "Event"]
    assert len(refused) == 1 and refused[0].index == 1
    assert str(refused[0].why).startswith(
        "event 8f5d2a1b-3c4e-4f60-9a7b-8c9d0e1f2a3b: misp-stix could not convert it: "
        "Error loading Event: invalid literal for int()"
    )
    ids = {o["id"] for o in out if isinstance(o, dict)}
    assert f"report--{EVENT}" in ids and "grouping--7e4c1f4f-2b9f-4066-8e9b-3f1f4d2f8b02" in ids


def test_misp_stix_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    read(fixture("event_broken.json"))
    read(pymisp_file("event_obj_tag.json").read_bytes())
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# -- writing ----------------------------------------------------------------------------------


def attribute_set(events: list[pymisp.MISPEvent]) -> set[tuple[str, str, bool]]:
    out = set()
    for event in events:
        for a in event.attributes:
            out.add((a.type, a.value, bool(a.to_ids)))
        for obj in event.objects:
            for a in obj.attributes:
                out.add((a.type, a.value, bool(a.to_ids)))
    return out


def original_attribute_set(event: dict[str, Any]) -> set[tuple[str, str, bool]]:
    records = [*event.get("Attribute", [])]
    for obj in event.get("Object", []):
        records += obj["Attribute"]
    return {(a["type"], a["value"], bool(a["to_ids"])) for a in records}


def comment_set(events: list[pymisp.MISPEvent]) -> set[tuple[str, str]]:
    """(uuid, comment) of the attributes and objects (misp-stix rebuilds an object's
    attributes from a pattern, with uuids of its own: those are not compared)."""
    out = set()
    for event in events:
        for record in [*event.attributes, *event.objects]:
            if getattr(record, "comment", "") and not record.comment.startswith(_MADE_UP):
                out.add((str(record.uuid), record.comment))
    return out


#: The comments misp-stix writes of its own on what it rebuilds from a pattern.
_MADE_UP = ("Indicator ID: ", "Observed Data ID: ")


def original_comment_set(event: dict[str, Any]) -> set[tuple[str, str]]:
    records = [*event.get("Attribute", []), *event.get("Object", [])]
    return {(r["uuid"], r["comment"]) for r in records if r.get("comment")}


def check_round_trip(event: dict[str, Any], document: bytes) -> None:
    """The attributes' values, types, to_ids and comments, and the event's tags, came
    back."""
    events = loaded(document)
    back = next(e for e in events if e.uuid == event["uuid"])
    assert attribute_set([back]) == original_attribute_set(event)
    assert comment_set([back]) == original_comment_set(event)
    tags = {t["name"] for t in event.get("Tag", [])}
    got = {t.name for t in back.tags}
    galaxies = {c["tag_name"] for g in event.get("Galaxy", []) for c in g["GalaxyCluster"]}
    producer = {f'misp-galaxy:producer="{event["Orgc"]["name"]}"'} if event.get("Orgc") else set()
    assert tags <= got and got - tags <= galaxies | producer


@pytest.mark.parametrize("source", ["event_full.json", "existing_event.json"])
def test_events_round_trip_through_the_format(source: str) -> None:
    path = FIXTURES / source if (FIXTURES / source).exists() else pymisp_file(source)
    event = event_in(path.read_bytes())
    objects = [o for o in read(path.read_bytes()) if isinstance(o, dict)]
    document = write(objects)
    assert write(objects) == document  # the same objects, the same bytes
    check_round_trip(event, document)


def test_events_round_trip_through_kizashi(kz: Kizashi) -> None:
    imp(kz, fixture("event_full.json"), format="misp")
    out = io.BytesIO()
    kz.exchange.export(SYSTEM, out, Selection(), format="misp")
    check_round_trip(json.loads(fixture("event_full.json"))["Event"], out.getvalue())


def test_an_export_is_events_pymisp_loads(kz: Kizashi) -> None:
    imp(kz, fixture("event_full.json"), format="misp")
    imp(kz, pymisp_file("existing_event.json").read_bytes(), format="misp")
    first, second = io.BytesIO(), io.BytesIO()
    kz.exchange.export(SYSTEM, first, Selection(), format="misp")
    kz.exchange.export(SYSTEM, second, Selection(), format="misp")
    assert first.getvalue() == second.getvalue()
    events = {e.uuid: e for e in loaded(first.getvalue())}
    assert {EVENT, "5a3c2fcd-8328-42bb-a95e-4f4402de0b81"} <= set(events)
    assert "tlp:amber" in {t.name for t in events[EVENT].tags}
    assert ("ip-dst", "198.51.100.7", True) in attribute_set([events[EVENT]])


def test_objects_in_no_report_make_one_more_event_and_tlp_becomes_tags(kz: Kizashi) -> None:
    amber = tlp_model.MARKING_IDS["amber"]
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2024-01-02T00:00:00.000Z",
        "modified": "2024-01-02T00:00:00.000Z",
        "name": "C2",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2024-01-02T00:00:00Z",
        "object_marking_refs": [amber],
    }
    loose = {**indicator, "id": "indicator--1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"}
    loose |= {"pattern": "[domain-name:value = 'loose.example.org']", "object_marking_refs": []}
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
        "created": "2024-01-03T00:00:00.000Z",
        "modified": "2024-01-03T00:00:00.000Z",
        "name": "A STIX report",
        "published": "2024-01-03T00:00:00Z",
        "object_refs": [indicator["id"]],
        "object_marking_refs": [amber],
    }
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}
    bundle["objects"] = [tlp_model.marking_definition("amber"), indicator, loose, report]
    assert imp(kz, json.dumps(bundle).encode(), format="stix").counts["new"] == 4
    out = io.BytesIO()
    kz.exchange.export(SYSTEM, out, Selection(), format="misp")
    events = {e.info: e for e in loaded(out.getvalue())}
    assert set(events) == {"A STIX report", writing.LEFTOVER_NAME}
    assert "tlp:amber" in {t.name for t in events["A STIX report"].tags}
    assert ("ip-dst", "198.51.100.7", True) in attribute_set([events["A STIX report"]])
    values = {v for _, v, _ in attribute_set([events[writing.LEFTOVER_NAME]])}
    assert values == {"loose.example.org"}


# -- galaxies ---------------------------------------------------------------------------------


def read_galaxy(data: bytes) -> list[Any]:
    return list(galaxy.read(io.BytesIO(data), Limits()))


def test_the_threat_actor_galaxy_loads_every_cluster(kz: Kizashi) -> None:
    path = shared_data("misp", "galaxy", "clusters", "threat-actor.json")
    clusters = json.loads(path.read_bytes())["values"]
    first = imp(kz, path.read_bytes())  # recognised as a galaxy file
    assert first.format == "misp-galaxy"
    # Each related entry between two clusters of the file, once, as a relationship.
    uuids = {c["uuid"] for c in clusters}
    related = {
        (c["uuid"], r["type"], r["dest-uuid"])
        for c in clusters
        for r in c.get("related", [])
        if r["dest-uuid"] in uuids and r["dest-uuid"] != c["uuid"]
    }
    assert len(related) > 50  # 107 in this release
    assert first.counts["new"] == len(clusters) + len(related) and not first.problems
    assert first.by_type["threat-actor"]["new"] == len(clusters)
    assert first.by_type["relationship"]["new"] == len(related)
    source, kind, dest = sorted(related)[0]
    edges = kz.relationships.neighbours(SYSTEM, f"threat-actor--{source}").edges
    assert any(
        e.relationship_type == kind and e.target_ref == f"threat-actor--{dest}" for e in edges
    )
    apt10 = next(c for c in clusters if c["value"] == "APT10")
    view = kz.objects.get(SYSTEM, f"threat-actor--{apt10['uuid']}")
    assert view.name == "APT10"
    assert {"STONE PANDA", "Menupass Team", "Cloud Hopper"} <= set(view.stix["aliases"])
    assert set(view.stix["aliases"]) == set(apt10["meta"]["synonyms"]) - {"APT10"}
    assert view.stix["description"] == apt10["description"]
    urls = [r["url"] for r in view.stix["external_references"]]
    assert urls == apt10["meta"]["refs"]
    assert APT10_TAG in view.tags
    # The only synonym in CJK script in this release: Gelsemium's.
    written = [c for c in clusters if any(_cjk(s) for s in c["meta"].get("synonyms", []))]
    assert [c["value"] for c in written] == ["Gelsemium"]
    gelsemium = kz.objects.get(SYSTEM, f"threat-actor--{written[0]['uuid']}")
    assert "狼毒草" in gelsemium.stix["aliases"]
    before = store_counts(kz)
    again = imp(kz, path.read_bytes(), format="misp-galaxy")
    assert again.counts["unchanged"] == len(clusters) + len(related)
    assert store_counts(kz) == before


def _cjk(text: str) -> bool:
    return re.search(r"[\u3040-\u30ff\u3400-\u9fff]", text) is not None


def test_galaxy_types_as_misp_stix_has_them() -> None:
    tools = read_galaxy(shared_data("misp", "galaxy", "clusters", "tool.json").read_bytes())
    values = json.loads(shared_data("misp", "galaxy", "clusters", "tool.json").read_bytes())
    assert types(tools)["tool"] == len(values["values"])
    assert set(types(tools)) == {"tool", "relationship"}  # related tools, in the file
    sectors = read_galaxy(shared_data("misp", "galaxy", "clusters", "sector.json").read_bytes())
    agriculture = next(o for o in sectors if o["name"] == "Agriculture")
    assert agriculture["type"] == "identity" and agriculture["identity_class"] == "class"
    assert agriculture["sectors"] == ["agriculture"]
    assert 'misp-galaxy:sector="Agriculture"' in agriculture["labels"]
    ransomware = read_galaxy(fixture("galaxy_ransomware.json"))
    assert ransomware == [
        {
            "type": "malware",
            "spec_version": "2.1",
            "id": "malware--2e8d9c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b",
            "created": "1970-01-01T00:00:12.000Z",  # version 12, as seconds
            "modified": "1970-01-01T00:00:12.000Z",
            "name": "Yoake",
            "description": "A fictional ransomware family.",
            "is_family": True,
            "aliases": ["夜明け", "YoakeLocker"],
            "labels": [
                'misp:galaxy-name="Ransomware"',
                'misp:galaxy-type="ransomware"',
                'misp-galaxy:ransomware="Yoake"',
            ],
            "external_references": [{"source_name": "url", "url": "https://example.org/yoake"}],
        }
    ]


def test_japanese_synonyms_are_aliases_and_a_bad_cluster_is_refused_alone() -> None:
    out = read_galaxy(fixture("galaxy_japanese.json"))
    objects = [o for o in out if isinstance(o, dict)]
    panda = next(o for o in objects if o["name"] == "Kizashi Panda")
    assert panda["aliases"] == ["きざしパンダ", "兆しパンダ", "Omen Panda"]
    assert panda["id"] == "threat-actor--9c1d6a2e-3f4b-4c5d-8e6f-7a8b9c0d1e2f"
    nameless = [o["id"] for o in objects if o["name"] == "Nameless"]  # no uuid: one derived
    again = [
        o["id"]
        for o in read_galaxy(fixture("galaxy_japanese.json"))
        if isinstance(o, dict) and o["name"] == "Nameless"
    ]
    assert nameless == again and len(nameless) == 1
    assert [(r.index, r.why) for r in rejected(out)] == [
        (2, "a cluster without a value (its name)")
    ]


def test_a_galaxy_replaces_an_events_copy_and_its_tag_links_both(kz: Kizashi) -> None:
    imp(kz, fixture("event_full.json"), format="misp")
    copy = kz.objects.get(SYSTEM, APT10)
    assert copy.stix["aliases"] == ["STONE PANDA", "Menupass Team"]  # the event's version 300
    path = shared_data("misp", "galaxy", "clusters", "threat-actor.json")
    report = imp(kz, path.read_bytes(), format="misp-galaxy")
    assert report.by_type["threat-actor"]["updated"] == 1  # release 349 is newer
    library = kz.objects.get(SYSTEM, APT10)
    assert len(library.stix["aliases"]) > 2 and library.modified != copy.modified
    # The attribute tagged with the cluster and the cluster carry the same tag.
    assert APT10_TAG in library.tags
    assert APT10_TAG in kz.objects.get(SYSTEM, f"indicator--{HASH_ATTR}").tags
