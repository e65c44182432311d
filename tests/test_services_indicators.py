"""Reports link the indicators in their text; lookups and indicator pages read the links.

Runs on SQLite and PostgreSQL (the ``kz`` fixture), with a real feed server for the
pipeline case.
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from conftest import FakeClock
from feedserver import RSS, FeedServer
from kizashi.ingest.feeds import FeedService
from kizashi.ingest.fetch import Fetcher, FetchLimits
from kizashi.ingest.netguard import AddressPolicy, parse_allowlist
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.observables import deterministic_id
from kizashi.services import Kizashi

TEXT = (
    "攻撃者は通信先45[.]77[.]12[.]34であり、hxxps://kizashi-c2[.]top/gate.php を使う。"
    "CVE-2024-3400 を悪用し、T1059.001 で PowerShell を実行した。"
)


def report(kz: Kizashi, actor: Actor, name: str, description: str, **extra: object) -> str:
    view, _ = kz.objects.create(
        actor,
        {
            "type": "report",
            "name": name,
            "description": description,
            "published": "2025-03-01T00:00:00Z",
            **extra,
        },
    )
    return view.id


def test_a_manual_report_refers_to_what_its_text_names(kz: Kizashi, analyst: Actor) -> None:
    rid = report(kz, analyst, "Kizashi C2 の報告", TEXT)
    refs = kz.objects.get(analyst, rid).stix["object_refs"]
    types = sorted(r.split("--")[0] for r in refs)
    assert types == ["attack-pattern", "domain-name", "ipv4-addr", "url", "vulnerability"]
    ip = kz.objects.get(analyst, next(r for r in refs if r.startswith("ipv4-addr")))
    assert ip.stix["value"] == "45.77.12.34"
    vuln = kz.objects.get(analyst, deterministic_id("vulnerability", "CVE-2024-3400"))
    assert vuln.stix["external_references"] == [
        {"source_name": "cve", "external_id": "CVE-2024-3400"}
    ]
    mentions = {m.value: m for m in kz.indicators.in_report(analyst, rid)}
    assert set(mentions) == {
        "45.77.12.34",
        "https://kizashi-c2.top/gate.php",
        "kizashi-c2.top",
        "CVE-2024-3400",
        "T1059.001",
    }
    ip_mention = mentions["45.77.12.34"]
    assert ip_mention.context.startswith("攻撃者は通信先")
    hit = ip_mention.context[ip_mention.context_start : ip_mention.context_end]
    assert hit == "45[.]77[.]12[.]34"


def test_the_same_indicator_is_one_object_across_reports(kz: Kizashi, analyst: Actor) -> None:
    a = report(kz, analyst, "first", "Beacon to 45.77.12.34 seen.")
    b = report(kz, analyst, "second", "Again 45[.]77[.]12[.]34 and kizashi-c2.top.")
    ip_a = [r for r in kz.objects.get(analyst, a).stix["object_refs"] if "ipv4" in r]
    ip_b = [r for r in kz.objects.get(analyst, b).stix["object_refs"] if "ipv4" in r]
    assert ip_a == ip_b and len(ip_a) == 1


def test_indicator_page_shows_first_last_seen_sources_sentences_and_neighbours(
    kz: Kizashi, analyst: Actor, clock: FakeClock
) -> None:
    report(
        kz,
        analyst,
        "old",
        "First seen: 45.77.12.34 with kizashi-c2.top.",
        published="2024-01-05T00:00:00Z",
        external_references=[{"source_name": "JPCERT", "url": "https://jpcert.example/1"}],
    )
    clock.tick(60)
    report(
        kz,
        analyst,
        "new",
        "再び45.77.12.34への通信を確認した。",
        published="2025-02-01T00:00:00Z",
        external_references=[{"source_name": "IPA", "url": "https://ipa.example/2"}],
    )
    [ip] = kz.objects.list(analyst, types=["ipv4-addr"]).items
    overview = kz.indicators.overview(analyst, ip.id)
    assert (overview.reports, overview.sources) == (2, 2)
    assert (overview.first_seen, overview.last_seen) == (
        "2024-01-05T00:00:00Z",
        "2025-02-01T00:00:00Z",
    )
    assert [m.report_name for m in overview.mentions] == ["new", "old"]
    assert overview.mentions[0].context == "再び45.77.12.34への通信を確認した。"
    assert [(k, v, n) for k, v, _, n in overview.co_occurring] == [("domain", "kizashi-c2.top", 1)]


def test_seen_with_counts_in_the_newest_reports_and_says_so(
    kz: Kizashi, analyst: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value named in thousands of reports counts what is seen with it in its newest
    ones (store/mentions.CO_OCCURRING_SAMPLE), and the overview says how many."""
    from kizashi.store import mentions as mention_repo

    for day, other in ((1, "old-c2.top"), (2, "mid-c2.top"), (3, "new-c2.top")):
        report(
            kz,
            analyst,
            f"r{day}",
            f"Beacon to 45.77.12.34 and {other}.",
            published=f"2025-01-0{day}T00:00:00Z",
        )
    [ip] = kz.objects.list(analyst, types=["ipv4-addr"]).items
    whole = kz.indicators.overview(analyst, ip.id)
    assert {v for _, v, _, _ in whole.co_occurring} == {"old-c2.top", "mid-c2.top", "new-c2.top"}
    assert whole.co_occurring_sample is None
    monkeypatch.setattr(mention_repo, "CO_OCCURRING_SAMPLE", 2)
    sampled = kz.indicators.overview(analyst, ip.id)
    assert sampled.reports == 3  # the totals count every report
    assert [(v, n) for _, v, _, n in sampled.co_occurring] == [("mid-c2.top", 1), ("new-c2.top", 1)]
    assert sampled.co_occurring_sample == 2


