"""Rules through the service, on SQLite and PostgreSQL: incoming items, stored items,
provenance, an analyst's removal, TLP never lowered, collections, relations, events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi

IDENTITY = "identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"

IVANTI: dict[str, Any] = {
    "name": "ivanti",
    "when": {"any": [{"words": ["Ivanti"]}, {"watchlist": ["CVE-2024-21887"]}]},
    "then": {"add_tags": ["product:ivanti"], "set_tlp": "green", "notify": True},
}
RANSOM: dict[str, Any] = {
    "name": "ransomware-ja",
    "order": 20,
    "when": {"all": [{"words": ["ランサムウェア"]}, {"language": "ja"}]},
    "then": {"add_tags": ["ransomware", "region:japan"]},
}


def report(kz: Kizashi, name: str, text: str, **kw: Any) -> str:
    raw = {"type": "report", "name": name, "description": text, "object_refs": [IDENTITY]}
    raw["published"] = "2024-05-01T00:00:00.000Z"
    view, _ = kz.objects.create(SYSTEM, raw, **kw)
    return view.id


def tags(kz: Kizashi, stix_id: str) -> list[str]:
    return kz.objects.get(SYSTEM, stix_id).tags


def test_incoming_items_are_tagged_in_the_same_transaction(kz: Kizashi) -> None:
    kz.rules.save(SYSTEM, IVANTI)
    kz.rules.save(SYSTEM, RANSOM)
    rid = report(kz, "国内の被害", "国内企業へのランサムウェア攻撃が続いている。Ivanti 製品経由。")
    assert tags(kz, rid) == ["product:ivanti", "ransomware", "region:japan", "tlp:green"]
    assert kz.objects.get(SYSTEM, rid).tlp == "green"
    prov = kz.rules.provenance(SYSTEM, rid)
    assert prov["ransomware"] == {"rule": "ransomware-ja", "rule_version": 1}
    assert prov["tlp:green"] == {"rule": "ivanti", "rule_version": 1}
    # English and Japanese both respect their word rules.
    other = report(kz, "Adapter update", "A new network adapter driver.")
    assert tags(kz, other) == []
    # An edit is an update: rules run again.
    kz.objects.update(SYSTEM, other, {"description": "Ivanti adapter driver."})
    assert "product:ivanti" in tags(kz, other)


def test_tlp_is_raised_never_lowered(kz: Kizashi) -> None:
    kz.rules.save(SYSTEM, IVANTI)
    amber = report(kz, "Ivanti 調査", "Ivanti の件", tlp="amber")
    assert kz.objects.get(SYSTEM, amber).tlp == "amber"
    assert "tlp:green" not in tags(kz, amber)
    clear = report(kz, "Ivanti 公開情報", "Ivanti の件", tlp="clear")
    assert kz.objects.get(SYSTEM, clear).tlp == "green"


def test_a_tlp_tag_in_any_spelling_raises_the_marking_and_later_rules_see_it(
    kz: Kizashi,
) -> None:
    # ``TLP:AMBER`` among the tags is a marking, as ``set_tlp: amber`` is: the item is
    # marked, the tag is the canonical ``tlp:amber``, and a later rule reads it.
    kz.rules.save(
        SYSTEM,
        {
            "name": "vpn",
            "order": 1,
            "when": {"words": ["VPN"]},
            "then": {"add_tags": ["TLP:AMBER", "Edge-Device"]},
        },
    )
    kz.rules.save(
        SYSTEM,
        {
            "name": "amber-edge",
            "order": 2,
            "when": {"query": "tag:tlp:amber tag:Edge-Device"},
            "then": {"add_tags": ["review"]},
        },
    )
    rid = report(kz, "VPN appliance", "A VPN gateway flaw.")
    assert kz.objects.get(SYSTEM, rid).tlp == "amber"
    assert tags(kz, rid) == ["Edge-Device", "review", "tlp:amber"]
    assert kz.rules.provenance(SYSTEM, rid)["review"]["rule"] == "amber-edge"
    assert tags(kz, report(kz, "Router", "A router flaw.")) == []


def test_a_rule_saved_by_another_process_applies_at_the_next_item(kz: Kizashi, db_url: str) -> None:
    # The compiled rule set is kept between items; a change made elsewhere (a web
    # process, while this one is a feed worker) is seen by its stamp, not by a restart.
    assert tags(kz, report(kz, "Ivanti 1", "Ivanti")) == []
    other = Kizashi.open(db_url)
    try:
        other.rules.save(SYSTEM, IVANTI)
        assert "product:ivanti" in tags(kz, report(kz, "Ivanti 2", "Ivanti"))
        other.rules.save(SYSTEM, IVANTI | {"enabled": False}, name="ivanti")
        assert tags(kz, report(kz, "Ivanti 3", "Ivanti")) == []
        other.rules.save(SYSTEM, IVANTI | {"enabled": True}, name="ivanti")
        other.rules.delete(SYSTEM, "ivanti")
        assert tags(kz, report(kz, "Ivanti 4", "Ivanti")) == []
    finally:
        other.close()


def test_a_removed_tag_is_not_put_back(kz: Kizashi) -> None:
    kz.rules.save(SYSTEM, IVANTI)
    rid = report(kz, "Ivanti", "Ivanti Connect Secure")
    kz.tags.untag(SYSTEM, rid, ["product:ivanti"])
    kz.objects.update(SYSTEM, rid, {"description": "Ivanti Connect Secure, updated"})
    assert "product:ivanti" not in tags(kz, rid)
    kz.rules.apply(SYSTEM, "ivanti")
    assert "product:ivanti" not in tags(kz, rid)
    # Added back by hand, it may be managed by rules again.
    kz.tags.tag(SYSTEM, rid, ["product:ivanti"])
    assert "product:ivanti" in tags(kz, rid)


def test_apply_to_existing_and_test_before_saving(kz: Kizashi) -> None:
    old = [report(kz, f"報告{i}", f"国内企業へのランサムウェア攻撃 {i}") for i in range(3)]
    unrelated = report(kz, "Other", "An English note about printers and drivers.")
    preview = kz.rules.test(SYSTEM, RANSOM)
    assert preview.matched == 3
    assert {s.id for s in preview.sample} == set(old)
    assert all("<mark>ランサムウェア</mark>" in s.snippet_html for s in preview.sample)
    assert all(s.why[0] == "ランサムウェア" for s in preview.sample)
    assert all(tags(kz, i) == [] for i in old)  # testing changes nothing
    kz.rules.save(SYSTEM, RANSOM)
    ticks: list[tuple[int, int]] = []
    run = kz.rules.apply(SYSTEM, None, lambda d, t: ticks.append((d, t)))
    assert run.status == "done" and run.matched == 3 and ticks[-1] == (1, 1)
    assert all("ransomware" in tags(kz, i) for i in old)
    assert tags(kz, unrelated) == []
    # A regular expression is checked on each candidate's text.
    regex = {"name": "re", "when": {"regex": r"攻撃 [02]$"}, "then": {"add_tags": ["even"]}}
    assert kz.rules.test(SYSTEM, regex).matched == 2


def test_background_run_reports_progress(kz: Kizashi) -> None:
    for i in range(4):
        report(kz, f"Ivanti {i}", "Ivanti")
    kz.rules.save(SYSTEM, IVANTI)
    run = kz.rules.apply_in_background(SYSTEM, "ivanti")
    done = kz.rules.wait(run.id, timeout=120)
    assert done.status == "done" and done.total == 1 and done.done == 1
    assert done.matched >= 4


def test_deleting_a_rule_can_take_its_tags(kz: Kizashi) -> None:
    kz.rules.save(SYSTEM, IVANTI)
    kz.rules.save(SYSTEM, RANSOM)
    rid = report(
        kz, "報告", "国内企業へのランサムウェア攻撃の報告。Ivanti 製品。", tags=("manual",)
    )
    assert kz.rules.delete(SYSTEM, "ivanti", remove_tags=True) == 1
    assert tags(kz, rid) == ["manual", "ransomware", "region:japan"]
    assert kz.objects.get(SYSTEM, rid).tlp is None
    kz.rules.delete(SYSTEM, "ransomware-ja")
    assert tags(kz, rid) == ["manual", "ransomware", "region:japan"]


def test_collections_relations_and_events(kz: Kizashi) -> None:
    actor_view, _ = kz.objects.create(
        SYSTEM, {"type": "threat-actor", "name": "Sample Actor", "threat_actor_types": ["spy"]}
    )
    rule = {
        "name": "panda",
        "when": {"words": ["Panda"]},
        "then": {
            "add_to_collection": "Panda 2024",
            "relate": {"relationship_type": "related-to", "target_ref": actor_view.id},
            "notify": True,
        },
    }
    kz.rules.save(SYSTEM, rule)
    a = report(kz, "Panda activity", "Example Panda was seen again.")
    b = report(kz, "More Panda", "Panda again.")
    groupings = kz.objects.list(SYSTEM, types=["grouping"]).items
    assert [g.name for g in groupings] == ["Panda 2024"]
    assert set(groupings[0].stix["object_refs"]) == {a, b}
    rels = kz.relationships.neighbours(SYSTEM, actor_view.id)
    assert {a, b} <= set(rels.nodes)
    events = kz.rules.events(SYSTEM)
    assert {e["payload"]["object_id"] for e in events} == {a, b}
    kz.rules.apply(SYSTEM, "panda")  # a re-run relates, collects and notifies nothing twice
    assert len(kz.rules.events(SYSTEM)) == 2
    assert len(kz.objects.list(SYSTEM, types=["relationship"]).items) == 2


def test_versions_yaml_round_trip_and_errors(kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    kz.rules.save(analyst, IVANTI)
    edited = {**IVANTI, "then": {"add_tags": ["product:ivanti", "edge"]}}
    assert kz.rules.save(analyst, edited, name="ivanti").version == 2
    rid = report(kz, "Ivanti", "Ivanti")
    assert kz.rules.provenance(SYSTEM, rid)["edge"] == {"rule": "ivanti", "rule_version": 2}
    text = kz.rules.export_yaml()
    kz.rules.delete(analyst, "ivanti")
    assert kz.rules.import_yaml(analyst, text) == {"created": 1, "replaced": 0, "skipped": 0}
    assert kz.rules.import_yaml(analyst, text) == {"created": 0, "replaced": 0, "skipped": 1}
    assert kz.rules.get("ivanti").definition["then"] == edited["then"]
    with pytest.raises(KizashiError, match=r"Rule 1: Rule: when\.regex"):
        kz.rules.import_yaml(analyst, "- {name: x, when: {regex: '(a'}, then: {add_tags: [t]}}")
    with pytest.raises(KizashiError, match="exists"):
        kz.rules.save(analyst, IVANTI)
    with pytest.raises(KizashiError, match="Readers"):
        kz.rules.save(reader, {**IVANTI, "name": "other"})


def test_disabled_rules_do_not_run(kz: Kizashi) -> None:
    kz.rules.save(SYSTEM, {**IVANTI, "enabled": False})
    rid = report(kz, "Ivanti", "Ivanti")
    assert tags(kz, rid) == []
    assert json.loads(json.dumps(kz.rules.get("ivanti").as_dict()))["enabled"] is False


EQUIVALENCE_TEXTS = [
    ("ランサムウェア攻撃", "国内企業へのランサムウェア攻撃が続いている。"),
    ("プログラム更新", "新しいプログラムとブログを公開した。"),
    ("Ivanti flaw", "Attackers exploited CVE-2024-21887 in Ivanti Connect Secure."),
    ("通信先", "通信先は10[.]0[.]0[.]5 と sub.evil-domain[.]com であった。"),
    ("別の通信先", "通信先は 10.0.0.50 であった。adapter の不具合。"),
    ("コンピュータ", "コンピュータがマルウェアに感染した。"),
    ("APT report", "The APT group used spear phishing against Japan."),
]
EQUIVALENCE_RULES: list[dict[str, Any]] = [
    {"words": ["ログ"]},
    {"words": ["ランサムウェア", "マルウェア"]},
    {"words": ["攻撃", "国内"], "match": "all"},
    {"words": ["コンピューター"]},
    {"words": ["apt"]},
    {"words": ["exploit"]},
    {"phrase": "connect secure"},
    {"phrase": "ランサムウェア攻撃"},
    {"watchlist": ["10.0.0.5", "evil-domain.com", "フィッシング"]},
    {"indicator": ["cve", "ipv4"]},
    {"language": "en"},
    {"query": "(通信先 OR ivanti) NOT 10.0.0.50"},
    {"query": 'ioc:ipv4 "通信先は"'},
    {"not": {"words": ["攻撃"]}},
    {"all": [{"words": ["通信先"]}, {"regex": r"10\.0\.0\.50\b"}]},
    {"any": [{"fuzzy": "Conect Secure", "threshold": 85}, {"words": ["ブログ"]}]},
]


def test_stored_and_incoming_items_are_matched_alike(kz: Kizashi) -> None:
    """ "Test" and "apply" go through the search index; incoming items through the
    in-memory matcher. Both must find the same items, for every kind of condition."""
    from kizashi.model.rules import parse_rule
    from kizashi.services.rules import item_of
    from kizashi.store import search as docs_repo
    from kizashi.text.rulematch import Terms, compile_condition

    ids = [report(kz, name, text) for name, text in EQUIVALENCE_TEXTS]
    with kz.store.read() as conn:
        rows = {
            row.id: row
            for row in docs_repo.documents(conn, list(_pks(conn, ids).values())).values()
        }
    for when in EQUIVALENCE_RULES:
        rule = {"name": "eq", "when": when, "then": {"add_tags": ["eq"]}}
        through_index = {s.id for s in kz.rules.test(SYSTEM, rule, sample=100).sample}
        node = compile_condition(parse_rule(rule).when, "eq")
        in_memory = {i for i in ids if node.test(Terms.of(item_of(rows[i])), [])}
        assert through_index & set(ids) == in_memory, when
        assert in_memory, when  # every case matches something: none passes vacuously


def _pks(conn: Any, ids: list[str]) -> dict[str, int]:
    from kizashi.store.mentions import pks_by_ids

    return pks_by_ids(conn, ids)


PHISHING = [
    "偽のログインページに誘導するフィッシングメールが送信された。認証情報の窃取を狙う。",
    "Phishing e-mails lure users to a fake login page to steal credentials.",
    "銀行を装ったメールで偽サイトへ誘導し、パスワードを入力させる手口。",
]
RANSOMWARE = [
    "ファイルを暗号化し身代金を要求するランサムウェアの被害が拡大している。",
    "Ransomware encrypted the file servers and the attackers demanded a ransom.",
    "暗号化されたデータの復旧と引き換えに暗号資産での支払いを要求された。",
]


def test_learned_suggestions_wait_for_an_analyst(kz: Kizashi, analyst: Actor) -> None:
    with pytest.raises(KizashiError, match="Too few tagged items"):
        kz.rules.train(analyst)
    for i in range(8):
        report(kz, f"phish {i}", PHISHING[i % 3] + f" 事例{i}", tags=("phishing",))
        report(kz, f"ransom {i}", RANSOMWARE[i % 3] + f" 事例{i}", tags=("ransomware",))
    learned = kz.rules.train(analyst)
    assert learned == {"examples": 16, "tags": ["phishing", "ransomware"]}
    kz.rules.save(
        analyst,
        {
            "name": "learned",
            "when": {"auto": {"threshold": 0.6}},
            "then": {"add_tags": ["phishing", "ransomware"]},
        },
    )
    new = report(kz, "新しい手口", "偽のログインページへ誘導するフィッシングメールを確認した。")
    assert tags(kz, new) == []  # proposed, not applied
    proposed = kz.rules.suggestions(SYSTEM, new)
    assert [s["tag"] for s in proposed] == ["phishing"]
    assert proposed[0]["rule"] == "learned" and proposed[0]["score"] >= 0.6
    kz.rules.decide(analyst, new, "phishing", accept=True)
    assert tags(kz, new) == ["phishing"]
    assert kz.rules.suggestions(SYSTEM, new) == []
    other = report(kz, "暗号化被害", "ファイルを暗号化し身代金を要求された。")
    assert [s["tag"] for s in kz.rules.suggestions(SYSTEM, other)] == ["ransomware"]
    kz.rules.decide(analyst, other, "ransomware", accept=False)
    kz.objects.update(
        analyst, other, {"description": "ファイルを暗号化し身代金を要求された。続報。"}
    )
    assert kz.rules.suggestions(SYSTEM, other) == []  # dismissed stays dismissed
    assert tags(kz, other) == []
