"""Indicator extraction: Kizashi against public extractors, same cases, same text, one run.

Extractors: ``kizashi.text.extract.extract`` and the peers of ``bench.ioc_peers``
(iocextract, ioc-finder, iocsearcher), each mapped onto Kizashi's types.

1. Accuracy: every extractor on the labelled cases (``bench.extract_data.load_cases``),
   scored by ``kizashi.text.extract.scoring``: micro P/R/F1 overall, on the Japanese subset
   and with the flagged (documentation/private) labels left out; F1 per type for all, and
   Kizashi's full per-type table.
2. Throughput on one core: Kizashi over the whole generated corpus (document by document,
   best of N) against a bare ``re`` IPv4 ``finditer`` over the same documents (the raw
   library baseline); each peer on the first documents of the corpus (a slice) against
   Kizashi on the same slice.
3. One realistic 1 MiB document, in one call.
4. Adversarial inputs of 10^5 characters, one call each.

Every timed call runs in a forked child with a hard timeout (``bench.common.run_forked``),
so a peer that backtracks for minutes is reported as "timeout" instead of hanging the run;
the child is forked after a warm-up call in the parent (imports, compiled patterns), so
only the work is timed. Peers are timed on their own call only (``Peer.raw``), without
the mapping to Kizashi's types.
"""

from __future__ import annotations

import gc
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench import extract_data, ioc_peers
from bench.common import Outcome, run_forked, table, verdict

Progress = Callable[[str], None]
Pair = tuple[str, str]

TARGET_DOC_S = 0.2  # Kizashi on the 1 MiB document
TARGET_ADVERSARIAL_S = 1.0  # Kizashi on each adversarial input
TARGET_MB_S = 10.0  # Kizashi over the whole mixed corpus, one core
KIZASHI = "kizashi"
RAW_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


@dataclass
class Settings:
    corpus_bytes: int = 20_000_000
    slice_bytes: int = 512_000  # peers' throughput slice
    doc_bytes: int = 2**20
    adversarial_chars: int = 100_000
    repeats: int = 3  # best of
    case_timeout: float = 120.0  # per labelled case, every extractor
    slice_timeout: float = 60.0  # a peer's whole throughput measurement
    corpus_timeout: float = 600.0  # Kizashi / bare re over the whole corpus
    doc_timeout: float = 60.0
    adversarial_timeout: float = 10.0
    jobs: int = 1  # peers measured at the same time (each on its own core)

    @classmethod
    def quick(cls) -> Settings:
        """For CI: well under a minute on two cores."""
        jobs = 2 if (os.cpu_count() or 1) >= 2 else 1
        return cls(
            corpus_bytes=2_000_000,
            slice_bytes=128_000,
            case_timeout=1.5,
            slice_timeout=15.0,
            corpus_timeout=120.0,
            doc_timeout=8.0,
            adversarial_timeout=3.0,
            jobs=jobs,
        )


# -- measurements ----------------------------------------------------------------------------
Raw = Callable[[str], Iterable[Any]]


def _passes(fn: Raw, docs: list[str], repeats: int, budget: float) -> dict[str, Any]:
    """Best of ``repeats`` passes over ``docs``, fewer when a pass eats the budget."""
    best, spent, passes, hits = math.inf, 0.0, 0, 0
    while passes < repeats:
        gc.collect()
        start = time.perf_counter()
        hits = sum(len(list(fn(d))) for d in docs)
        took = time.perf_counter() - start
        best, spent, passes = min(best, took), spent + took, passes + 1
        if spent + took > budget:
            break
    return {"seconds": best, "passes": passes, "hits": hits}


def _timed(fn: Raw, text: str, repeats: int, budget: float) -> dict[str, Any]:
    return _passes(fn, [text], repeats, budget)


