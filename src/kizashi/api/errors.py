"""Every error answer has a machine-readable code and a human sentence.

``{"error": {"code": "validation_failed", "message": "…", "problems": [{"loc", "msg"}]}}``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kizashi.model.errors import KizashiError, failure

STATUS_BY_CODE = {
    "validation_failed": 422,
    "unknown_type": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthenticated": 401,
    "malformed_json": 400,
    "too_large": 413,
    "csrf": 403,
}
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def error_body(
    code: str, message: str, problems: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if problems:
        err["problems"] = problems
    return {"error": err}


def error_response(
    code: str, message: str, status: int, problems: list[dict[str, str]] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(error_body(code, message, problems), status_code=status, headers=headers)


def _loc(parts: tuple[Any, ...] | list[Any]) -> str:
    shown = [str(p) for p in parts if p not in ("body", "query", "path")]
    return ".".join(shown) or "body"


PageRenderer = Callable[[Request, KizashiError], Response]


def _for_pages(request: Request) -> PageRenderer | None:
    """The UI's HTML error renderer, for requests outside the API (None inside it)."""
    if request.url.path.startswith("/api/"):
        return None
    render: PageRenderer | None = getattr(request.app.state, "render_error", None)
    return render


async def _kizashi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KizashiError)
    render = _for_pages(request)
    if render is not None:
        return render(request, exc)
    status = STATUS_BY_CODE.get(exc.code, 400)
    return error_response(exc.code, exc.message, status, [p.as_dict() for p in exc.problems])


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        detail = (first.get("ctx") or {}).get("error", "")
        return error_response(
            "malformed_json", f"The request body is not valid JSON: {detail}".strip(), 400
        )
    problems = [{"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]
    return error_response(
        "validation_failed", f"The request has {len(problems)} problem(s).", 422, problems
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        error = failure("There is nothing at this address.", "not_found")
    elif exc.status_code == 405:
        error = failure("This address does not accept that method.", code)
    else:
        error = KizashiError(detail, "not_found" if exc.status_code == 404 else code)
    render = _for_pages(request)
    if render is not None and exc.status_code in (404, 405):
        return render(request, error)
    return error_response(code, error.message, exc.status_code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(KizashiError, _kizashi_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
