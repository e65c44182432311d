"""STIX 2.1 import: MITRE ATT&CK releases, and the memory a large bundle takes.

``python -m bench --only exchange``. Two measures, each in a spawned process of its own
(a fresh interpreter: no warm caches, and its peak RSS is its own):

- **ATT&CK.** ``kizashi import`` of ATT&CK for ICS 17.1 (1,651 objects; Enterprise too
  when ``../shared/data/attack/enterprise-attack*.json`` is there) into an empty store:
  both passes (the check and preview, then the write, with validation, tags, TLP, the
  outbox) and an export of everything back. The peer, in the same run: python-stix2
  loading the same bundle into its ``MemoryStore`` (parsing and checking every object,
  storing nothing durable). Target: ICS in under 5 s (OpenCTI's issue 623 reports about
  5 hours for 12,000 ATT&CK objects). The ratio is Kizashi's time over the peer's.
- **A large bundle.** A synthetic bundle of reports and indicators (200 MB; 5 MB with
  ``--quick``) imported the same way; target: peak RSS under 500 MB, as the bundle is
  read as a stream, one object at a time.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.common import table, verdict

ATTACK = Path(__file__).resolve().parents[2] / "shared" / "data" / "attack"
TARGET_ICS_S = 5.0
TARGET_RSS_MB = 500.0
LARGE_MB = 200
QUICK_MB = 5


@dataclass
class Row:
    name: str
    objects: int
    seconds: float
    peer_seconds: float | None
    export_seconds: float
    rss_mb: float
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.peer_seconds if self.peer_seconds else None


@dataclass
class ExchangeResult:
    rows: list[Row] = field(default_factory=list)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "skipped": self.skipped,
            "rows": [
                {
                    "name": r.name,
                    "objects": r.objects,
                    "seconds": r.seconds,
                    "objects_per_s": r.rate,
                    "peer_seconds": r.peer_seconds,
                    "ratio": r.ratio,
                    "export_seconds": r.export_seconds,
                    "peak_rss_mb": r.rss_mb,
                    "counts": r.counts,
                }
                for r in self.rows
            ],
        }


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import(path: str, peer: bool, out: Any) -> None:
    """Runs in a spawned process: import ``path`` into a fresh store, export it back."""
    from kizashi.model.actor import SYSTEM
    from kizashi.services import Kizashi
    from kizashi.services.exchange import Selection

    peer_s = None
    if peer:
        import stix2

        start = time.perf_counter()
        with open(path, "rb") as fh:
            stix2.MemoryStore(json.load(fh), allow_custom=True)
        peer_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        kz = Kizashi.open(f"sqlite:///{tmp}/k.db", warninglists=False)
        start = time.perf_counter()

        def opener() -> IO[bytes]:
            return Path(path).open("rb")

        report = kz.exchange.import_(SYSTEM, opener, format="stix")
        took = time.perf_counter() - start
        start = time.perf_counter()
        # To a file, as the API's export spools it: the bundle is never held in memory.
        with (Path(tmp) / "export.json").open("wb") as sink:
            kz.exchange.export(SYSTEM, sink, Selection(include_revoked=True), format="stix")
        exported = time.perf_counter() - start
        kz.close()
    out.put((report.read, took, peer_s, exported, _rss_mb(), report.counts))


def _in_child(
    path: Path, peer: bool
) -> tuple[int, float, float | None, float, float, dict[str, int]]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_import, args=(str(path), peer, queue))
    proc.start()
    found = queue.get(timeout=3600)
    proc.join()
    return found  # type: ignore[no-any-return]


def _uuid(n: int) -> uuid.UUID:
    """A version-4-shaped UUID for object ``n`` (stix2 accepts no other for SDOs)."""
    return uuid.UUID(int=n, version=4)


def large_bundle(path: Path, megabytes: int) -> int:
    """A bundle of reports (Japanese and English prose, indicators in it) and STIX
    indicators, about ``megabytes`` MB, written as a stream; returns its object count."""
    text = (
        "攻撃者は 198.51.100.{n} と evil{n}.example を C2 に使い、CVE-2024-{n:04d} を悪用した。"
        " The actor used hxxp://evil{n}[.]example/gate.php and 203.0.113.{m}. "
    ) * 6
    n = 0
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f'{{"type": "bundle", "id": "bundle--{uuid.uuid4()}", "objects": [')
        while written < megabytes * 1_000_000:
            stamp = f"2024-01-01T00:{(n // 60) % 60:02d}:{n % 60:02d}.000Z"
            if n % 2 == 0:
                obj = {
                    "type": "report",
                    "spec_version": "2.1",
                    "id": f"report--{_uuid(n)}",
                    "created": stamp,
                    "modified": stamp,
                    "name": f"Campaign note {n}",
                    "description": text.format(n=n % 250, m=(n * 7) % 250),
                    "published": stamp,
                    "report_types": ["threat-report"],
                    "object_refs": [f"indicator--{_uuid(n + 1)}"],
                    "labels": ["bench", f"wave:{n % 10}"],
                }
            else:
                obj = {
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": f"indicator--{_uuid(n)}",
                    "created": stamp,
                    "modified": stamp,
                    "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
                    "pattern_type": "stix",
                    "valid_from": stamp,
                }
            line = ("" if n == 0 else ",\n") + json.dumps(obj, ensure_ascii=False)
            fh.write(line)
            written += len(line.encode())
            n += 1
        fh.write("]}\n")
    return n


def run(quick: bool, progress: Any = print) -> ExchangeResult:
    result = ExchangeResult()
    ics = ATTACK / "ics-attack-17.1.json"
    if not ics.exists():
        result.skipped = f"{ics} is not beside this checkout"
        return result
    bundles = [("ATT&CK ICS 17.1", ics)]
    bundles += [(p.stem, p) for p in sorted(ATTACK.glob("enterprise-attack*.json"))]
    for name, path in bundles:
        progress(f"exchange: importing {name} in a spawned process ...")
        read, took, peer_s, exported, rss, counts = _in_child(path, peer=True)
        result.rows.append(Row(name, read, took, peer_s, exported, rss, counts))
    size = QUICK_MB if quick else LARGE_MB
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.json"
        progress(f"exchange: writing a {size} MB bundle ...")
        large_bundle(path, size)
        progress(f"exchange: importing the {size} MB bundle in a spawned process ...")
        read, took, _, exported, rss, counts = _in_child(path, peer=False)
        result.rows.append(Row(f"synthetic {size} MB", read, took, None, exported, rss, counts))
    return result


def render(res: ExchangeResult) -> str:
    if res.skipped:
        return f"STIX import benchmark skipped: {res.skipped}"
    rows = [
        [
            r.name,
            f"{r.objects:,}",
            f"{r.seconds:.2f}",
            f"{r.rate:,.0f}",
            f"{r.peer_seconds:.2f}" if r.peer_seconds else "-",
            f"{r.ratio:.2f}" if r.ratio else "-",
            f"{r.export_seconds:.2f}",
            f"{r.rss_mb:,.0f}",
        ]
        for r in res.rows
    ]
    out = [
        "STIX 2.1 import (check + write, empty SQLite store, a spawned process each)",
        table(
            [
                "bundle",
                "objects",
                "import s",
                "objects/s",
                "stix2 MemoryStore s",
                "ratio",
                "export s",
                "peak RSS MB",
            ],
            rows,
        ),
        "",
        "Targets",
    ]
    ics = res.rows[0]
    for r in res.rows:
        stored = r.counts.get("new", 0)
        if stored != r.objects:
            out.append(f"  {r.name}: {stored:,} of {r.objects:,} objects stored: FAIL")
    ok = verdict(ics.seconds < TARGET_ICS_S)
    out.append(f"  ATT&CK ICS in {ics.seconds:.2f} s (target < {TARGET_ICS_S:.0f} s): {ok}")
    large = res.rows[-1]
    out.append(
        f"  {large.name} bundle: peak RSS {large.rss_mb:,.0f} MB "
        f"(target < {TARGET_RSS_MB:.0f} MB): {verdict(large.rss_mb < TARGET_RSS_MB)}"
    )
    return "\n".join(out)
