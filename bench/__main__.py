"""``python -m bench``: run the benchmarks and print a table (``make bench``).

A measurement, not a test: it always exits 0 and says PASS/FAIL against the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import unicodedata
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import bench_store
from bench.bench_store import Latency, Result

TARGET_RATIO = 0.25
TARGET_P95_MS = 20.0


def machine() -> dict[str, Any]:
    cpu = ""
    mem_gib = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_gib": round(mem_gib, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": version("sqlalchemy"),
    }


def _width(text: str) -> int:
    """Terminal columns: Japanese (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, left: bool) -> str:
    fill = " " * (width - _width(text))
    return text + fill if left else fill + text


def table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """Plain text; the first ``left`` columns are left-aligned, the rest right."""
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        cells = [_pad(str(c), w, i < left) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _lat_rows(lats: list[Latency]) -> list[list[str]]:
    out = []
    for lat in lats:
        s = lat.summary()
        p95 = s["p95_ms"]
        out.append(
            [
                s["label"],
                s["query"],
                s["matches"],
                str(s["n"]),
                f"{s['p50_ms']:.2f}",
                f"{p95:.2f}",
                f"{s['max_ms']:.2f}",
                verdict(p95 < TARGET_P95_MS) if s["n"] else "-",
            ]
        )
    return out


def render(res: Result, env: dict[str, Any]) -> str:
    c = res.config
    out = [
        "Kizashi benchmark: bulk insert and tag filters on SQLite",
        f"machine: {env['cpus']} CPUs ({env['cpu']}), {env['memory_gib']} GiB, {env['platform']}",
        f"python {env['python']}, SQLite {env['sqlite']}, SQLAlchemy {env['sqlalchemy']}",
        f"data: {c['observables']:,} observables (batches of {c['observable_batch']:,}) + "
        f"{c['reports']:,} reports (batches of <= {c['report_batch']:,}, grouped by tag set); "
        f"{c['batches']:,} create_many calls",
        "",
        "Bulk insert",
    ]
    ratio_ok = res.ratio >= TARGET_RATIO
    out.append(
        table(
            ["path", "rows", "seconds", "objects/s"],
            [
                [
                    "service layer (ObjectService.create_many)",
                    f"{res.service.rows:,}",
                    f"{res.service.seconds:.1f}",
                    f"{res.service.rate:,.0f}",
                ],
                [
                    "raw sqlite3 executemany, same schema",
                    f"{res.raw.rows:,}",
                    f"{res.raw.seconds:.1f}",
                    f"{res.raw.rate:,.0f}",
                ],
                ["ratio service / raw", "", "", f"{res.ratio:.3f}"],
            ],
        )
    )
    svc, raw = res.counts["service"], res.counts["raw"]
    parity = ", ".join(f"{t} {svc[t]:,}/{raw[t]:,}" for t in bench_store.TABLES)
    out += [
        f"rows written (service/raw): {parity}",
        "(the service database also holds Kizashi's own identity object, written at open)",
        "",
    ]
    hdr = [
        "filter",
        "query",
        "objects per tag -> matches",
        "n",
        "p50 ms",
        "p95 ms",
        "max ms",
        "<20ms",
    ]
    pairs = res.filters[: len(bench_store.AND_PAIRS)]
    allp = bench_store.combined(pairs, "all two-tag AND pairs").summary()
    out += ["Tag filter, first page: objects.list(SYSTEM, tags=..., limit=50)"]
    rows = _lat_rows(res.filters)
    rows.insert(
        len(pairs),
        [
            "ALL two-tag AND pairs",
            "",
            "",
            str(allp["n"]),
            f"{allp['p50_ms']:.2f}",
            f"{allp['p95_ms']:.2f}",
            f"{allp['max_ms']:.2f}",
            verdict(allp["p95_ms"] < TARGET_P95_MS),
        ],
    )
    out += [table(hdr, rows, left=2), ""]
    out += ["Paging: pages 2..11 of the same filters, following next_cursor"]
    out += [table(hdr, _lat_rows([p for p in res.paging if p.samples]), left=2), ""]
    worst = max(pairs, key=lambda lat: lat.pct(95))
    p95_ok = allp["p95_ms"] < TARGET_P95_MS
    out += [
        "Targets",
        f"  service/raw insert ratio {res.ratio:.3f} (target >= {TARGET_RATIO}): "
        + verdict(ratio_ok),
        f"  two-tag AND p95 over all pairs {allp['p95_ms']:.2f} ms "
        f"(target < {TARGET_P95_MS:.0f} ms): {verdict(p95_ok)}",
        f"  worst single pair {worst.label!r}: p95 {worst.pct(95):.2f} ms: "
        + verdict(worst.pct(95) < TARGET_P95_MS),
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--observables", type=int, default=1_000_000)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument(
        "--quick", action="store_true", help="20,000 observables, 2,000 reports, batches of 1,000"
    )
    ap.add_argument("--batch", type=int, default=10_000, help="observables per create_many call")
    ap.add_argument("--queries", type=int, default=200, help="samples per filter")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.quick:
        # Smaller batches too, so that rare tags stay rare at this size.
        args.observables, args.reports, args.batch = 20_000, 2_000, 1_000

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    env = machine()
    res = bench_store.run(
        args.observables,
        args.reports,
        obs_batch=args.batch,
        queries=args.queries,
        progress=progress,
    )
    print(render(res, env), flush=True)
    if args.json:
        doc = {"machine": env, **res.as_dict()}
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
