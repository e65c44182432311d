"""Deterministic, realistic-looking bulk data: observables and reports in tagged batches.

``create_many`` applies one tag list to a whole batch, so the data is generated as
batches that each carry their tags. Tag frequencies are fixed per tag (a share of the
batches, placed at random with a fixed seed), which gives a long tail: a couple of
tags on most objects, a few on one object in a hundred or fewer.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

SEED = 20261128

#: TLP level per batch (exactly one each, like a feed's default marking).
TLP_WEIGHTS = {"tlp:green": 70, "tlp:amber": 25, "tlp:clear": 5}

#: Free tags on observable batches: share of batches that carry the tag.
OBSERVABLE_TAGS = {
    "phishing": 0.45,
    "c2": 0.30,
    "フィッシング": 0.25,
    "scanner": 0.15,
    "botnet": 0.10,
    "ランサムウェア": 0.05,
    "emotet": 0.04,
    "標的型攻撃": 0.03,
    "lazarus": 0.02,
    "blacktech": 0.01,
}

#: Free tags on reports (a report has 2-4 tags: one TLP plus 1-3 of these).
REPORT_TAGS = [
    "phishing",
    "ランサムウェア",
    "標的型攻撃",
    "脆弱性",
    "apt",
    "lazarus",
    "blacktech",
    "金融機関",
    "サプライチェーン攻撃",
    "c2",
    "emotet",
    "zero-day",
]

_WORDS = ["secure", "login", "update", "mail", "cdn", "portal", "account", "verify", "cloud", "pay"]
_TLDS = ["com", "net", "jp", "co.jp", "info", "xyz", "top", "ru", "cn", "io"]
_NAMES = ["tanaka", "suzuki", "sato", "info", "admin", "support", "yamada", "kato", "noreply"]
_PATHS = ["wp-admin/upd.php", "login", "invoice.zip", "gate.php", "dl/payload.bin", "index.html"]
_ACTORS = ["Lazarus", "BlackTech", "APT10", "Tick", "MirrorFace", "LockBit", "Emotet"]
_SECTORS = ["金融機関", "製造業", "医療機関", "政府機関", "防衛産業", "学術機関", "通信事業者"]
_ATTACKS = ["標的型メール", "ランサムウェア", "サプライチェーン攻撃", "VPN 機器の脆弱性悪用"]
_EN_TOPICS = ["phishing kit", "C2 infrastructure", "loader campaign", "credential theft", "botnet"]


@dataclass(frozen=True)
class Batch:
    """One ``create_many`` call: raw STIX inputs and the tags applied to all of them."""

    objects: list[dict[str, Any]]
    tags: list[str]


def _observable(i: int, rng: random.Random) -> dict[str, Any]:
    """A unique observable: the global index ``i`` is part of every value."""
    roll = rng.random()
    word = rng.choice(_WORDS)
    tld = rng.choice(_TLDS)
    if roll < 0.40:
        # An odd multiplier is a bijection on 32 bits: unique addresses, scattered.
        n = (i * 2654435761 + 0x0A000001) % 2**32
        value = f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        return {"type": "ipv4-addr", "value": value}
    if roll < 0.70:
        return {"type": "domain-name", "value": f"{word}-{i:x}.example-{rng.choice(_WORDS)}.{tld}"}
    if roll < 0.90:
        path = rng.choice(_PATHS)
        return {
            "type": "url",
            "value": f"http://{word}-{i:x}.{tld}/{path}?id={rng.randrange(10**6)}",
        }
    return {"type": "email-addr", "value": f"{rng.choice(_NAMES)}.{i}@{word}-mail.{tld}"}


def _spread(names: dict[str, float], nbatches: int, rng: random.Random) -> list[list[str]]:
    """Per batch, the free tags it carries: each tag on its share of batches (at least one)."""
    out: list[list[str]] = [[] for _ in range(nbatches)]
    for name, share in names.items():
        k = max(1, round(share * nbatches))
        for b in rng.sample(range(nbatches), min(k, nbatches)):
            out[b].append(name)
    return out


def _tlp(rng: random.Random) -> str:
    return rng.choices(list(TLP_WEIGHTS), weights=list(TLP_WEIGHTS.values()))[0]


def observable_batches(total: int, batch_size: int, rng: random.Random) -> list[Batch]:
    nbatches = max(1, -(-total // batch_size))
    free = _spread(OBSERVABLE_TAGS, nbatches, rng)
    batches = []
    for b in range(nbatches):
        lo, hi = b * batch_size, min(total, (b + 1) * batch_size)
        objs = [_observable(i, rng) for i in range(lo, hi)]
        batches.append(Batch(objs, [_tlp(rng), *free[b]]))
    return batches


def _report(i: int, rng: random.Random) -> dict[str, Any]:
    actor, sector, attack = rng.choice(_ACTORS), rng.choice(_SECTORS), rng.choice(_ATTACKS)
    day = rng.randrange(2190)  # six years from 2020-01-01
    year, rest = 2020 + day // 365, day % 365
    published = (
        f"{year}-{rest // 31 % 12 + 1:02d}-{rest % 28 + 1:02d}T{rng.randrange(24):02d}:00:00.000Z"
    )
    if rng.random() < 0.6:
        name = f"{actor}による{sector}を狙った{attack}の観測 (#{i})"
        desc = (
            f"{sector}を標的とした{attack}を確認しました。攻撃者は{actor}と関連があると"
            f"評価しています。侵害の痕跡 (IoC) を添付します。"
        )
    else:
        topic = rng.choice(_EN_TOPICS)
        name = f"{actor} {topic} targeting Japanese organisations (#{i})"
        desc = (
            f"We observed {actor} operating a {topic} against {sector} in Japan. "
            "Indicators and detection guidance are attached."
        )
    return {"type": "report", "name": name, "published": published, "description": desc}


def report_batches(total: int, batch_size: int, rng: random.Random) -> list[Batch]:
    """Reports grouped by tag set (Zipf-sized groups), each group cut into batches."""
    sets: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    nsets = max(1, min(120, total // 20))
    while len(sets) < nsets:
        picks = rng.sample(REPORT_TAGS, rng.randint(1, 3))
        tags = [_tlp(rng), *sorted(picks)]
        key = tuple(tags)
        if key not in seen:
            seen.add(key)
            sets.append(tags)
    weights = [1 / (k + 1) for k in range(nsets)]
    sizes = [int(total * w / sum(weights)) for w in weights]
    sizes[0] += total - sum(sizes)
    batches: list[Batch] = []
    i = 0
    for tags, size in zip(sets, sizes, strict=True):
        for lo in range(0, size, batch_size):
            n = min(batch_size, size - lo)
            batches.append(Batch([_report(i + j, rng) for j in range(n)], tags))
            i += n
    return batches


def build(observables: int, reports: int, obs_batch: int, rep_batch: int) -> list[Batch]:
    """Every batch, observables first, in the order they are inserted."""
    rng = random.Random(SEED)
    out = observable_batches(observables, obs_batch, rng) if observables else []
    return out + (report_batches(reports, rep_batch, rng) if reports else [])


def tag_counts(batches: list[Batch]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for b in batches:
        for t in b.tags:
            counts[t] += len(b.objects)
    return counts
