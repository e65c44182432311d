"""``/api/v1/auth`` (who am I, personal tokens) and ``/api/v1/users`` (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import ErrorOut, NewTokenOut, TokenIn, TokenOut, UserIn, UserOut, UserPatch

router = APIRouter(tags=["auth"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


@router.get("/auth/me")
def me(actor: ActorDep) -> dict[str, Any]:
    """The caller's user name, role and STIX identity."""
    return {"username": actor.username, "role": actor.role.value, "identity_id": actor.identity_ref}


@router.get("/auth/tokens", response_model=list[TokenOut])
def list_tokens(kz: KizashiDep, actor: ActorDep) -> list[dict[str, Any]]:
    """The caller's API tokens (never the secret)."""
    return [t.as_dict() for t in kz.users.tokens(actor)]


@router.post("/auth/tokens", response_model=NewTokenOut, status_code=201)
def create_token(kz: KizashiDep, actor: ActorDep, body: TokenIn) -> dict[str, Any]:
    """A new personal API token. The token is in this answer only."""
    token, view = kz.users.create_token(actor, body.name)
    return view.as_dict() | {"token": token}


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_token(kz: KizashiDep, actor: ActorDep, token_id: int) -> None:
    """Revoke one of the caller's tokens."""
    kz.users.revoke_token(actor, token_id)


@router.get("/users", response_model=list[UserOut], tags=["users"])
def list_users(kz: KizashiDep, actor: ActorDep) -> list[dict[str, Any]]:
    """All accounts (admin)."""
    return [u.as_dict() for u in kz.users.list(actor)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def create_user(kz: KizashiDep, actor: ActorDep, body: UserIn) -> dict[str, Any]:
    """Create an account (admin)."""
    return kz.users.create(actor, body.username, body.password, body.role).as_dict()


@router.patch("/users/{username}", response_model=UserOut, tags=["users"])
def update_user(kz: KizashiDep, actor: ActorDep, username: str, body: UserPatch) -> dict[str, Any]:
    """Change role, disable, or set a password (admin; anyone for their own password)."""
    return kz.users.update(
        actor, username, role=body.role, disabled=body.disabled, password=body.password
    ).as_dict()
