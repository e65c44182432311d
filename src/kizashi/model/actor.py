"""Who is asking: roles and the actor every service call carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from kizashi.model.errors import forbidden
from kizashi.model.preferences import Preferences
from kizashi.model.tlp import LEVELS

#: Namespace for Kizashi's own deterministic ids (user identities, the system identity).
KIZASHI_NAMESPACE = uuid.UUID("6f0b7e3a-2c1d-5e0f-9a8b-4b697a617368")


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    READER = "reader"


def identity_for(username: str) -> str:
    return f"identity--{uuid.uuid5(KIZASHI_NAMESPACE, 'user:' + username)}"


SYSTEM_IDENTITY = f"identity--{uuid.uuid5(KIZASHI_NAMESPACE, 'system')}"


@dataclass(frozen=True)
class Actor:
    user_pk: int | None
    username: str
    role: Role
    identity_ref: str
    #: The user's UI preferences, carried so that a page need not read the row again;
    #: never part of who the actor is (not compared).
    preferences: Preferences = field(default=Preferences(), compare=False)

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.ANALYST)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def tlp_levels(self) -> frozenset[str]:
        """The TLP levels this actor reads everywhere. TLP:RED is for named recipients:
        admins read it; anyone else reads only the RED objects they created."""
        return frozenset(LEVELS) if self.is_admin else frozenset(LEVELS) - {"red"}

    def may_read(self, tlp: str | None, created_by: int | None) -> bool:
        """Whether this actor may read an object marked ``tlp`` that the user
        ``created_by`` (a user pk) stored: the one rule every read path applies (search,
        pages, the API, indicator pages, graphs). Unmarked objects are for everyone."""
        if tlp is None or tlp in self.tlp_levels:
            return True
        return tlp == "red" and self.user_pk is not None and created_by == self.user_pk

    def require_write(self) -> None:
        if not self.can_write:
            raise forbidden("Readers cannot change anything; ask an admin for the analyst role.")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise forbidden("Only an admin can do this.")


#: The actor for work on the store without a login: the CLI run by the machine's owner.
SYSTEM = Actor(None, "system", Role.ADMIN, SYSTEM_IDENTITY)
