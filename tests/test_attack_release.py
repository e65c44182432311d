"""MITRE ATT&CK releases (issue 19): a release loads through the importer, loads again
without change, and upgrades in place (renames, revocations with ``revoked-by``,
deprecations, new techniques) keeping what analysts attached; reports link to
techniques, groups and software by id and by name or alias, in English and Japanese.

The release is ATT&CK for ICS 17.1 from ``../shared/data/attack`` (skipped where absent);
the upgrade is a copy of it that the test changes. Name rules are tested on small objects.
"""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.observables import deterministic_id
from kizashi.services import Kizashi
from kizashi.services.exchange.attack import CARRIED_FROM
from kizashi.services.names import deprecated
from kizashi.text.names import Gazetteer, Name, fold_map, usable
from support import shared_data
from test_web import login

LATER = "2030-01-01T00:00:00.000Z"


def _ics() -> Path:
    return shared_data("attack", "ics-attack-17.1.json")


def _objects(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text("utf-8"))["objects"])


def _attack_id(obj: dict[str, Any]) -> str:
    return str(obj["external_references"][0]["external_id"])


def _report(kz: Kizashi, actor: Actor, text: str) -> str:
    view, _ = kz.objects.create(
        actor, {"type": "report", "name": "r", "description": text, "published": LATER}
    )
    return view.id


def _refs(kz: Kizashi, actor: Actor, report_id: str) -> list[str]:
    return list(kz.objects.get(actor, report_id).stix["object_refs"])


# -- the rule of names, without a store ------------------------------------------------
GAZETTEER = Gazetteer(
    [
        Name("menuPass", "is--menupass"),
        Name("APT10", "is--menupass"),
        Name("ストーンパンダ", "is--menupass"),
        Name("Ke3chang", "is--ke3chang"),
        Name("APT", "is--generic"),
        Name("Lazarus", "is--lazarus"),
        Name("Lazarus Group", "is--lazarus"),
        Name("Cobalt", "is--cobalt"),
        Name("Cobalt Strike", "tool--cobalt-strike"),
        Name("Silence", "is--silence"),
        Name("route", "tool--route"),
        Name("Net", "tool--net"),
        Name("Audit", "coa--audit", proper=False),
        Name("Network Segmentation", "coa--segmentation", proper=False),
        Name("海莲花", "is--oceanlotus"),
        Name("マルウェア", "malware--generic"),
    ]
)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("APT10による攻撃", [("APT10", "is--menupass")]),
        (
            "「APT10」による攻撃とmenuPassの関与",
            [("APT10", "is--menupass"), ("menuPass", "is--menupass")],
        ),
        (
            "ＡＰＴ１０とＭＥＮＵＰＡＳＳ",
            [("ＡＰＴ１０", "is--menupass"), ("ＭＥＮＵＰＡＳＳ", "is--menupass")],
        ),
        ("ｽﾄｰﾝﾊﾟﾝﾀﾞの活動", [("ｽﾄｰﾝﾊﾟﾝﾀﾞ", "is--menupass")]),
        ("攻撃者はストーンパンダと見られる", [("ストーンパンダ", "is--menupass")]),
        ("Ke3chang's loader and (Ke3chang)", [("Ke3chang", "is--ke3chang")] * 2),
        ("海莲花组织的攻击", [("海莲花", "is--oceanlotus")]),
        (
            "the Lazarus Group used Cobalt Strike",
            [("Lazarus Group", "is--lazarus"), ("Cobalt Strike", "tool--cobalt-strike")],
        ),
        ("Silence and Cobalt", [("Silence", "is--silence"), ("Cobalt", "is--cobalt")]),
        ("we apply network segmentation", [("network segmentation", "coa--segmentation")]),
        # Word ends, short and generic names, English words in lower case.
        ("APT100, XAPT10, apt10x, menuPassword, Ke3changs", []),
        ("an APT used a RAT over the Net; マルウェアを配布", []),
        ("silence, cobalt and the route table", []),
        ("Audit logs were cleared", []),
    ],
)
def test_the_gazetteer_finds_names_by_its_rule(text: str, found: list[tuple[str, str]]) -> None:
    got = [(text[f.start : f.end], f.targets[0]) for f in GAZETTEER.find(text)]
    assert got == found


def test_offsets_survive_folding_that_changes_length() -> None:
    text = "㈱ｶﾞ ﬁ APT10 だ"
    folded, origin = fold_map(text)
    assert folded == "(株)ガ fi apt10 だ" and origin is not None
    (hit,) = GAZETTEER.find(text)
    assert text[hit.start : hit.end] == "APT10"


