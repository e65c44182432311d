"""The index never loses an update: outbox order on PostgreSQL, a SIGKILL between the
database commit and the index commit, several processes and machines, rebuilds."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kizashi.model.actor import SYSTEM
from kizashi.search import documents
from kizashi.search.index import SearchIndex
from kizashi.search.sync import Follower
from kizashi.services import Kizashi
from kizashi.store import search as repo
from kizashi.store.mentions import pks_by_ids as repo_pks
from kizashi.store.search import DocRow

SRC = str(Path(__file__).resolve().parents[1] / "src")


def note(kz: Kizashi, text: str) -> str:
    view, _ = kz.objects.create(
        SYSTEM,
        {
            "type": "note",
            "content": text,
            "object_refs": ["identity--5a2f4c39-0bd4-4d33-a1de-c1b5d3a5f001"],
        },
    )
    return view.id


def settle(follower: Follower) -> None:
    """Catch up until nothing is left. On PostgreSQL, with another session's transaction
    open (the cluster's other test processes), the first catch-up after a rebuild applies
    the rows above that transaction's xmin again, once: harmless, and not what a test
    that counts what one change re-applies is about."""
    for _ in range(5):
        if not follower.catch_up():
            return
    raise AssertionError("the follower kept finding changes")


def total(kz: Kizashi, query: str) -> int:
    return kz.search.search(SYSTEM, query).total


@pytest.mark.postgres
def test_a_late_commit_with_an_earlier_key_is_not_skipped(pg_url: str) -> None:
    """PostgreSQL hands out keys before commit: a transaction that took its key first
    and commits last must still reach the index. (SQLite has one writer at a time, so
    its keys commit in order.)"""
    kz = Kizashi.open(pg_url)
    kz.search.follower.catch_up()
    with kz.store.engine.connect() as slow:
        tx = slow.begin()
        kz.objects.create_in(
            slow,
            SYSTEM,
            {
                "type": "note",
                "content": "遅いトランザクション",
                "object_refs": [SYSTEM.identity_ref],
            },
        )
        note(kz, "速いトランザクション")  # takes its key later, commits first
        assert total(kz, "速い") == 1
        assert total(kz, "遅い") == 0
        tx.commit()
    assert total(kz, "遅い") == 1
    assert total(kz, "トランザクション") == 2
    applied = kz.search.follower.applied
    kz.search.follower.catch_up()
    assert kz.search.follower.applied == applied  # nothing is read twice
    kz.close()


def test_outbox_rows_are_pruned_once_read(kz: Kizashi) -> None:
    for i in range(5):
        note(kz, f"prune {i}")
    kz.search.follower.catch_up()
    note(kz, "prune last")
    kz.search.follower.catch_up()
    with kz.store.read() as conn:
        left = repo.pending(conn, 0) if conn.dialect.name == "sqlite" else None
    # Everything but what arrived after the last recorded position is gone.
    assert left is None or left <= 2
    assert total(kz, "prune") == 6


def test_an_object_changed_many_times_is_rebuilt_once_per_read(kz: Kizashi) -> None:
    ids = [note(kz, f"spread {i}") for i in range(3)]
    follower = kz.search.follower
    follower.catch_up()
    follower.batch = 2  # two objects per index commit
    for round_ in range(8):  # each object's rows spread over the outbox, as a rule run's are
        for stix_id in ids:
            kz.tags.tag(SYSTEM, stix_id, [f"round-{round_}"])
    rebuilt = follower.catch_up()
    if kz.store.engine.dialect.name == "sqlite":
        assert rebuilt == 3
    else:
        # PostgreSQL settles rows below the cluster's oldest open transaction (xmin):
        # other sessions' transactions (another test process) can split the backlog
        # between any two rounds, but an object is never rebuilt twice for one round.
        assert 3 <= rebuilt <= 3 * 8
    assert total(kz, "tag:round-7") == 3 and total(kz, "spread") == 3


def test_the_settled_backlog_names_each_object_once_and_skips_nothing(kz: Kizashi) -> None:
    ids = [note(kz, f"backlog {i}") for i in range(10)]
    with kz.store.read() as conn:
        notes = set(repo_pks(conn, ids).values())
    follower = kz.search.follower
    follower.catch_up()
    start = follower.index.position()
    for round_ in range(5):  # every object's rows spread over the whole backlog
        for stix_id in ids:
            kz.tags.tag(SYSTEM, stix_id, [f"wave-{round_}"])
    # On PostgreSQL the backlog is what is below the cluster's oldest open transaction:
    # another test process's transaction can hold a part back for a moment.
    for _ in range(200):
        with kz.store.read() as conn:
            whole = repo.backlog(conn, start.position, dict(start.read_above), max_objects=100)
        if notes <= set(whole.object_pks):
            break
        time.sleep(0.05)
    with kz.store.read() as conn:
        # Each object once. On PostgreSQL the objects written before the first catch-up
        # (a rebuild) above another session's xmin come round once more: harmless.
        assert len(whole.object_pks) == len(set(whole.object_pks)) and not whole.more
        assert notes <= set(whole.object_pks)
        if kz.store.engine.dialect.name == "sqlite":
            assert set(whole.object_pks) == notes
        # Three at a time: the position stops before the first object left out.
        seen: set[int] = set()
        position, above = start.position, dict(start.read_above)
        for _ in range(10):
            part = repo.backlog(conn, position, above, max_objects=3)
            assert len(part.object_pks) <= 3 and part.position >= position
            seen |= set(part.object_pks)
            position, above = part.position, part.read_above
            if not part.more:
                break
        assert seen == set(whole.object_pks)
    follower.batch = 2
    rebuilt = follower.catch_up()  # each object once, one index commit per two
    # PostgreSQL: split by other sessions' transactions, never twice for one round.
    assert rebuilt == 10 if kz.store.engine.dialect.name == "sqlite" else 10 <= rebuilt <= 50
    assert total(kz, "tag:wave-4") == 10 and total(kz, "backlog") == 10


def test_a_change_that_leaves_the_text_alone_reuses_the_stored_analysis(
    kz: Kizashi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule run tags every item: the index rebuilds each from what it kept of the
    text's analysis, and analyses a text again only when the text changed."""
    stix_id = note(kz, "暗号鍵を盗むマルウェア steals keys from 10.0.0.7")
    follower = kz.search.follower
    settle(follower)
    analysed: list[str] = []
    real = documents.TextFields.of.__func__  # type: ignore[attr-defined]

    def counting(cls: type, title: str, body: str) -> documents.TextFields:
        analysed.append(body)
        return real(cls, title, body)

    monkeypatch.setattr(documents.TextFields, "of", classmethod(counting))
    kz.tags.tag(SYSTEM, stix_id, ["tlp:amber", "stealer"])
    assert follower.catch_up() == 1
    assert analysed == []
    # The reused analysis serves every kind of term: words, bigrams, indicators.
    for query in ("tag:stealer", "マルウェア", "鍵", "steal", "10.0.0.7", "tlp:amber"):
        assert total(kz, query) == 1, query
    kz.objects.update(SYSTEM, stix_id, {"content": "新しい本文 with other words"})
    assert follower.catch_up() == 1
    assert analysed == ["新しい本文 with other words"]
    assert total(kz, "本文") == 1 and total(kz, "マルウェア") == 0
    assert total(kz, "tag:stealer") == 1


def test_a_stored_analysis_is_used_only_for_the_text_it_was_made_from() -> None:
    row = DocRow(
        7,
        "note--x",
        "note",
        "",
        None,
        None,
        None,
        "2024-05-01T00:00:00Z",
        None,
        False,
        {"content": "ランサムウェア攻撃"},
        None,
        [],
        None,
    )
    fresh = documents.build(row)
    assert fresh is not None
    stored = documents.TextFields.decode(fresh.fields["analysed"], "ja", [(0, 9, "ja")])
    assert stored is not None and stored.body_runs == ["ランサムウェア攻撃"]
    rebuilt = documents.build(row, stored)
    assert rebuilt is not None and rebuilt.fields == fresh.fields
    # Another text: the stored analysis (here of nonsense words) is not used.
    other = replace(
        stored, body_words="nonsense", stored=b"", digest=documents.digest("", "別の本文")
    )
    assert documents.build(row, other).fields["body_w"] == fresh.fields["body_w"]  # type: ignore[union-attr]
    misled = replace(stored, body_words="nonsense", stored=b"")
    assert documents.build(row, misled).fields["body_w"] == "nonsense"  # type: ignore[union-attr]
    # A stored form this version cannot read is no analysis at all.
    for data in (b"", b"{", b'{"v": 0}', b'{"v": 1, "d": "x"}', b"[1]"):
        assert documents.TextFields.decode(data, None, []) is None


def test_a_second_index_on_the_same_directory_reads_what_the_writer_commits(
    kz: Kizashi, tmp_path: Path
) -> None:
    writer = SearchIndex(tmp_path / "ix")
    reader = SearchIndex(tmp_path / "ix")
    assert writer.writable and not reader.writable
    follower = Follower(kz.store, writer)
    note(kz, "共有インデックス")
    follower.catch_up()
    reader.refresh()
    assert reader.count() == writer.count() > 0
    writer.close()
    assert reader.try_write()  # the writer went away: the reader takes over
    reader.close()


def test_the_writer_remembers_its_position_and_reads_its_own_commits(
    kz: Kizashi, tmp_path: Path
) -> None:
    # The writer does not reload its reader at each commit (a reload right after one
    # can wait 100 ms on tantivy's meta lock): its position is the one it committed,
    # the same that another process reads from the index, and its first read after a
    # commit sees it.
    writer = SearchIndex(tmp_path / "ix")
    follower = Follower(kz.store, writer)
    for round_ in range(3):
        note(kz, f"位置の記録 {round_}")
        assert follower.catch_up() >= 1
        settle(follower)
        remembered = writer.position()
        reader = SearchIndex(tmp_path / "ix", write=False)
        stored = reader.position()
        assert remembered.built and stored.built
        assert (remembered.position, dict(remembered.read_above), remembered.synced_at) == (
            stored.position,
            dict(stored.read_above),
            stored.synced_at,
        )
        assert writer.count() == reader.count() == round_ + 1 + 1  # notes + the identity
    writer.close()


def test_a_lost_or_new_index_is_rebuilt_from_the_database(db_url: str, tmp_path: Path) -> None:
    kz = Kizashi.open(db_url, search_dir=tmp_path / "a")
    for i in range(12):
        note(kz, f"再構築 {i}")
    assert total(kz, "再構築") == 12
    kz.close()
    again = Kizashi.open(db_url, search_dir=tmp_path / "elsewhere")
    assert again.search.index.position().built is False
    assert total(again, "再構築") == 12
    again.close()


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from kizashi.model.actor import SYSTEM
    from kizashi.services import Kizashi

    url, where = sys.argv[1], Path(sys.argv[2])
    kz = Kizashi.open(url, search_dir=where)
    def note(i):
        kz.objects.create(SYSTEM, {"type": "note", "content": f"crashmarker item{i}",
                                   "object_refs": [SYSTEM.identity_ref]})
    for i in range(30):
        note(i)
    kz.search.follower.catch_up()
    for i in range(30, 45):
        note(i)  # committed to the database, never to the index
    print("killing", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_sigkill_between_database_and_index_heals_on_restart(db_url: str, tmp_path: Path) -> None:
    where = tmp_path / "search"
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, db_url, str(where)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "killing" in proc.stdout
    kz = Kizashi.open(db_url, search_dir=where)
    index = kz.search.index
    assert index.writable  # the dead process's lock went with it
    # What the index had when the process died: the first 30 only.
    kz.search.sync_on_query = False
    assert total(kz, "crashmarker") == 30
    # On restart the background follower catches up by itself.
    kz.search.follower.interval = 0.1
    kz.search.follower.start()
    deadline = time.monotonic() + 60
    while total(kz, "crashmarker") < 45 and time.monotonic() < deadline:
        time.sleep(0.1)
    kz.search.follower.stop()
    assert total(kz, "crashmarker") == 45
    for i in (0, 29, 30, 44):
        assert total(kz, f"crashmarker item{i}") == 1  # each exactly once
    kz.close()


FOLLOWER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kizashi.model.actor import SYSTEM
    from kizashi.services import Kizashi

    url, where, word = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    kz = Kizashi.open(url, search_dir=where, search_sync_seconds=0.2)
    kz.search.sync_on_query = False      # only the background follower moves this index
    kz.search.follower.catch_up()
    kz.search.follower.start()
    print("ready", flush=True)
    started = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = sys.stdin.readline().strip() if started is None else ""
        if line == "go":
            started = time.monotonic()
        if started is not None and kz.search.search(SYSTEM, word).total == 1:
            print(f"found {time.monotonic() - started:.3f}", flush=True)
            break
        time.sleep(0.05)
    kz.search.follower.stop()
    kz.close()
    """
)


@pytest.mark.postgres
def test_two_processes_with_their_own_index_converge(pg_url: str, tmp_path: Path) -> None:
    """Two API processes on two machines: each has its own index following one outbox."""
    db_url = pg_url
    kz = Kizashi.open(db_url, search_dir=tmp_path / "machine-a")
    kz.search.follower.catch_up()
    word = "convergemarker"
    env = {**os.environ, "PYTHONPATH": SRC}
    other = subprocess.Popen(
        [sys.executable, "-c", FOLLOWER, db_url, str(tmp_path / "machine-b"), word],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == "ready"
        note(kz, f"{word} 新しい報告")
        assert total(kz, word) == 1  # the writing process reads its own write
        other.stdin.write("go\n")
        other.stdin.flush()
        out, err = other.communicate(timeout=120)
    finally:
        other.kill()
    assert out.startswith("found"), err
    kz.close()


def test_an_object_the_index_cannot_take_holds_nothing_back(
    kz: Kizashi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One object whose document cannot be built, one that tantivy refuses: both are
    logged by pk and left at their earlier version; the rest of the change is indexed
    and the index's position moves on."""
    from kizashi.search import sync

    good = note(kz, "good one")
    broken = note(kz, "broken one")
    refused = note(kz, "refused one")
    kz.search.follower.catch_up()
    with kz.store.read() as conn:
        pks = repo_pks(conn, [good, broken, refused])
    real = sync.build

    def build(row: Any, stored: Any = None) -> Any:
        if row.pk == pks[broken]:
            raise RuntimeError("cannot analyse this")
        doc = real(row, stored)
        if row.pk == pks[refused]:
            doc.fields["sortkey"] = 2**70  # not an i64
        return doc

    monkeypatch.setattr(sync, "build", build)
    for stix_id in (good, broken, refused):
        kz.tags.tag(SYSTEM, stix_id, ["later"])
    with caplog.at_level(logging.WARNING):
        kz.search.follower.catch_up()
    assert total(kz, "tag:later") == 1  # the good one, with its new tag
    assert total(kz, "broken") == 1 and total(kz, "refused") == 1  # earlier versions
    assert f"object {pks[broken]} could not be analysed" in caplog.text
    assert f"object {pks[refused]} left at its earlier version" in caplog.text
    # Nothing is pending: the next catch-up has nothing to do.
    monkeypatch.setattr(sync, "build", real)
    assert kz.search.follower.catch_up() == 0


def test_processes_starting_together_open_one_index_directory(tmp_path: Path) -> None:
    """A server and its workers start at once on a new data directory: each opens the
    index while another writes its layout file, and none of them fails."""
    import threading

    failures: list[BaseException] = []
    for round_ in range(5):
        where = tmp_path / f"index-{round_}"
        start = threading.Barrier(6)

        def open_it(where: Path = where, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                SearchIndex(where, write=False).close()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
    assert json.loads((tmp_path / "index-0" / "kizashi-index.json").read_text())


def test_transactions_that_change_no_object_do_not_commit_the_index(
    kz: Kizashi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the position (the snapshot's xmin) moves with every transaction,
    a log-in or a user's change alike; a catch-up that finds no object to rebuild keeps
    the new position in memory instead of committing the index (17 ms a search). What
    comes later is applied, once, by this follower and by one started afresh."""
    index = SearchIndex(tmp_path / "ix")
    follower = Follower(kz.store, index)
    note(kz, "空でない変更")
    kz.users.create(SYSTEM, "quiet", "quiet-password-1", "reader")  # with its identity
    quiet = kz.users.get_actor("quiet")
    settle(follower)
    commits: list[int] = []
    real = index.apply
    monkeypatch.setattr(index, "apply", lambda *a, **kw: (commits.append(1), real(*a, **kw)))
    for i in range(5):
        kz.users.create_token(quiet, f"token {i}")  # a transaction that touches no object
        assert follower.catch_up() == 0
    assert commits == []
    assert follower.lag() <= 0
    note(kz, "後の変更")
    assert follower.catch_up() == 1 and len(commits) == 1
    settle(follower)
    assert index.count() == 4  # two notes, Kizashi's identity and quiet's
    index.close()
    again = Follower(kz.store, SearchIndex(tmp_path / "ix"))
    kz.users.create_token(quiet, "token after")
    note(kz, "再起動の後")
    settle(again)
    assert again.index.count() == 5
    again.index.close()