def test_lookup_answers_known_or_not_and_where(kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    report(kz, analyst, "r", TEXT)
    found = kz.indicators.lookup(
        reader,
        [
            "45[.]77[.]12[.]34",
            "KIZASHI-C2.TOP",
            "cve-2024-3400",
            "10.9.9.9",
            "T1059.001",
        ],
    )
    by_query = {r.query: r for r in found}
    ip = by_query["45[.]77[.]12[.]34"]
    assert (ip.value, ip.kind, ip.known, ip.reports, ip.sources) == (
        "45.77.12.34",
        "ipv4",
        True,
        1,
        1,
    )
    assert ip.first_seen == "2025-03-01T00:00:00Z"
    assert [t for _, t in ip.objects] == ["ipv4-addr"]
    assert by_query["KIZASHI-C2.TOP"].value == "kizashi-c2.top"
    assert by_query["KIZASHI-C2.TOP"].known
    assert by_query["cve-2024-3400"].objects[0][1] == "vulnerability"
    assert by_query["T1059.001"].known
    unknown = by_query["10.9.9.9"]
    assert (unknown.known, unknown.reports, unknown.objects) == (False, 0, [])


def test_a_revoked_report_no_longer_counts_until_restored(
    kz: Kizashi, analyst: Actor, admin: Actor
) -> None:
    rid = report(kz, analyst, "r", "Beacon to 45.77.12.34.")
    kz.objects.revoke(analyst, rid)
    assert not kz.indicators.lookup(analyst, ["45.77.12.34"])[0].reports
    kz.objects.restore(admin, rid)
    assert kz.indicators.lookup(analyst, ["45.77.12.34"])[0].reports == 1


def test_editing_the_text_relinks_and_keeps_earlier_refs(kz: Kizashi, analyst: Actor) -> None:
    rid = report(kz, analyst, "r", "Beacon to 45.77.12.34.")
    kz.objects.update(analyst, rid, {"description": "Now kizashi-c2.top instead."})
    view = kz.objects.get(analyst, rid)
    kinds = sorted(r.split("--")[0] for r in view.stix["object_refs"])
    assert kinds == ["domain-name", "ipv4-addr"]
    assert [m.value for m in kz.indicators.in_report(analyst, rid)] == ["kizashi-c2.top"]


def test_attack_stub_is_replaced_when_attack_data_arrives(kz: Kizashi, analyst: Actor) -> None:
    rid = report(kz, analyst, "r", "PowerShell (T1059.001) was used.")
    stub_id = deterministic_id("attack-pattern", "T1059.001")
    assert stub_id in kz.objects.get(analyst, rid).stix["object_refs"]
    real, _ = kz.objects.create(
        SYSTEM,
        {
            "type": "attack-pattern",
            "id": "attack-pattern--970a3432-3237-47ad-bcca-7d8cbb217736",
            "name": "PowerShell",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1059.001"}],
        },
    )
    refs = kz.objects.get(analyst, rid).stix["object_refs"]
    assert real.id in refs and stub_id not in refs
    assert kz.objects.get(SYSTEM, stub_id).revoked
    overview = kz.indicators.overview(analyst, real.id)
    assert overview.reports == 1
    # A report written after the load refers to the real object, not a new stub.
    later = report(kz, analyst, "later", "Again T1059.001.")
    assert real.id in kz.objects.get(analyst, later).stix["object_refs"]


def test_reextract_links_reports_stored_without_extraction(kz: Kizashi, analyst: Actor) -> None:
    raws = [
        {
            "type": "report",
            "name": f"r{i}",
            "description": f"C2 45.77.12.{i} seen",
            "published": "2025-01-01T00:00:00Z",
            "object_refs": [analyst.identity_ref],
        }
        for i in range(1, 6)
    ]
    kz.objects.create_many(analyst, raws)
    assert not kz.indicators.lookup(analyst, ["45.77.12.3"])[0].known
    progress: list[tuple[int, int]] = []
    assert kz.indicators.reextract(analyst, lambda d, t: progress.append((d, t)), batch=2) == 5
    assert progress[-1] == (5, 5) and len(progress) == 3
    first = kz.indicators.lookup(analyst, ["45.77.12.3"])[0]
    assert (first.known, first.reports) == (True, 1)
    kz.indicators.reextract(analyst)  # again: nothing doubles
    assert kz.indicators.lookup(analyst, ["45.77.12.3"])[0].reports == 1
    views = kz.objects.list(analyst, types=["report"]).items
    assert all(any(r.startswith("ipv4-addr--") for r in v.stix["object_refs"]) for v in views)


def test_flagged_values_can_be_left_out(db_url: str, clock: FakeClock) -> None:
    kz = Kizashi.open(db_url, clock=clock, keep_flagged=False)
    try:
        rid = report(kz, SYSTEM, "r", "Docs use 192.0.2.1 and example.com; C2 is 133.242.0.1.")
        assert [m.value for m in kz.indicators.in_report(SYSTEM, rid)] == ["133.242.0.1"]
    finally:
        kz.close()


def test_flags_are_kept_with_the_mention_by_default(kz: Kizashi, analyst: Actor) -> None:
    rid = report(kz, analyst, "r", "Docs use 192.0.2.1 in examples.")
    [m] = kz.indicators.in_report(analyst, rid)
    assert m.value == "192.0.2.1"
    assert m.flags == "documentation,warninglist:List of RFC 5735 CIDR blocks"


# -- the feed pipeline ---------------------------------------------------------------------
@pytest.fixture
def feeds(kz: Kizashi) -> Iterator[FeedService]:
    fetcher = Fetcher(AddressPolicy(parse_allowlist("127.0.0.1/32")), FetchLimits(total_timeout=5))
    yield FeedService(kz, fetcher, rng=random.Random(4))
    fetcher.close()


def test_feed_items_are_read_for_indicators(feeds: FeedService) -> None:
    day = datetime(2025, 3, 2, tzinfo=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    items = "".join(
        f"<item><title>注意喚起 {n}</title><link>http://127.0.0.1/{n}</link>"
        f"<guid>g{n}</guid><pubDate>{day}</pubDate>"
        f"<description>{html.escape(f'<p>C2 サーバ 45.77.12.{n} と CVE-2024-3400。</p>')}"
        "</description></item>"
        for n in (1, 2)
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>JP</title>{items}</channel></rss>'
    )
    with FeedServer() as server:
        server.set("/f.xml", body.encode(), {"Content-Type": RSS})
        feed = feeds.add(SYSTEM, server.url("/f.xml"))
        result = feeds.poll(feed.id)
    assert result.counts["stored"] == 2
    looked = feeds.kz.indicators.lookup(SYSTEM, ["45.77.12.1", "45.77.12.2", "CVE-2024-3400"])
    assert [(r.known, r.reports, r.sources) for r in looked] == [
        (True, 1, 1),
        (True, 1, 1),
        (True, 2, 1),
    ]


def test_wallets_user_agents_and_tactics_become_objects(kz: Kizashi, analyst: Actor) -> None:
    rid = report(
        kz,
        analyst,
        "r",
        "Ransom to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa during TA0040.\n"
        "User-Agent: KzBot/2.0 (compatible)\n",
    )
    refs = kz.objects.get(analyst, rid).stix["object_refs"]
    by_type = {r.split("--")[0]: r for r in refs}
    assert set(by_type) == {"cryptocurrency-wallet", "user-agent", "x-mitre-tactic"}
    wallet = kz.objects.get(analyst, by_type["cryptocurrency-wallet"]).stix
    assert (wallet["value"], wallet["currency"]) == ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "btc")
    ext = next(iter(wallet["extensions"]))
    assert kz.objects.get(analyst, ext).type == "extension-definition"
    agent = kz.objects.get(analyst, by_type["user-agent"]).stix
    assert agent["value"] == "KzBot/2.0 (compatible)"
    tactic = kz.objects.get(analyst, by_type["x-mitre-tactic"]).stix
    assert tactic["x_kizashi_stub"] is True and tactic["name"] == "TA0040"
    assert kz.indicators.lookup(analyst, ["TA0040"])[0].objects[0][1] == "x-mitre-tactic"


def test_a_stub_named_by_anothers_red_report_gives_way_without_telling(
    kz: Kizashi, analyst: Actor
) -> None:
    """The real object arrives from someone who may not read the TLP:RED report that named
    its stub: the report is pointed at it all the same, and the one who brought it learns
    nothing of the report."""
    kz.users.create(SYSTEM, "bea", "another analyst password", "analyst")
    bea = kz.users.get_actor("bea")
    view, _ = kz.objects.create(
        analyst,
        {
            "type": "report",
            "name": "red",
            "description": "PowerShell (T1059.001) was used.",
            "published": "2025-03-01T00:00:00Z",
        },
        tlp="red",
    )
    stub_id = deterministic_id("attack-pattern", "T1059.001")
    assert stub_id in kz.objects.get(analyst, view.id).stix["object_refs"]
    real, _ = kz.objects.create(
        bea,
        {
            "type": "attack-pattern",
            "id": "attack-pattern--970a3432-3237-47ad-bcca-7d8cbb217736",
            "name": "PowerShell",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1059.001"}],
        },
    )
    refs = kz.objects.get(analyst, view.id).stix["object_refs"]
    assert real.id in refs and stub_id not in refs
    assert kz.indicators.overview(bea, real.id).reports == 0  # not theirs to count
    assert kz.indicators.overview(analyst, real.id).reports == 1
    assert kz.objects.list(bea, types=["report"]).items == []