@dataclass
class Rate:
    label: str
    nbytes: int
    docs: int
    outcome: Outcome

    @property
    def seconds(self) -> float | None:
        return self.outcome.value["seconds"] if self.outcome.status == "ok" else None

    @property
    def mb_s(self) -> float | None:
        s = self.seconds
        return self.nbytes / 1e6 / s if s else None

    def as_dict(self) -> dict[str, Any]:
        value = self.outcome.value if self.outcome.status == "ok" else None
        return {
            "label": self.label,
            "bytes": self.nbytes,
            "docs": self.docs,
            "status": self.outcome.status,
            "seconds": self.seconds,
            "mb_per_s": self.mb_s,
            "passes": value and value["passes"],
            "hits": value and value["hits"],
        }


@dataclass
class ExtractResult:
    config: dict[str, Any]
    settings: Settings
    versions: dict[str, str]
    skipped: dict[str, str]  # section or peer -> why
    accuracy: dict[str, Any] = field(default_factory=dict)  # name -> scores
    kizashi_table: str = ""
    throughput: dict[str, Rate] = field(default_factory=dict)
    document: dict[str, Outcome] = field(default_factory=dict)
    adversarial: dict[str, dict[str, Outcome]] = field(default_factory=dict)  # input -> name

    def kizashi_ratio(self, peer: str) -> float | None:
        mine, theirs = self.throughput.get("kizashi-slice"), self.throughput.get(peer)
        if mine and theirs and mine.mb_s and theirs.mb_s:
            return mine.mb_s / theirs.mb_s
        return None

    @property
    def raw_ratio(self) -> float | None:
        mine, raw = self.throughput.get("kizashi"), self.throughput.get("raw-re")
        return mine.mb_s / raw.mb_s if mine and raw and mine.mb_s and raw.mb_s else None

    def as_dict(self) -> dict[str, Any]:
        def outcome(o: Outcome) -> dict[str, Any]:
            value = o.value if o.status == "ok" else None
            seconds = value["seconds"] if isinstance(value, dict) else None
            hits = value["hits"] if isinstance(value, dict) else None
            return {"status": o.status, "seconds": seconds, "hits": hits} | (
                {"error": o.value} if o.status == "error" else {}
            )

        return {
            "config": self.config,
            "settings": self.settings.__dict__,
            "versions": self.versions,
            "skipped": self.skipped,
            "accuracy": self.accuracy,
            "throughput": {k: r.as_dict() for k, r in self.throughput.items()}
            | {"kizashi_over_raw_re": self.raw_ratio}
            | {f"kizashi_over_{p}": self.kizashi_ratio(p) for p in self.versions if p != KIZASHI},
            "document_1mib": {k: outcome(o) for k, o in self.document.items()},
            "adversarial": {
                label: {k: outcome(o) for k, o in row.items()}
                for label, row in self.adversarial.items()
            },
        }


# -- accuracy ----------------------------------------------------------------------------------
def _score_dict(s: Any) -> dict[str, Any]:
    return {
        "tp": s.tp,
        "fp": s.fp,
        "fn": s.fn,
        "precision": s.precision,
        "recall": s.recall,
        "f1": s.f1,
    }


def _accuracy_fn(fn: Callable[[str], set[Pair]], errors: list[str]) -> Callable[[str], Any]:
    def call(text: str) -> tuple[list[Pair], list[str]]:
        before = len(errors)
        return sorted(fn(text)), errors[before:]

    return call


