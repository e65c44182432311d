"""STIX → Kizashi → STIX is lossless on the public corpora, and what Kizashi exports is
valid STIX 2.1 by the OASIS validator (issue 19).

The corpora are in ``../shared/data`` (OASIS examples, python-stix2's test data, MITRE
ATT&CK for ICS); these tests skip where it is absent and are mandatory in CI.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from stix2validator import ValidationOptions, validate_instance

from kizashi.model.actor import SYSTEM
from kizashi.services import Kizashi
from kizashi.services.exchange import Selection
from support import shared_data

EXAMPLES = ("stix", "examples", "examples")


def _bundles() -> list[str]:
    from support import SHARED

    root = SHARED / "data" / "stix" / "examples" / "examples"
    found = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.json"))
    return found or ["(no examples beside this checkout)"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Kizashi]:
    app = Kizashi.open(f"sqlite:///{tmp_path / 'k.db'}", warninglists=False)
    yield app
    app.close()


def binary(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def objects_in(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        return list(doc["objects"])
    return doc if isinstance(doc, list) else [doc]


def export_all(kz: Kizashi) -> dict[str, Any]:
    out = io.BytesIO()
    kz.exchange.export(SYSTEM, out, Selection(include_revoked=True), format="stix")
    return json.loads(out.getvalue())


def assert_valid(bundle: dict[str, Any]) -> None:
    result = validate_instance(bundle, ValidationOptions(version="2.1"))
    errors = [str(e) for e in result.errors]
    assert result.is_valid and not errors, errors[:10]


def assert_lossless(original: list[dict[str, Any]], bundle: dict[str, Any]) -> None:
    """Each object comes back as it went in: the same JSON, whatever the key order."""
    back = {o["id"]: o for o in bundle["objects"]}
    differ = [o["id"] for o in original if back.get(o["id"]) != o]
    assert not differ, (
        f"{len(differ)} of {len(original)} objects changed, e.g. {differ[0]}: "
        f"{json.dumps(original[[o['id'] for o in original].index(differ[0])])[:400]} -> "
        f"{json.dumps(back.get(differ[0]))[:400]}"
    )


@pytest.mark.parametrize("name", _bundles())
def test_every_oasis_example_round_trips_and_validates(store: Kizashi, name: str) -> None:
    path = shared_data(*EXAMPLES) / name
    original = objects_in(path)
    report = store.exchange.import_(SYSTEM, binary(path), format="stix")
    assert report.counts["invalid"] == 0, report.problems
    assert report.counts["new"] == len({o["id"] for o in original})
    bundle = export_all(store)
    assert_lossless(original, bundle)
    assert_valid(bundle)
    again = store.exchange.import_(SYSTEM, binary(path), format="stix")
    assert again.counts["unchanged"] == len(original)


def test_python_stix2_test_data_keeps_every_version(store: Kizashi) -> None:
    """python-stix2's file store: an object per file, several versions of some, read in
    an order that puts older versions after newer ones."""
    root = shared_data("stix", "python-stix2-testdata", "stix2_data")
    files = sorted(root.rglob("*.json"), key=lambda p: p.name, reverse=True)
    newest: dict[str, dict[str, Any]] = {}
    versions: dict[str, int] = {}
    upgraded: list[str] = []
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        (obj,) = doc["objects"] if doc.get("type") == "bundle" else [doc]
        if doc.get("spec_version") == "2.0":  # one file in the data: read as STIX 2.1
            assert "spec_version" not in obj
            obj = {"is_family": True, **obj, "spec_version": "2.1"}
            upgraded.append(obj["id"])
        versions[obj["id"]] = versions.get(obj["id"], 0) + 1
        key = obj.get("modified") or ""
        if obj["id"] not in newest or key > (newest[obj["id"]].get("modified") or ""):
            newest[obj["id"]] = obj
        report = store.exchange.import_(SYSTEM, binary(f), format="stix")
        assert report.counts["invalid"] == 0, (f, report.problems)
    bundle = export_all(store)
    assert_lossless(list(newest.values()), bundle)
    assert_valid(bundle)
    assert upgraded, "the test data should hold a STIX 2.0 bundle"
    several = [i for i, n in versions.items() if n > 1]
    assert several, "the test data should hold objects in several versions"
    for stix_id in several:
        history = store.objects.history(SYSTEM, stix_id)
        assert history[0].stix == newest[stix_id]
        # The versions read after a newer one are older: they never overwrote it.
        assert len(history) <= versions[stix_id]


def test_attack_ics_round_trips(store: Kizashi) -> None:
    path = shared_data("attack", "ics-attack-17.1.json")
    original = objects_in(path)
    report = store.exchange.import_(SYSTEM, binary(path), format="stix")
    assert report.counts["new"] == len(original) == 1651
    assert report.by_type["x-mitre-tactic"]["new"] > 0  # custom objects are kept
    assert_lossless(original, export_all(store))


@pytest.mark.slow
def test_attack_ics_export_validates(store: Kizashi) -> None:
    path = shared_data("attack", "ics-attack-17.1.json")
    store.exchange.import_(SYSTEM, binary(path), format="stix")
    assert_valid(export_all(store))


def test_a_tagged_selection_with_depth_validates(store: Kizashi) -> None:
    path = shared_data(*EXAMPLES, "threat-reports", "poisonivy.json")
    store.exchange.import_(SYSTEM, binary(path), format="stix")
    malware = next(o for o in objects_in(path) if o["type"] == "malware")
    store.tags.tag(SYSTEM, malware["id"], ["family:poison-ivy", "tlp:green"])
    out = io.BytesIO()
    n = store.exchange.export(
        SYSTEM, out, Selection(tags="family:poison-ivy", depth=1), format="stix"
    )
    bundle = json.loads(out.getvalue())
    ids = {o["id"] for o in bundle["objects"]}
    assert n == len(bundle["objects"]) and malware["id"] in ids
    related = [o for o in bundle["objects"] if o["type"] == "relationship"]
    assert related and all(malware["id"] in (r["source_ref"], r["target_ref"]) for r in related)
    mine = next(o for o in bundle["objects"] if o["id"] == malware["id"])
    assert "family:poison-ivy" in mine["labels"]
    green = [o for o in bundle["objects"] if o["type"] == "marking-definition"]
    assert {m["id"] for m in green} >= set(mine["object_marking_refs"])
    assert_valid(bundle)
