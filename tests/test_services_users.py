"""Accounts, passwords, roles and API tokens on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from kizashi.model.actor import SYSTEM, Actor, Role, identity_for
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.store.schema import api_tokens, users


def code_of(fn: Any, *args: Any, **kwargs: Any) -> KizashiError:
    with pytest.raises(KizashiError) as info:
        fn(*args, **kwargs)
    return info.value


def rows(kz: Kizashi, table: sa.Table) -> list[dict[str, Any]]:
    with kz.store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table))]


def test_passwords_are_argon2_hashes(kz: Kizashi, admin: Actor) -> None:
    kz.users.create(admin, "bob", "パスワード1234", "analyst")
    stored = {r["username"]: r["password_hash"] for r in rows(kz, users)}
    assert set(stored) == {"alice", "bob"}
    for h in stored.values():
        assert h.startswith("$argon2")
        assert "パスワード1234" not in h and "correct horse battery" not in h
    assert stored["alice"] != stored["bob"]
    actor = kz.users.authenticate("bob", "パスワード1234")
    assert (actor.username, actor.role, actor.identity_ref) == (
        "bob",
        Role.ANALYST,
        identity_for("bob"),
    )
    identity = kz.objects.get(actor, identity_for("bob"))
    assert (identity.type, identity.name) == ("identity", "bob")


def test_wrong_password_and_unknown_user_look_the_same(kz: Kizashi, admin: Actor) -> None:
    wrong = code_of(kz.users.authenticate, "alice", "wrong password")
    unknown = code_of(kz.users.authenticate, "nobody", "wrong password")
    assert wrong.code == unknown.code == "unauthenticated"
    assert wrong.message == unknown.message
    assert wrong.problems == unknown.problems
    assert (
        code_of(kz.users.authenticate, "ALICE", "correct horse battery").code == "unauthenticated"
    )
    assert kz.users.authenticate("alice", "correct horse battery").is_admin


def test_account_validation(kz: Kizashi, admin: Actor, analyst: Actor) -> None:
    err = code_of(kz.users.create, admin, "bad name!", "short", "boss")
    assert err.code == "validation_failed"
    assert {p.loc for p in err.problems} == {"username", "password", "role"}
    assert code_of(kz.users.create, admin, "ana", "another password").code == "conflict"
    assert code_of(kz.users.create, analyst, "eve", "eve password").code == "forbidden"
    assert [u.username for u in kz.users.list(admin)] == ["alice", "ana"]
    assert code_of(kz.users.list, analyst).code == "forbidden"


def test_tokens_are_prefixed_and_stored_hashed(kz: Kizashi, analyst: Actor) -> None:
    token, view = kz.users.create_token(analyst, "ci")
    assert token.startswith("kz_") and len(token) > 30
    assert view.prefix == token[:10] and view.name == "ci"
    [row] = rows(kz, api_tokens)
    for column, value in row.items():
        assert token not in str(value), column
    assert row["token_hash"] != token and len(row["token_hash"]) == 64
    actor = kz.users.authenticate_token(token)
    assert (actor.username, actor.role) == ("ana", Role.ANALYST)
    assert [t.name for t in kz.users.tokens(analyst)] == ["ci"]
    assert code_of(kz.users.create_token, SYSTEM, "x").code == "validation_failed"


@pytest.mark.parametrize("bad", ["", "kz_", "kz_nonsense", "Bearer kz_x", "not-a-token"])
def test_unknown_tokens_are_refused(kz: Kizashi, analyst: Actor, bad: str) -> None:
    kz.users.create_token(analyst, "real")
    assert code_of(kz.users.authenticate_token, bad).code == "unauthenticated"


def test_revoked_token_is_refused(kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    keep, _ = kz.users.create_token(analyst, "keep")
    drop, view = kz.users.create_token(analyst, "drop")
    assert code_of(kz.users.revoke_token, reader, view.id).code == "not_found"
    kz.users.authenticate_token(drop)
    kz.users.revoke_token(analyst, view.id)
    assert code_of(kz.users.authenticate_token, drop).code == "unauthenticated"
    assert kz.users.authenticate_token(keep).username == "ana"
    revoked = {t.name: t.revoked_at for t in kz.users.tokens(analyst)}
    assert revoked["drop"] is not None and revoked["keep"] is None


def test_disabled_user_is_refused_everywhere(kz: Kizashi, admin: Actor, analyst: Actor) -> None:
    token, _ = kz.users.create_token(analyst, "t")
    kz.users.update(admin, "ana", disabled=True)
    assert code_of(kz.users.authenticate_token, token).code == "unauthenticated"
    assert code_of(kz.users.authenticate, "ana", "analyst password").code == "unauthenticated"
    assert code_of(kz.users.get_actor, "ana").code == "unauthenticated"
    assert kz.users.actor_for(analyst.user_pk or 0) is None
    kz.users.update(admin, "ana", disabled=False)
    assert kz.users.authenticate_token(token).username == "ana"


def test_reader_role(kz: Kizashi, analyst: Actor, reader: Actor) -> None:
    assert reader.role is Role.READER and not reader.can_write and not reader.is_admin
    view, _ = kz.objects.create(analyst, {"type": "tool", "name": "nmap"})
    assert kz.objects.get(reader, view.id).name == "nmap"
    assert code_of(kz.objects.create, reader, {"type": "tool", "name": "x"}).code == "forbidden"
    assert code_of(kz.users.update, reader, "rei", role="admin").code == "forbidden"
    assert code_of(kz.users.update, reader, "ana", password="hijacked pw").code == "forbidden"
    kz.users.update(reader, "rei", password="a new reader password")
    assert kz.users.authenticate("rei", "a new reader password").role is Role.READER
    assert code_of(kz.users.authenticate, "rei", "reader password").code == "unauthenticated"
    token, _ = kz.users.create_token(reader, "ro")
    assert kz.users.authenticate_token(token).role is Role.READER


def test_role_change_takes_effect(kz: Kizashi, admin: Actor, analyst: Actor) -> None:
    kz.users.update(admin, "ana", role="reader")
    demoted = kz.users.get_actor("ana")
    assert code_of(kz.objects.create, demoted, {"type": "tool", "name": "x"}).code == "forbidden"
    assert code_of(kz.users.update, admin, "ana", role="root").code == "validation_failed"
    assert code_of(kz.users.update, admin, "ana", password="short").code == "validation_failed"


def test_cannot_remove_the_last_admin(kz: Kizashi, admin: Actor) -> None:
    assert code_of(kz.users.update, admin, "alice", role="analyst").code == "conflict"
    assert code_of(kz.users.update, admin, "alice", disabled=True).code == "conflict"
    me = kz.users.get_actor("alice")
    assert me.is_admin
    kz.users.create(admin, "bob", "bob's password", "admin")
    kz.users.update(admin, "alice", role="analyst")
    assert kz.users.get_actor("alice").role is Role.ANALYST
    bob = kz.users.get_actor("bob")
    assert code_of(kz.users.update, bob, "bob", disabled=True).code == "conflict"
    assert kz.users.get_actor("bob").is_admin


def test_ensure_admin_generates_a_password_only_without_an_admin(kz: Kizashi) -> None:
    generated = kz.users.ensure_admin("root", None)
    assert generated is not None and len(generated) >= 12
    assert kz.users.authenticate("root", generated).is_admin
    assert kz.users.ensure_admin("second", None) is None
    assert kz.users.ensure_admin("third", "a given password") is None
    assert {r["username"] for r in rows(kz, users)} == {"root"}


def test_ensure_admin_with_a_given_password(kz: Kizashi) -> None:
    assert kz.users.ensure_admin("root", "chosen password") is None
    assert kz.users.authenticate("root", "chosen password").is_admin