def accuracy(
    cases: list[dict[str, Any]],
    extractors: Mapping[str, tuple[Callable[[str], set[Pair]], list[str]]],
    s: Settings,
) -> tuple[dict[str, Any], Any]:
    """Scores per extractor (JSON-able) and Kizashi's Report (for its per-type table)."""
    from kizashi.text.extract.scoring import expected_pairs, score

    texts = list(dict.fromkeys(str(c["text"]) for c in cases))
    parallel = max(1, min(4, os.cpu_count() or 1))
    jobs = {
        k: (_accuracy_fn(fn, errs), texts, s.case_timeout) for k, (fn, errs) in extractors.items()
    }
    outcomes = run_forked(jobs, parallel)
    # Flagged labels (documentation/private) may be dropped by a peer's policy: score once
    # more without them, neither as a miss nor as a false positive.
    flagged: dict[str, set[Pair]] = {}
    for c in cases:
        flags = {
            (str(e["type"]), str(e["value"])) for e in c.get("expected") or () if e.get("flag")
        }
        flagged.setdefault(str(c["text"]), set()).update(flags)
    unflagged = [
        {**c, "expected": [e for e in c.get("expected") or () if not e.get("flag")]} for c in cases
    ]
    sources = sorted({str(c.get("_file", "")) for c in cases})
    out: dict[str, Any] = {}
    kizashi_report = None
    for name, results in outcomes.items():
        got: dict[str, set[Pair]] = {}
        cut, errors = [], []
        for text, o in zip(texts, results, strict=True):
            if o.status == "ok":
                got[text] = set(map(tuple, o.value[0]))
                errors += o.value[1]
            else:
                got[text] = set()
                cut.append(f"{o.status}: {text[:40]!r}")

        def lookup(text: str, got: dict[str, set[Pair]] = got) -> set[Pair]:
            return got[text]

        def lookup_unflagged(text: str, got: dict[str, set[Pair]] = got) -> set[Pair]:
            return got[text] - flagged.get(text, set())

        report = score(cases, lookup)
        plain = score(unflagged, lookup_unflagged)
        by_source = {
            src: _score_dict(score([c for c in cases if c.get("_file") == src], lookup).overall)
            for src in sources
        }
        out[name] = {
            "overall": _score_dict(report.overall),
            "japanese": _score_dict(report.japanese()),
            "unflagged": _score_dict(plain.overall),
            "by_source": by_source,
            "by_type": {t: _score_dict(v) for t, v in sorted(report.by_type.items())},
            "cut": cut,
            "errors": len(errors),
            "error_samples": errors[:5],
        }
        if name == KIZASHI:
            kizashi_report = report
    out["labels"] = sum(len(expected_pairs(c)) for c in cases)
    return out, kizashi_report


