"""``/api/v1/openapi.json``: the API's own description, for callers who may use it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from kizashi.api.deps import ActorDep

router = APIRouter(tags=["meta"])


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _actor: ActorDep) -> dict[str, Any]:
    """The OpenAPI 3 description of this API (needs a login or a token, like every route)."""
    spec: dict[str, Any] = request.app.openapi()
    return spec
