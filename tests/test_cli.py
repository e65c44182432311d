"""The `kizashi` command line, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import stix2
from typer.main import get_command
from typer.testing import CliRunner

from kizashi.cli import app


def test_add_report_from_file_with_tags_prints_json(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = tmp_path / "report.md"
    body.write_text("# 概要\n\n国内の製造業を狙った攻撃。", encoding="utf-8")
    out = run(
        "add",
        "report",
        "--title",
        "標的型攻撃の報告",
        "--text-file",
        str(body),
        "--tag",
        "ランサムウェア",
        "--tag",
        "TLP:AMBER",
        "--published",
        "2024-05-01",
        "--json",
    )
    obj = json.loads(out)
    assert obj["id"].startswith("report--")
    assert obj["name"] == "標的型攻撃の報告"
    assert obj["stix"]["description"] == "# 概要\n\n国内の製造業を狙った攻撃。"
    assert obj["stix"]["published"] == "2024-05-01T00:00:00Z"
    assert obj["tags"] == ["tlp:amber", "ランサムウェア"]

    listed = json.loads(run("list", "--tag", "ランサムウェア", "--json"))
    assert [o["id"] for o in listed] == [obj["id"]]
    assert json.loads(run("list", "--tag", "nothing-has-this", "--json")) == []
    shown = json.loads(run("show", obj["id"], "--json"))
    assert shown["stix"] == obj["stix"]


def test_observable_twice_is_one_object(run) -> None:  # type: ignore[no-untyped-def]
    a = json.loads(run("add", "observable", "domain-name", "evil.example", "--json"))
    b = json.loads(run("add", "observable", "domain-name", "evil.example", "--tag", "c2", "--json"))
    assert a["id"] == b["id"]
    assert b["tags"] == ["c2"]
    assert len(json.loads(run("list", "--type", "domain-name", "--json"))) == 1
    f = json.loads(
        run(
            "add",
            "observable",
            "file",
            "d41d8cd98f00b204e9800998ecf8427e",
            "--hash",
            "MD5",
            "--json",
        )
    )
    assert f["stix"]["hashes"] == {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}
    asn = json.loads(run("add", "observable", "autonomous-system", "AS2914", "--json"))
    assert asn["stix"]["number"] == 2914


def test_tag_untag_relate_history_revoke(run) -> None:  # type: ignore[no-untyped-def]
    rep = json.loads(run("add", "report", "--title", "r", "--json"))["id"]
    actor = json.loads(
        run("add", "entity", "threat-actor", "APT-兆", "--alias", "Kizashi Panda", "--json")
    )
    assert actor["stix"]["aliases"] == ["Kizashi Panda"]
    tags = json.loads(run("tag", rep, "apt", "tlp:green", "--json"))["tags"]
    assert tags == ["apt", "tlp:green"]
    assert json.loads(run("untag", rep, "apt", "--json"))["tags"] == ["tlp:green"]
    rel = json.loads(run("relate", rep, "related-to", actor["id"], "--confidence", "70", "--json"))
    assert rel["stix"]["source_ref"] == rep
    assert rel["stix"]["target_ref"] == actor["id"]
    run("relate", rep, "related-to", "threat-actor--00000000-0000-4000-8000-000000000000", code=2)
    assert json.loads(run("revoke", actor["id"], "--json"))["revoked"] is True
    history = json.loads(run("history", actor["id"], "--json"))
    assert [h["version"] for h in history] == [2, 1]
    assert json.loads(run("restore", actor["id"], "--json"))["revoked"] is False


def test_entities_indicators_notes(run) -> None:  # type: ignore[no-untyped-def]
    ind = json.loads(
        run("add", "indicator", "--pattern", "[ipv4-addr:value = '198.51.100.7']", "--json")
    )
    assert ind["type"] == "indicator"
    mal = json.loads(run("add", "entity", "malware", "Kiza", "--family", "--json"))
    assert mal["stix"]["is_family"] is True
    note = json.loads(run("add", "note", "--about", mal["id"], "--text", "メモ", "--json"))
    assert note["stix"]["object_refs"] == [mal["id"]]
    out = run("add", "indicator", "--pattern", "[ipv4-addr:value = ", code=2)
    assert "pattern" in out


def test_errors_are_clear_and_exit_2(run) -> None:  # type: ignore[no-untyped-def]
    out = run("add", "entity", "unicorn", "x", code=2)
    assert "unknown_type" in out
    out = run("show", "report--00000000-0000-4000-8000-000000000000", code=2)
    assert "not_found" in out
    out = run("tag", "report--00000000-0000-4000-8000-000000000000", "x", code=2)
    assert "was not found" in out


def test_export_json_is_a_valid_bundle(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("add", "report", "--title", "共有する報告", "--tag", "tlp:amber", "--tag", "apt")
    run("add", "observable", "ipv4-addr", "203.0.113.9", "--tag", "apt")
    target = tmp_path / "bundle.json"
    run("export-json", "--tag", "apt", "-o", str(target))
    bundle = json.loads(target.read_text(encoding="utf-8"))
    parsed = stix2.parse(bundle, allow_custom=False)
    types = sorted(o.type for o in parsed.objects)
    assert types == ["ipv4-addr", "marking-definition", "report"]
    report = next(o for o in bundle["objects"] if o["type"] == "report")
    assert report["labels"] == ["apt"]
    assert report["object_marking_refs"] == [
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    ]


def test_users_tokens_taxonomies(run) -> None:  # type: ignore[no-untyped-def]
    run("user", "add", "alice", "--role", "admin", "--password", "alice-password")
    token = run("token", "create", "--user", "alice", "--name", "script").strip()
    assert token.startswith("kz_")
    users = json.loads(run("user", "list", "--json"))
    assert [u["username"] for u in users] == ["alice"]
    run("taxonomy", "enable", "workflow")
    enabled = {t["namespace"] for t in json.loads(run("taxonomy", "list", "--enabled", "--json"))}
    assert {"tlp", "PAP", "admiralty-scale", "workflow"} <= enabled
    rep = json.loads(run("add", "report", "--title", "r", "--json"))["id"]
    run("tag", rep, 'workflow:state="complete"')
    out = run("tag", rep, 'workflow:state="bogus"', code=2)
    assert "workflow" in out


def test_kizashi_user_attributes_work(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    run("user", "add", "rei", "--role", "reader", "--password", "reader-password")
    monkeypatch.setenv("KIZASHI_USER", "rei")
    out = run("add", "report", "--title", "r", code=2)
    assert "forbidden" in out


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help() -> None:
    runner = CliRunner()
    paths = list(_commands(get_command(app)))
    assert {("add", "report"), ("list",), ("export-json",), ("relate",), ("run",)} <= set(paths)
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage" in result.output
        cmd = get_command(app)
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        assert cmd.help, f"{' '.join(path)} has no help text"


def test_run_creates_the_first_admin_once_and_says_how_to_log_in(tmp_path: Path) -> None:
    """`kizashi run` on an empty data directory: migrate, make an admin, print the login."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    def start(port: int) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"run-{port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIZASHI_")}
        env |= {"KIZASHI_DATA_DIR": str(tmp_path / "data"), "KIZASHI_PORT": str(port)}
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kizashi", "run"], env=env, stdout=fh, stderr=fh
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        return proc, log

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    port = free_port()
    proc, log = start(port)
    try:
        text = log.read_text()
        found = re.search(r"as admin with password (\S+) ", text)
        assert found, text
        password = found.group(1)
        assert f"http://127.0.0.1:{port}/" in text
        assert (tmp_path / "data" / "kizashi.db").exists()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True) as client:
            page = client.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf
            r = client.post(
                "/login", data={"username": "admin", "password": password, "csrf": csrf.group(1)}
            )
            assert r.status_code == 200
            assert "兆し Kizashi" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # A second start keeps the admin and prints no new password.
    proc, log = start(free_port())
    proc.terminate()
    proc.wait(timeout=20)
    assert "with password" not in log.read_text()
