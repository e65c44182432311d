"""Local accounts (argon2), roles, API tokens (shown once, stored hashed)."""

from __future__ import annotations

import builtins
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kizashi.model.actor import SYSTEM, Actor, Role, identity_for
from kizashi.model.errors import (
    KizashiError,
    Problem,
    conflict,
    invalid,
    not_found,
    problem,
    unauthenticated,
)
from kizashi.model.preferences import Preferences, checked
from kizashi.model.stix import compact_json, validate
from kizashi.services.common import Context, actor_of_row
from kizashi.store import objects as object_repo
from kizashi.store import users as repo

TOKEN_PREFIX = "kz_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps a login for an unknown user as slow as a wrong password.

    Made on first use: an Argon2 hash takes 64 MiB, which a worker or a CLI run never needs.
    """
    return str(_hasher.hash("not a real password"))


@dataclass(frozen=True)
class UserView:
    username: str
    role: str
    disabled: bool
    identity_id: str
    created_at: str

    def as_dict(self) -> dict[str, object]:
        return {
            "username": self.username,
            "role": self.role,
            "disabled": self.disabled,
            "identity_id": self.identity_id,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
        }


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_actor = actor_of_row


class UserService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def create(self, actor: Actor, username: str, password: str, role: str = "analyst") -> UserView:
        actor.require_admin()
        return self._create(actor, username, password, role)

    def _create(self, actor: Actor, username: str, password: str, role: str) -> UserView:
        problems = []
        if not _USERNAME.match(username):
            problems.append(Problem("username", "1-64 letters, digits or . _ @ -"))
        if len(password) < MIN_PASSWORD:
            problems.append(problem("password", "at least %(n)s characters", n=MIN_PASSWORD))
        if role not in {r.value for r in Role}:
            problems.append(Problem("role", "admin, analyst or reader"))
        if problems:
            raise invalid("The account cannot be created.", problems)
        stamp = self.ctx.stamp()
        identity = identity_for(username)
        with self.ctx.store.begin() as conn:
            if repo.get_by_username(conn, username) is not None:
                raise conflict("The user %(username)r exists already.", username=username)
            pk = repo.insert(
                conn,
                {
                    "username": username,
                    "password_hash": _hasher.hash(password),
                    "role": role,
                    "identity_id": identity,
                    "created_at": stamp,
                },
            )
            if object_repo.get(conn, identity) is None:
                data = validate(
                    {
                        "type": "identity",
                        "id": identity,
                        "name": username,
                        "identity_class": "individual",
                    },
                    now=self.ctx.clock(),
                )
                object_repo.insert(
                    conn,
                    [
                        {
                            "id": identity,
                            "type": "identity",
                            "name": username,
                            "created": data["created"],
                            "modified": data["modified"],
                            "data": compact_json(data),
                            "created_by": pk,
                            "updated_by": pk,
                            "updated_at": stamp,
                        }
                    ],
                )
            self.ctx.audit(conn, actor, "user.create", username, role)
            return UserView(username, role, False, identity, stamp)

    def ensure_admin(self, username: str, password: str | None) -> str | None:
        """Create the first admin if the store has none; return a generated password."""
        with self.ctx.store.read() as conn:
            if repo.count_admins(conn) > 0:
                return None
        generated = None
        if not password:
            generated = password = secrets.token_urlsafe(12)
        self._create(SYSTEM, username, password, "admin")
        return generated

    def authenticate(self, username: str, password: str) -> Actor:
        with self.ctx.store.read() as conn:
            row = repo.get_by_username(conn, username)
        stored = row.password_hash if row is not None else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise unauthenticated("The user name or password is wrong.") from None
        if row is None or row.disabled:
            raise unauthenticated("The user name or password is wrong.")
        if _hasher.check_needs_rehash(row.password_hash):
            with self.ctx.store.begin() as conn:
                repo.update(conn, row.pk, {"password_hash": _hasher.hash(password)})
        return _actor(row)

    def actor_for(self, user_pk: int) -> Actor | None:
        with self.ctx.store.read() as conn:
            row = repo.get_by_pk(conn, user_pk)
        if row is None or row.disabled:
            return None
        return _actor(row)

    # -- UI sessions --------------------------------------------------------------
    # A session is a signed cookie holding the user's pk and the epoch it was issued
    # under. Logging out and a new password raise the epoch: every session issued
    # before, in any browser, is refused from then on.
    def session_epoch(self, actor: Actor) -> int:
        """The epoch a session issued now for ``actor`` carries."""
        if actor.user_pk is None:
            raise invalid("Only a user account can log in.", [Problem("user", actor.username)])
        with self.ctx.store.read() as conn:
            row = repo.get_by_pk(conn, actor.user_pk)
        if row is None:
            raise not_found("User %(username)r was not found.", username=actor.username)
        return int(row.session_epoch)

    def session_actor(self, user_pk: int, epoch: int) -> Actor | None:
        """The actor of a session, or None once it has ended (or the user is disabled)."""
        with self.ctx.store.read() as conn:
            row = repo.get_by_pk(conn, user_pk)
        if row is None or row.disabled or int(row.session_epoch) != epoch:
            return None
        return _actor(row)

    def set_preferences(
        self, actor: Actor, *, language: str | None, time_zone: str | None
    ) -> Preferences:
        """Keep ``actor``'s own language and time zone (empty: follow the browser)."""
        if actor.user_pk is None:
            raise invalid("Only a user account has preferences.", [Problem("user", "system")])
        wanted = checked(language, time_zone)
        with self.ctx.store.begin() as conn:
            repo.update(
                conn, actor.user_pk, {"language": wanted.language, "time_zone": wanted.time_zone}
            )
            self.ctx.audit(conn, actor, "user.preferences", actor.username, None)
        return wanted

    def end_sessions(self, actor: Actor) -> None:
        """End every UI session of ``actor`` (logging out ends them all, everywhere)."""
        if actor.user_pk is None:
            return
        with self.ctx.store.begin() as conn:
            repo.bump_session_epoch(conn, actor.user_pk)
            self.ctx.audit(conn, actor, "user.logout", actor.username, None)

    def get_actor(self, username: str) -> Actor:
        with self.ctx.store.read() as conn:
            row = repo.get_by_username(conn, username)
        if row is None:
            raise not_found("User %(username)r was not found.", username=username)
        if row.disabled:
            raise unauthenticated("The user %(username)r is disabled.", username=username)
        return _actor(row)

    def list(self, actor: Actor) -> list[UserView]:
        actor.require_admin()
        with self.ctx.store.read() as conn:
            return [
                UserView(r.username, r.role, bool(r.disabled), r.identity_id, r.created_at)
                for r in repo.list_all(conn)
            ]

    def update(
        self,
        actor: Actor,
        username: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> UserView:
        own_password = actor.username == username and role is None and disabled is None
        if not own_password:
            actor.require_admin()
        with self.ctx.store.begin() as conn:
            row = repo.get_by_username(conn, username)
            if row is None:
                raise not_found("User %(username)r was not found.", username=username)
            values: dict[str, object] = {}
            if role is not None:
                if role not in {r.value for r in Role}:
                    raise invalid("Unknown role.", [Problem("role", "admin, analyst or reader")])
                values["role"] = role
            if disabled is not None:
                values["disabled"] = disabled
            if password is not None:
                if len(password) < MIN_PASSWORD:
                    raise invalid(
                        "The password is too short.",
                        [problem("password", "at least %(n)s characters", n=MIN_PASSWORD)],
                    )
                values["password_hash"] = _hasher.hash(password)
            if values:
                repo.update(conn, row.pk, values)
                if password is not None:
                    repo.bump_session_epoch(conn, row.pk)
                if row.role == "admin" and repo.count_admins(conn) == 0:
                    raise conflict("This would leave no active admin.")
                self.ctx.audit(
                    conn,
                    actor,
                    "user.update",
                    username,
                    ", ".join(k for k in values if k != "password_hash"),
                )
            fresh = repo.get_by_pk(conn, row.pk)
            return UserView(
                fresh.username,
                fresh.role,
                bool(fresh.disabled),
                fresh.identity_id,
                fresh.created_at,
            )

    # -- API tokens ---------------------------------------------------------------
    def create_token(self, actor: Actor, name: str) -> tuple[str, TokenView]:
        """A new personal token; the plain text is returned here and never again."""
        if actor.user_pk is None:
            raise invalid("Only a user account can own a token.", [Problem("user", actor.username)])
        name = name.strip() or "token"
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        stamp = self.ctx.stamp()
        with self.ctx.store.begin() as conn:
            pk = repo.insert_token(
                conn,
                {
                    "user_pk": actor.user_pk,
                    "name": name[:100],
                    "prefix": token[:10],
                    "token_hash": _hash_token(token),
                    "created_at": stamp,
                },
            )
            self.ctx.audit(conn, actor, "token.create", name)
        return token, TokenView(pk, name, token[:10], stamp, None, None)

    def tokens(self, actor: Actor) -> builtins.list[TokenView]:
        if actor.user_pk is None:
            return []
        with self.ctx.store.read() as conn:
            return [
                TokenView(r.pk, r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at)
                for r in repo.tokens_of(conn, actor.user_pk)
            ]

    def revoke_token(self, actor: Actor, token_id: int) -> None:
        with self.ctx.store.begin() as conn:
            mine = {r.pk for r in repo.tokens_of(conn, actor.user_pk)} if actor.user_pk else set()
            if token_id not in mine:
                raise not_found("Token %(token_id)s was not found.", token_id=token_id)
            repo.update_token(conn, token_id, {"revoked_at": self.ctx.stamp()})
            self.ctx.audit(conn, actor, "token.revoke", str(token_id))

    def authenticate_token(self, token: str) -> Actor:
        if not token.startswith(TOKEN_PREFIX):
            raise unauthenticated("The API token is not valid.")
        with self.ctx.store.read() as conn:
            row = repo.token_by_hash(conn, _hash_token(token))
        if row is None or row.revoked_at is not None or row.disabled:
            raise unauthenticated("The API token is not valid.")
        stamp = self.ctx.stamp()
        if (row.last_used_at or "")[:16] != stamp[:16]:
            # Once a minute at most, so that reads stay reads.
            try:
                with self.ctx.store.begin() as conn:
                    repo.update_token(conn, row.pk, {"last_used_at": stamp})
            except KizashiError:
                pass
        return Actor(row.user_pk, row.username, Role(row.role), row.identity_id)