def test_which_names_are_used() -> None:
    assert usable("Ke3chang") == ("ke3chang", None)
    assert usable("ZINC") == ("zinc", "ZINC")  # an English word: as written only
    assert usable("Dragonfly", proper=False) is None
    assert usable("ping") is None and usable("at") is None and usable("APT") is None
    assert usable("狼") is None and usable("狼毒草") == ("狼毒草", None)
    assert usable("2015") is None and usable("グループ") is None
    assert usable("August") is None  # a month before it is a group


# -- names of stored objects, on both stores -------------------------------------------
def _group(**extra: Any) -> dict[str, Any]:
    return {
        "type": "intrusion-set",
        "name": "menuPass",
        "aliases": ["menuPass", "APT10", "Stone Panda", "ストーンパンダ"],
        **extra,
    }


def test_a_report_links_what_it_names(kz: Kizashi, analyst: Actor) -> None:
    group, _ = kz.objects.create(analyst, _group())
    tool, _ = kz.objects.create(
        analyst, {"type": "tool", "name": "QuasarRAT", "x_mitre_aliases": ["xRAT"]}
    )
    rid = _report(kz, analyst, "今回の攻撃はＡＰＴ１０によるもので、QuasarRATが使われた。")
    assert {group.id, tool.id} <= set(_refs(kz, analyst, rid))
    mentions = {(m.kind, m.value): m for m in kz.indicators.in_report(analyst, rid)}
    mention = mentions["name", "APT10"]
    assert mention.object_id == group.id
    assert mention.context[mention.context_start : mention.context_end] == "ＡＰＴ１０"
    # Known by its name now: a lookup says where it was seen.
    assert kz.indicators.lookup(analyst, ["APT10"])[0].reports == 1
    # A name inside an indicator, or inside a longer word, names nothing.
    other = _report(kz, analyst, "Beacons to apt10-update.net; APT100 and XAPT10 are others.")
    assert group.id not in _refs(kz, analyst, other)


def test_revoked_and_deprecated_objects_are_not_linked_by_name(kz: Kizashi, analyst: Actor) -> None:
    gone, _ = kz.objects.create(analyst, _group())
    old, _ = kz.objects.create(
        analyst, {"type": "malware", "name": "OldLoader", "is_family": True,
                  "x_mitre_deprecated": True}
    )  # fmt: skip
    kz.objects.revoke(analyst, gone.id)
    rid = _report(kz, analyst, "menuPass delivered OldLoader.")
    assert not {gone.id, old.id} & set(_refs(kz, analyst, rid))


def test_imported_names_link_the_next_reports(kz: Kizashi, analyst: Actor) -> None:
    """MISP galaxy clusters arrive as intrusion-sets with aliases: the gazetteer hears."""
    first = _report(kz, analyst, "ラザルスの活動")  # nothing to link yet
    group_id = f"intrusion-set--{uuid.uuid4()}"
    bundle = {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [
            {
                "type": "intrusion-set",
                "spec_version": "2.1",
                "id": group_id,
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "name": "Lazarus Group",
                "aliases": ["Lazarus", "ラザルス", "Hidden Cobra", "APT"],
            }
        ],
    }
    data = json.dumps(bundle).encode()
    report = kz.exchange.import_(analyst, lambda: io.BytesIO(data), format="stix")
    assert report.counts["new"] == 1
    assert group_id not in _refs(kz, analyst, first)
    later = _report(kz, analyst, "ラザルスとHIDDEN COBRAの活動。APT全般の話も。")
    assert group_id in _refs(kz, analyst, later)
    values = {m.value for m in kz.indicators.in_report(analyst, later) if m.kind == "name"}
    assert values == {"ラザルス", "Hidden Cobra"}


