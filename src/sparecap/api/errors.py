"""The one table that maps service exceptions to HTTP statuses, and the JSON error shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sparecap.domain.error_names import error_title, problem_text
from sparecap.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnauthenticatedError,
)

STATUS_BY_ERROR: dict[type[ServiceError], int] = {
    InvalidInputError: 422,
    UnauthenticatedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
}


def status_of(exc: ServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_body(
    code: str, message: str, details: dict[str, Any] | None = None, *, kind: str = "error"
) -> dict[str, Any]:
    """The error shape: the stable code, the case in English (message), what the code means in
    every language (title; a code without one reads as its kind's: the error class's own code),
    and details if any."""
    error: dict[str, Any] = {"code": code, "message": message, "title": error_title(code, kind)}
    if details:
        error["details"] = details
    return {"error": error}


def service_error_body(exc: ServiceError) -> dict[str, Any]:
    return error_body(exc.code, exc.message, exc.details, kind=type(exc).code)


def validation_details(errors: list[Any]) -> dict[str, Any]:
    """Each invalid field: where it is, its kind (pydantic's error type), and what is wrong in
    English (message) and in every language (text)."""
    problems = []
    for e in errors:
        message = e.get("msg", "")
        problems.append(
            {
                "at": ".".join(str(p) for p in e.get("loc", ())),
                "type": e.get("type", ""),
                "message": message,
                "text": problem_text(e.get("type", ""), message, e.get("ctx")),
            }
        )
    return {"problems": problems}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(service_error_body(exc), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        body = error_body(
            "invalid_input", "the request does not validate", validation_details(list(exc.errors()))
        )
        return JSONResponse(body, status_code=422)

    @app.exception_handler(ValidationError)
    async def _model(_request: Request, exc: ValidationError) -> JSONResponse:
        body = error_body(
            "invalid_input", "the request does not validate", validation_details(list(exc.errors()))
        )
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Never a traceback to the user; the server log has it.
        del exc
        return JSONResponse(
            error_body("internal_error", "unexpected server error"), status_code=500
        )
