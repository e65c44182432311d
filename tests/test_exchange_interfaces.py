"""Import and export through the API and the CLI, and a third-party format plugin
installed from tests/plugins and used from both without touching Kizashi (issue 19)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizashi.config import Settings
from kizashi.formats import registry
from kizashi.model.actor import SYSTEM
from kizashi.model.errors import KizashiError
from kizashi.server import create_app
from kizashi.services import Kizashi
from support import bundle

PLUGIN = Path(__file__).parent / "plugins" / "kizashi-format-lines"
KIZASHI = Path(sys.executable).parent / "kizashi"
MALWARE = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"


def malware(modified: str = "2024-01-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": MALWARE,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": "Poison Ivy",
        "is_family": True,
    }


def token(kz: Kizashi, username: str, role: str) -> dict[str, str]:
    kz.users.create(SYSTEM, username, f"{username}-password-long", role)
    made, _ = kz.users.create_token(kz.users.get_actor(username), "tests")
    return {"Authorization": f"Bearer {made}"}


@pytest.fixture
def client(kz: Kizashi, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret", import_max_bytes=4096)
    with TestClient(create_app(settings, kz)) as c:
        yield c


def wait_for(client: TestClient, headers: dict[str, str], job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(f"/api/v1/import/jobs/{job['id']}", headers=headers).json()
    return job


# -- the API ------------------------------------------------------------------------------------


def test_api_preview_then_import_as_a_job_then_export(
    client: TestClient, kz: Kizashi, tmp_path: Path
) -> None:
    ana = token(kz, "ana", "analyst")
    data = bundle(malware(), {"type": "indicator", "id": "indicator--x"})
    preview = client.post("/api/v1/import?preview=true", content=data, headers=ana)
    assert preview.status_code == 200
    body = preview.json()
    assert body["written"] is False and body["counts"]["new"] == 1
    assert body["counts"]["invalid"] == 1 and body["problems"][0]["where"] == "id"
    with pytest.raises(KizashiError):
        kz.objects.get(SYSTEM, MALWARE)
    started = client.post("/api/v1/import", content=data, headers=ana)
    assert started.status_code == 202
    assert started.headers["location"] == f"/api/v1/import/jobs/{started.json()['id']}"
    job = wait_for(client, ana, started.json())
    assert job["status"] == "done", job
    assert job["result"]["counts"]["new"] == 1 and job["done"] == 2
    assert kz.objects.get(SYSTEM, MALWARE).name == "Poison Ivy"
    # The uploads are not left behind in the data directory.
    assert not list((tmp_path / "data" / "tmp").glob("import-*"))
    # Someone else does not see the job.
    rei = token(kz, "rei", "reader")
    assert client.get(f"/api/v1/import/jobs/{job['id']}", headers=rei).status_code == 404
    out = client.get("/api/v1/export", params={"type": "malware"}, headers=rei)
    assert out.status_code == 200
    assert out.headers["content-type"].startswith("application/stix+json")
    assert [o["id"] for o in out.json()["objects"]] == [MALWARE]


def test_api_refuses_readers_bad_files_and_oversized_uploads(
    client: TestClient, kz: Kizashi
) -> None:
    rei = token(kz, "rei", "reader")
    assert client.post("/api/v1/import", content=bundle(malware()), headers=rei).status_code == 403
    ana = token(kz, "ana", "analyst")
    bad = client.post("/api/v1/import?format=stix&preview=true", content=b"{nope", headers=ana)
    assert bad.status_code == 400
    assert "Nothing was stored" in bad.json()["error"]["message"]
    job = client.post(
        "/api/v1/import?format=stix", content=b'{"type": "bundle", "objects": [', headers=ana
    )
    done = wait_for(client, ana, job.json())
    assert done["status"] == "failed" and "not complete JSON" in done["error"]
    unknown = client.post("/api/v1/import", content=b"hello", headers=ana)
    assert (
        unknown.status_code == 422 and "No format recognises" in unknown.json()["error"]["message"]
    )
    big = client.post("/api/v1/import", content=b" " * 5000 + bundle(malware()), headers=ana)
    assert big.status_code == 413
    assert "4096 bytes" in big.json()["error"]["message"]
    # The larger limit is the import's alone.
    assert client.post("/api/v1/objects", content=b" " * 5000, headers=ana).status_code in (
        400,
        422,
    )
    assert client.get("/api/v1/export?format=nope", headers=ana).status_code == 422


def test_formats_are_listed(client: TestClient, kz: Kizashi) -> None:
    rei = token(kz, "rei", "reader")
    found = {f["name"]: f for f in client.get("/api/v1/formats", headers=rei).json()}
    assert found["stix"]["read"] and found["stix"]["write"]
    assert found["stix"]["media_type"] == "application/stix+json;version=2.1"


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_import_preview_stdin_and_export(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(bundle(malware()))
    said = run("import", "--preview", str(path))
    assert "would import (preview: nothing stored): 1 new" in said
    assert "1 new" in run("import", str(path))
    assert "1 unchanged" in run("import", "-", stdin=bundle(malware()).decode())
    assert '"updated": 1' in run(
        "import", "--json", "-", stdin=bundle(malware("2025-01-01T00:00:00.000Z")).decode()
    )
    out = tmp_path / "out.json"
    run("export", "--type", "malware", "-o", str(out))
    assert [o["modified"] for o in json.loads(out.read_text())["objects"]] == [
        "2025-01-01T00:00:00.000Z"
    ]
    assert "No file" in run("import", str(tmp_path / "missing.json"), code=2)


# -- a third-party format ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed as a user would (pip, from its own source tree) into a
    folder of its own, added to the path of the processes that should see it."""
    target = tmp_path_factory.mktemp("plugins")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (target / "kizashi_format_lines").is_dir()
    return target