# -- an ATT&CK release ------------------------------------------------------------------
def test_a_release_loads_marked_and_loads_again_unchanged(kz: Kizashi, admin: Actor) -> None:
    path = _ics()
    original = _objects(path)
    early = _report(kz, admin, "G0057 and T0801 were seen.")  # stubs, until the load
    release = kz.attack.load(SYSTEM, path)
    counts = Counter(o["type"] for o in original)
    assert release.by_type == dict(counts)
    assert {t: c["new"] for t, c in release.report.by_type.items()} == dict(counts)
    assert release.name and release.version == "17.1"
    revoked = [o["id"] for o in original if o.get("revoked")]
    views = kz.objects.get_many(admin, [o["id"] for o in original])
    assert len(views) == len(original)
    assert len(revoked) == release.revoked == release.replaced == 2
    assert all(views[i].revoked and views[i].stix["revoked"] for i in revoked)
    flagged = [i for i, v in views.items() if deprecated(v.stix)]
    assert len(flagged) == release.deprecated == 20
    assert not any(views[i].revoked for i in flagged)  # deprecated is not deleted
    assert {i for i, v in views.items() if v.deprecated} == set(flagged)
    assert all(views[i].as_dict()["deprecated"] for i in flagged)
    oilrig = kz.attack.replacement(admin, next(i for i in revoked if views[i].name == "APT34"))
    assert oilrig is not None and oilrig.name == "OilRig"
    # G0057 is APT34's id: its stub gave way to APT34, and APT34 to OilRig.
    assert oilrig.id in _refs(kz, admin, early)
    by_value = {m.value: m.object_id for m in kz.indicators.in_report(admin, early)}
    assert by_value["G0057"] == oilrig.id

    # By name: a revoked group's name leads to its replacement, a deprecated copy of
    # Stuxnet is passed over for the current one.
    dragonfly = next(v for v in views.values() if v.name == "Dragonfly" and not v.revoked)
    stuxnet = [v for v in views.values() if v.name == "Stuxnet" and v.type == "malware"]
    rid = _report(kz, admin, "Dragonfly 2.0による攻撃でStuxnetが再び使われた。")
    refs = _refs(kz, admin, rid)
    assert dragonfly.id in refs and not set(revoked) & set(refs)
    assert [v.id for v in stuxnet if v.id in refs] == [
        v.id for v in stuxnet if not deprecated(v.stix)
    ]

    again = kz.attack.load(SYSTEM, path)
    assert again.report.counts["unchanged"] == len(original)
    assert sum(again.report.counts.values()) == len(original)


