"""``kizashi extract``, ``lookup``, ``reextract`` and ``attack load``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import shared_data

TEXT = "侵害の痕跡：hxxps://evil[.]top/a.php と １９２．０．２．１０、CVE-2024-3400。\n"


def test_extract_prints_json_lines_without_a_store(tmp_path: Path) -> None:
    """A separate process with no database configured anywhere: nothing is opened."""
    env = {
        "PATH": "/usr/bin:/bin",
        "KIZASHI_DATABASE_URL": "postgresql://nobody@192.0.2.1/x",
        "KIZASHI_DATA_DIR": str(tmp_path / "absent"),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kizashi"), "extract", "-"],
        input=TEXT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    hits = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(h["type"], h["value"]) for h in hits] == [
        ("url", "https://evil.top/a.php"),
        ("domain", "evil.top"),
        ("ipv4", "192.0.2.10"),
        ("cve", "CVE-2024-3400"),
    ]
    ip = hits[2]
    assert TEXT[ip["start"] : ip["end"]] == "１９２．０．２．１０"
    assert ip["flags"][0] == "documentation"  # then the warning lists that hold it too
    assert not (tmp_path / "absent").exists()


def test_extract_reads_a_file_and_can_drop_flagged(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.txt"
    path.write_text(TEXT, encoding="utf-8")
    lines = run("extract", str(path), "--drop-flagged").splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["url", "domain", "cve"]
    assert "cannot read" in run("extract", str(tmp_path / "missing.txt"), code=2)


def test_lookup_one_value_a_list_and_a_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("add", "report", "--title", "r", "--text", TEXT, "--published", "2025-01-02")
    one = json.loads(run("lookup", "evil[.]top", "--json"))
    assert (one[0]["value"], one[0]["known"], one[0]["reports"]) == ("evil.top", True, 1)
    values = tmp_path / "values.txt"
    values.write_text("\n".join(["CVE-2024-3400", *(f"10.0.0.{i}" for i in range(200))]))
    known = json.loads(run("lookup", "--file", str(values), "--known", "--json"))
    assert [r["value"] for r in known] == ["CVE-2024-3400"]
    piped = json.loads(run("lookup", "--file", "-", "--json", stdin="https://evil.top/a.php\n"))
    assert piped[0]["type"] == "url" and piped[0]["known"]
    assert "give values" in run("lookup", code=2)


def test_reextract_reports_progress_and_count(run) -> None:  # type: ignore[no-untyped-def]
    run("add", "report", "--title", "r", "--text", TEXT, "--published", "2025-01-02")
    assert "1 report(s) read again" in run("reextract")


def test_attack_load_links_ids_to_the_real_objects(run) -> None:  # type: ignore[no-untyped-def]
    bundle = shared_data("attack", "ics-attack-17.1.json")
    created = json.loads(
        run(
            "add",
            "report",
            "--title",
            "r",
            "--text",
            "Seen: T0801, T0000 and tactic TA0104.",
            "--published",
            "2025-01-02",
            "--json",
        )
    )
    out = run("attack", "load", str(bundle))
    assert "ATT&CK object(s) loaded" in out
    again = run("attack", "load", str(bundle))
    assert again.startswith("0 ATT&CK object(s) loaded")
    shown = json.loads(run("show", created["id"], "--json"))
    refs = shown["stix"]["object_refs"]
    technique = json.loads(
        run("show", next(r for r in refs if r.startswith("attack-pattern")), "--json")
    )
    assert technique["stix"].get("x_kizashi_stub") is None
    assert technique["name"] != "T0801"  # the real name, e.g. "Monitor Process State"
    tactic = json.loads(
        run("show", next(r for r in refs if r.startswith("x-mitre-tactic")), "--json")
    )
    assert tactic["stix"].get("x_kizashi_stub") is None and tactic["name"] != "TA0104"
    assert "not a readable JSON bundle" in run("attack", "load", str(__file__), code=2)
