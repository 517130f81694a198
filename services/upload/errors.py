"""The API's error format: ``{"error": {"code", "message", "details"?}}`` with a fitting 4xx.

Under ``/intercom/`` errors take Intercom's shape instead (SPEC §7): ``{"type": "error.list",
"request_id", "errors": [{"code", "message"}]}``, with Intercom's codes, and 400 where Usher
says 422 — :func:`answer` picks the shape by path, for the exception handlers here and for the
guard alike.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.ids import new_id
from shared.logs import get_logger

log = get_logger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def invalid(message: str, details: Any = None) -> ApiError:
    return ApiError(422, "invalid", message, details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The body of every error answer."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


INTERCOM_PREFIX = "/intercom/"
# Usher's error codes as Intercom names them (https://developers.intercom.com/docs/references/
# rest-api/errors/error-codes); a code not listed here is passed on as it is.
_INTERCOM_CODES = {
    "invalid": "parameter_invalid",
    "rate_limited": "rate_limit_exceeded",
    "internal": "server_error",
    "too_large": "request_too_large",
    "timeout": "service_unavailable",
}


def intercom_error(code: str, message: str) -> dict[str, Any]:
    """An Intercom ``error.list`` body (code already in Intercom's words)."""
    return {
        "type": "error.list",
        "request_id": new_id("req_"),
        "errors": [{"code": code, "message": message}],
    }


def answer(path: str, status: int, code: str, message: str, details: Any = None) -> tuple[int, Any]:
    """The status and body of an error answer to a request for ``path``."""
    if path.startswith(INTERCOM_PREFIX):
        return (400 if status == 422 else status), intercom_error(
            _INTERCOM_CODES.get(code, code), message
        )
    return status, error_body(code, message, details)


def _json(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    status, body = answer(request.url.path, status, code, message, details)
    return JSONResponse(body, status_code=status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(request, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": _where(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return _json(request, 422, "invalid", f"the request is not valid: {summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "error"
        )
        return _json(request, exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(asyncpg.QueryCanceledError)
    async def too_slow(request: Request, exc: asyncpg.QueryCanceledError) -> JSONResponse:
        log.warning("a request ran past the statement timeout", extra={"error": str(exc)})
        return _json(
            request,
            503,
            "timeout",
            "the request took too long and was stopped (USHER_API_STATEMENT_TIMEOUT_S):"
            " narrow it down, for example with a simpler filter",
        )

    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def unstorable(request: Request, exc: Exception) -> JSONResponse:
        # Validation refuses NUL characters where it knows the field; this is the net below it.
        return _json(
            request, 422, "invalid", "the request holds a NUL character, which cannot be stored"
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _json(
            request, 500, "internal", "something went wrong on our side; the error was logged"
        )