def _upgrade(original: list[dict[str, Any]], tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A newer release: technique A renamed, X revoked by a new technique N, D deprecated."""
    live = sorted(
        (o for o in original if o["type"] == "attack-pattern" and not deprecated(o)),
        key=_attack_id,
    )
    a, x, d = [o for o in live if " " in o["name"]][:3]
    changed = {
        a["id"]: {**a, "name": "Renamed Technique Alpha", "modified": LATER},
        x["id"]: {**x, "revoked": True, "modified": LATER},
        d["id"]: {**d, "x_mitre_deprecated": True, "modified": LATER},
    }
    n = {
        **x,
        "id": f"attack-pattern--{uuid.uuid4()}",
        "name": "Brand New Technique Nu",
        "created": LATER,
        "modified": LATER,
        "external_references": [{"source_name": "mitre-attack", "external_id": "T0899"}],
    }
    revoked_by = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": f"relationship--{uuid.uuid4()}",
        "created": LATER,
        "modified": LATER,
        "relationship_type": "revoked-by",
        "source_ref": x["id"],
        "target_ref": n["id"],
        "created_by_ref": x["created_by_ref"],
    }
    # The relationship first and its target last: they are in different batches.
    objects = [revoked_by, *(changed.get(o["id"], o) for o in original), n]
    path = tmp_path / "ics-attack-next.json"
    path.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                "objects": objects}))  # fmt: skip
    return path, {"a": a, "x": x, "d": d, "n": n}


def test_an_upgrade_in_place_keeps_what_analysts_attached(
    kz: Kizashi, analyst: Actor, admin: Actor, tmp_path: Path
) -> None:
    original = _objects(_ics())
    kz.attack.load(SYSTEM, _ics())
    path, t = _upgrade(original, tmp_path)
    a, x, d, n = t["a"], t["x"], t["d"], t["n"]
    some_malware = next(o for o in original if o["type"] == "malware")

    # What an analyst attached to X before the upgrade.
    kz.tags.tag(analyst, x["id"], ["priority:high", "tlp:green"])
    note, _ = kz.objects.create(
        analyst, {"type": "note", "content": "seen at a plant", "object_refs": [x["id"]]}
    )
    mine, _ = kz.objects.create(
        analyst,
        {"type": "relationship", "relationship_type": "related-to",
         "source_ref": some_malware["id"], "target_ref": x["id"]},
    )  # fmt: skip
    text = f"{_attack_id(x)} ({x['name']}) and {d['name']} were seen; then {a['name']}."
    rid = _report(kz, analyst, text)
    ja = _report(kz, analyst, f"{x['name']}による攻撃")
    assert x["id"] in _refs(kz, analyst, rid) and d["id"] in _refs(kz, analyst, rid)
    assert x["id"] in _refs(kz, analyst, ja)

    release = kz.attack.load(SYSTEM, path)
    assert release.report.counts["new"] == 2  # N and its revoked-by
    assert release.report.counts["updated"] == 3
    assert release.revoked == 3 and release.replaced == 3

    assert kz.objects.get(analyst, a["id"]).name == "Renamed Technique Alpha"
    assert kz.objects.get(analyst, n["id"]).name == "Brand New Technique Nu"
    old = kz.objects.get(admin, x["id"])
    assert old.revoked and old.stix["revoked"] is True
    assert "priority:high" in old.tags  # the old object keeps its tags
    assert deprecated(kz.objects.get(analyst, d["id"]).stix)
    replacement = kz.attack.replacement(analyst, x["id"])
    assert replacement is not None and replacement.id == n["id"]
    assert "priority:high" in replacement.tags and "tlp:green" not in replacement.tags

    # The note refers to both; the relationship is made again with N.
    assert kz.objects.get(analyst, note.id).stix["object_refs"] == [x["id"], n["id"]]
    copy = kz.objects.get(analyst, deterministic_id("relationship", f"{mine.id}>{n['id']}"))
    assert copy.stix[CARRIED_FROM] == mine.id and copy.stix["relationship_type"] == "related-to"
    assert (copy.stix["source_ref"], copy.stix["target_ref"]) == (some_malware["id"], n["id"])

    # The analyst's reports named X by id and by name: both lead to N now.
    assert n["id"] in _refs(kz, analyst, rid) and n["id"] in _refs(kz, analyst, ja)
    by_value = {m.value: m.object_id for m in kz.indicators.in_report(analyst, rid)}
    assert by_value[_attack_id(x)] == n["id"] and by_value[x["name"]] == n["id"]
    (found,) = kz.indicators.lookup(analyst, [_attack_id(x)])
    assert found.objects == [(n["id"], "attack-pattern")] and found.reports == 1
    # And so do the reports written after it; a deprecated technique is not named.
    later = _report(kz, analyst, text)
    refs = _refs(kz, analyst, later)
    assert n["id"] in refs and x["id"] not in refs
    names = {m.value for m in kz.indicators.in_report(analyst, later) if m.kind == "name"}
    assert d["name"] not in names and a["name"] not in names
    renamed = _report(kz, analyst, "Renamed Technique Alpha again.")
    assert a["id"] in _refs(kz, analyst, renamed)

    again = kz.attack.load(SYSTEM, path)
    assert again.report.counts["unchanged"] == len(original) + 2
    assert len(kz.objects.get(analyst, note.id).stix["object_refs"]) == 2


def test_attack_load_on_the_command_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = _upgrade(_objects(_ics()), tmp_path)
    first = run("attack", "load", str(_ics()))
    assert first.startswith("1651 ATT&CK object(s) loaded, 0 updated, 0 already there")
    assert "2 revoked (2 with a replacement), 20 deprecated" in first
    upgraded = json.loads(run("attack", "load", str(path), "--json"))
    assert upgraded["import"]["counts"]["updated"] == 3
    assert upgraded["revoked"] == upgraded["replaced"] == 3
    assert "not a readable JSON bundle" in run("attack", "load", str(tmp_path), code=2)


def test_deprecated_is_shown_on_pages_and_in_the_api(kz: Kizashi, web: TestClient) -> None:
    ana = kz.users.get_actor("ana")
    old, _ = kz.objects.create(
        ana, {"type": "malware", "name": "OldLoader", "is_family": True,
              "x_mitre_deprecated": True}
    )  # fmt: skip
    live, _ = kz.objects.create(ana, {"type": "malware", "name": "NewLoader", "is_family": True})
    token, _ = kz.users.create_token(ana, "tests")
    headers = {"Authorization": f"Bearer {token}"}
    got = web.get(f"/api/v1/objects/{old.id}", headers=headers).json()
    assert got["deprecated"] is True and got["revoked"] is False
    assert web.get(f"/api/v1/objects/{live.id}", headers=headers).json()["deprecated"] is False
    login(web, "ana", "analyst-password")
    assert 'class="deprecated">deprecated</mark>' in web.get(f"/objects/{old.id}").text
    assert 'class="deprecated"' not in web.get(f"/objects/{live.id}").text
    assert web.get("/objects?type=malware").text.count('class="deprecated"') == 1


def test_an_edit_made_in_the_ui_or_api_reaches_the_gazetteer(
    kz: Kizashi, analyst: Actor, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kizashi.services import names

    monkeypatch.setattr(names, "CHECK_SECONDS", 0.0)  # look at the store on every use
    group, _ = kz.objects.create(analyst, _group())
    assert group.id in _refs(kz, analyst, _report(kz, analyst, "menuPass again."))
    clock.tick(60)
    kz.objects.update(analyst, group.id, {"aliases": [*_group()["aliases"], "Cicada"]})
    assert group.id in _refs(kz, analyst, _report(kz, analyst, "Cicada returns."))