# -- the run ------------------------------------------------------------------------------------
def run(settings: Settings, *, progress: Progress) -> ExtractResult | str:
    """The results, or a sentence saying why the benchmark was skipped."""
    s = settings
    try:
        from kizashi.text.extract import extract, extract_pairs
    except ImportError as exc:
        return f"skipped: kizashi.text.extract does not import ({type(exc).__name__}: {exc})"
    skipped: dict[str, str] = {}
    peers: dict[str, ioc_peers.Peer] = {}
    for name, peer in ioc_peers.PEERS.items():
        why = peer.available()
        if why:
            skipped[name] = why
        else:
            peers[name] = peer
    versions = {KIZASHI: "this tree", **{n: p.version for n, p in peers.items()}}
    config: dict[str, Any] = {"load_1min": [os.getloadavg()[0]]}
    res = ExtractResult(config, s, versions, skipped)

    progress("extract: building the corpus and the adversarial inputs ...")
    corpus = extract_data.build_corpus(s.corpus_bytes)
    doc = extract_data.document(s.doc_bytes)
    adversarial = extract_data.adversarial(s.adversarial_chars)
    if isinstance(corpus, str):
        skipped["throughput"] = skipped["document"] = f"skipped: {corpus}"
    else:
        config |= {"corpus_bytes": corpus.nbytes, "corpus_docs": len(corpus.docs)}
        config |= {"corpus_indicators": corpus.indicators, "corpus_sources": corpus.sources}
        config["bytes_per_indicator"] = round(corpus.bytes_per_indicator)

    # Warm every extractor up in the parent: the forked children inherit compiled patterns.
    sample = corpus.docs[0][:4000] if not isinstance(corpus, str) else "45.77.12.34 evil.com"
    warm: list[Raw] = [extract, *(p.raw for p in peers.values())]
    for fn in warm:
        fn(sample)

    loaded = extract_data.load_cases()
    if isinstance(loaded, str):
        skipped["accuracy"] = f"skipped: {loaded}"
    else:
        cases, counts = loaded
        config["cases"] = counts
        progress(f"extract: accuracy on {len(cases)} labelled cases ...")
        extractors: dict[str, tuple[Callable[[str], set[Pair]], list[str]]] = {
            KIZASHI: (extract_pairs, []),
            **{n: (p, p.errors) for n, p in peers.items()},
        }
        res.accuracy, report = accuracy(cases, extractors, s)
        if report is not None:
            from kizashi.text.extract.scoring import format_table

            res.kizashi_table = format_table(report)

    if not isinstance(corpus, str):
        docs = corpus.docs
        head = corpus.head(s.slice_bytes)
        head_bytes = sum(len(d.encode()) for d in head)
        config["slice_bytes"], config["slice_docs"] = head_bytes, len(head)
        progress(f"extract: throughput, kizashi and bare re over {corpus.nbytes / 1e6:.1f} MB ...")

        def passes(fn: Raw, budget: float) -> Callable[[list[str]], dict[str, Any]]:
            return lambda d: _passes(fn, d, s.repeats, budget)

        def ipv4(text: str) -> list[Any]:
            return list(RAW_IPV4.finditer(text))

        ct = s.corpus_timeout
        mine = run_forked(
            {
                KIZASHI: (passes(extract, ct / 2), [docs], ct),
                "raw-re": (passes(ipv4, ct / 2), [docs], ct),
                "kizashi-slice": (passes(extract, ct / 2), [head], ct),
            }
        )
        res.throughput = {
            KIZASHI: Rate(
                "kizashi extract, whole corpus", corpus.nbytes, len(docs), mine[KIZASHI][0]
            ),
            "raw-re": Rate(
                "bare re IPv4 finditer, whole corpus", corpus.nbytes, len(docs), mine["raw-re"][0]
            ),
            "kizashi-slice": Rate(
                f"kizashi extract, first {head_bytes / 1e3:,.0f} KB",
                head_bytes,
                len(head),
                mine["kizashi-slice"][0],
            ),
        }
        if peers:
            progress(f"extract: throughput of {', '.join(peers)} on {head_bytes / 1e3:,.0f} KB ...")
            st = s.slice_timeout
            theirs = run_forked(
                {n: (passes(p.raw, st / 2), [head], st) for n, p in peers.items()}, s.jobs
            )
            for n, outs in theirs.items():
                res.throughput[n] = Rate(f"{n}, same slice", head_bytes, len(head), outs[0])

    def calls(
        fns: Mapping[str, Raw], texts: list[str], timeout: float, parallel: int
    ) -> dict[str, list[Outcome]]:
        """One call per (extractor, text), each in its own child, best of up to
        ``s.repeats`` while that takes under a third of the timeout."""
        jobs = {
            f"{n}\t{i}": (lambda t, fn=fn: _timed(fn, t, s.repeats, timeout / 3), [t], timeout)
            for n, fn in fns.items()
            for i, t in enumerate(texts)
        }
        got = run_forked(jobs, parallel)
        return {n: [got[f"{n}\t{i}"][0] for i in range(len(texts))] for n in fns}

    raws = {n: p.raw for n, p in peers.items()}
    if doc is not None:
        progress(f"extract: one {len(doc.encode()) / 2**20:.1f} MiB document ...")
        dt = s.doc_timeout
        per = calls({KIZASHI: extract}, [doc], dt, 1) | calls(raws, [doc], dt, s.jobs)
        res.document = {n: outs[0] for n, outs in per.items()}

    progress(f"extract: {len(adversarial)} adversarial inputs of {s.adversarial_chars:,} chars ...")
    at, texts = s.adversarial_timeout, [t for _, t in adversarial]
    per = calls({KIZASHI: extract}, texts, at, 1) | calls(raws, texts, at, s.jobs)
    res.adversarial = {
        label: {name: outs[i] for name, outs in per.items()}
        for i, (label, _) in enumerate(adversarial)
    }
    config["load_1min"].append(os.getloadavg()[0])
    return res