def cli(
    args: list[str], env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(KIZASHI), *args], check=False, input=stdin, env=env, capture_output=True, timeout=120
    )


def test_a_plugin_format_works_from_the_cli(plugin_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "KIZASHI_DATA_DIR": str(tmp_path / "data")}
    env.pop("KIZASHI_DATABASE_URL", None)
    lines = b"ipv4-addr\t198.51.100.7\ndomain-name\tevil.example\nbogus\tx\n"
    # Without the plugin on the path, Kizashi does not know the format.
    refused = cli(["import", "-f", "lines", "-"], env, lines)
    assert refused.returncode == 2 and b"No format 'lines'" in refused.stderr
    env["PYTHONPATH"] = str(plugin_dir)
    done = cli(["import", "-"], env, lines)  # recognised by the plugin's sniff
    assert done.returncode == 0, done.stderr
    assert b"3 objects read (lines)" in done.stdout and b"2 new" in done.stdout
    assert b"#2" in done.stderr and b"not 'type<TAB>value'" in done.stderr
    out = cli(["export", "-f", "lines", "--type", "ipv4-addr", "--type", "domain-name"], env)
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.decode().splitlines()) == [
        "domain-name\tevil.example",
        "ipv4-addr\t198.51.100.7",
    ]
    stix = cli(["export", "--type", "ipv4-addr"], env)
    assert json.loads(stix.stdout)["objects"][-1]["value"] == "198.51.100.7"


def test_a_plugin_format_works_from_the_api(
    plugin_dir: Path, client: TestClient, kz: Kizashi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(plugin_dir))
    registry.reload()
    try:
        ana = token(kz, "ana", "analyst")
        names = [f["name"] for f in client.get("/api/v1/formats", headers=ana).json()]
        assert {"lines", "stix"} <= set(names)
        job = client.post(
            "/api/v1/import?format=lines", content=b"url\thttp://evil.example/a\n", headers=ana
        )
        assert wait_for(client, ana, job.json())["result"]["counts"]["new"] == 1
        out = client.get("/api/v1/export", params={"format": "lines", "type": "url"}, headers=ana)
        assert out.status_code == 200 and out.text == "url\thttp://evil.example/a\n"
        assert out.headers["content-disposition"].endswith('kizashi-export.txt"')
    finally:
        monkeypatch.undo()
        registry.reload()
    assert "lines" not in registry.available()


def test_a_plugin_format_works_from_the_ui(
    plugin_dir: Path, web: TestClient, kz: Kizashi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_exchange_pages import finished, login, token_of, totals, upload

    monkeypatch.syspath_prepend(str(plugin_dir))
    registry.reload()
    try:
        csrf = login(web, "ana", "analyst-password")
        form = web.get("/import").text
        assert '<option value="lines">Indicator lines (type, tab, value) (lines)</option>' in form
        lines = b"ipv4-addr\t198.51.100.9\nbogus\tx\n"
        preview = upload(web, csrf, lines)  # recognised by the plugin's sniff
        assert preview.status_code == 200, preview.text
        assert "Indicator lines" in preview.text
        assert totals(preview.text)["new"] == 1 and totals(preview.text)["invalid"] == 1
        assert "not &#39;type&lt;TAB&gt;value&#39;" in preview.text
        done = web.post(
            "/import/confirm",
            data={"csrf": csrf, "token": token_of(preview.text), "format": "lines"},
            follow_redirects=False,
        )
        assert 'data-status="done"' in finished(web, done.headers["location"])
        assert [v.name for v in kz.objects.list(SYSTEM, types=["ipv4-addr"]).items] == [
            "198.51.100.9"
        ]
    finally:
        monkeypatch.undo()
        registry.reload()
