"""The exceptions use cases raise. Each carries a stable code; the API maps classes to statuses."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class NotFoundError(ServiceError):
    code = "not_found"


class UnauthenticatedError(ServiceError):
    code = "unauthenticated"


class ForbiddenError(ServiceError):
    code = "forbidden"


class InvalidInputError(ServiceError):
    code = "invalid_input"


class ConflictError(ServiceError):
    """The request is well-formed but clashes with the current state (capacity, transitions)."""

    code = "conflict"