# -- the report -----------------------------------------------------------------------------------
def _f(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def render(res: ExtractResult, env: dict[str, Any]) -> str:
    c, s = res.config, res.settings
    names = list(res.versions)
    out = [
        "Kizashi benchmark: indicator extraction against public extractors",
        f"machine: {env['cpus']} CPUs ({env['cpu']}), {env['memory_gib']} GiB, {env['platform']}",
        "extractors: " + ", ".join(f"{n} {v}" for n, v in res.versions.items()),
    ]
    out += [f"peer skipped: {n}: {why}" for n, why in res.skipped.items() if n in ioc_peers.PEERS]
    if "corpus_bytes" in c:
        out.append(
            f"corpus: {c['corpus_bytes'] / 1e6:.1f} MB in {c['corpus_docs']:,} documents "
            "of 2-32 KB, "
            f"{c['corpus_indicators']:,} generated indicators (one per {c['bytes_per_indicator']} "
            f"bytes); prose: {c['corpus_sources']['ja']}, {c['corpus_sources']['en']}"
        )
    out.append(
        "load average (1 min) at start and end: " + " / ".join(f"{v:.2f}" for v in c["load_1min"])
    )
    out.append("")

    acc = res.accuracy
    if "accuracy" in res.skipped:
        out += [f"Accuracy {res.skipped['accuracy']}", ""]
    elif acc:
        counts = ", ".join(f"{k} {v}" for k, v in c["cases"].items())
        out.append(
            f"Accuracy: micro P/R/F1 over (type, value) pairs; {sum(c['cases'].values())} cases "
            f"({counts}), {acc['labels']} labels"
        )
        sources = list(c["cases"])
        rows = []
        for n in names:
            a = acc[n]
            o, j = a["overall"], a["japanese"]
            rows.append(
                [
                    n,
                    _f(o["precision"]),
                    _f(o["recall"]),
                    _f(o["f1"]),
                    _f(j["precision"]),
                    _f(j["recall"]),
                    _f(j["f1"]),
                    _f(a["unflagged"]["f1"]),
                    *(_f(a["by_source"].get(src, {}).get("f1")) for src in sources),
                    str(len(a["cut"])),
                    str(a["errors"]),
                ]
            )
        hdr = ["extractor", "P", "R", "F1", "ja P", "ja R", "ja F1", "F1 unflagged"]
        hdr += [f"F1 {src.removesuffix('.yaml')}" for src in sources] + ["cut", "errors"]
        out += [table(hdr, rows)]
        out.append(
            "ja = the Japanese subset (lang ja and mixed); unflagged = without the documentation/"
            f"private labels; cut = cases killed after {s.case_timeout:g} s (scored as no output)"
        )
        for n in names:
            out += [f"  {n} cut: {x}" for x in acc[n]["cut"][:5]]
            out += [f"  {n} raised: {x}" for x in acc[n]["error_samples"][:3]]
        types = sorted({t for n in names for t in acc[n]["by_type"]})
        rows = []
        for t in types:
            k = acc[KIZASHI]["by_type"].get(t, {"tp": 0, "fn": 0})
            cells = []
            for n in names:
                sc = acc[n]["by_type"].get(t)
                cells.append(_f(sc["f1"]) if sc else "-")
            rows.append([t, str(k["tp"] + k["fn"]), *cells])
        out += ["", "F1 per type (labels = tp + fn)", table(["type", "labels", *names], rows)]
        out += ["", "Kizashi per type", res.kizashi_table, ""]

    tp = res.throughput
    if "throughput" in res.skipped:
        out += [f"Throughput {res.skipped['throughput']}", ""]
    elif tp:
        out.append(f"Throughput, one core, document by document (best of up to {s.repeats} passes)")
        rows = []
        for key, r in tp.items():
            if key == KIZASHI:
                ratio = ""
            elif key == "raw-re":
                ratio = _f(res.raw_ratio)
            elif key == "kizashi-slice":
                ratio = ""
            else:
                ratio = _f(res.kizashi_ratio(key), ".1f")
            timeout = (
                s.corpus_timeout if key in (KIZASHI, "raw-re", "kizashi-slice") else s.slice_timeout
            )
            rows.append(
                [
                    r.label,
                    f"{r.nbytes / 1e6:.2f}",
                    f"{r.docs:,}",
                    str(r.outcome.value["passes"]) if r.seconds else "-",
                    r.outcome.cell(timeout) if not r.seconds else f"{r.seconds:.2f}",
                    _f(r.mb_s, ".2f"),
                    ratio,
                ]
            )
        out += [table(["path", "MB", "docs", "passes", "seconds", "MB/s", "kizashi / this"], rows)]
        out += [
            "(kizashi / bare re: the share of a bare regex's speed; "
            "kizashi / peer: on the same slice)",
            "",
        ]

    if "document" in res.skipped:
        out += [f"1 MiB document {res.skipped['document']}", ""]
    elif res.document:
        out.append(f"One realistic document of {s.doc_bytes / 2**20:.0f} MiB, one call")
        rows = [
            [
                n,
                o.cell(s.doc_timeout) if o.status != "ok" else f"{o.value['seconds']:.3f}",
                str(o.value["hits"]) if o.status == "ok" else "-",
            ]
            for n, o in res.document.items()
        ]
        out += [table(["extractor", "seconds", "items"], rows), ""]

    if res.adversarial:
        out.append(
            f"Adversarial inputs of n = {s.adversarial_chars:,} characters, one call each "
            f"(seconds; killed after {s.adversarial_timeout:g} s)"
        )
        rows = []
        for label, row in res.adversarial.items():
            rows.append(
                [
                    label,
                    *(
                        o.cell(s.adversarial_timeout)
                        if o.status != "ok"
                        else f"{o.value['seconds']:.3f}"
                        for o in row.values()
                    ),
                ]
            )
        out += [table(["input", *names], rows), ""]

    out.append("Targets")
    whole = res.throughput.get(KIZASHI)
    if whole is not None:
        rate = whole.mb_s or 0.0
        out.append(
            f"  kizashi over the {whole.nbytes / 1e6:.0f} MB corpus {rate:.2f} MB/s "
            f"(target >= {TARGET_MB_S:g} MB/s, one core): " + verdict(rate >= TARGET_MB_S)
        )
    d = res.document.get(KIZASHI)
    if d is not None:
        secs = d.value["seconds"] if d.status == "ok" else math.inf
        out.append(
            f"  kizashi on the 1 MiB document {_f(secs)} s (target < {TARGET_DOC_S} s): "
            + verdict(secs < TARGET_DOC_S)
        )
    mine = [row[KIZASHI] for row in res.adversarial.values() if KIZASHI in row]
    if mine:
        worst = max(o.value["seconds"] if o.status == "ok" else math.inf for o in mine)
        out.append(
            f"  kizashi worst adversarial input {_f(worst)} s "
            f"(target < {TARGET_ADVERSARIAL_S:g} s): " + verdict(worst < TARGET_ADVERSARIAL_S)
        )
    if acc and len(names) > 1:
        for key, label in (("overall", "F1"), ("japanese", "Japanese F1")):
            best = max(names[1:], key=lambda n: acc[n][key]["f1"])
            mine_f1, theirs = acc[KIZASHI][key]["f1"], acc[best][key]["f1"]
            out.append(
                f"  (information) kizashi {label} {mine_f1:.3f}, best peer {best} {theirs:.3f}"
            )
    return "\n".join(out)
