"""Request plumbing shared by the routes: the platform, the caller, and idempotent mutations."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from sparecap.api.errors import service_error_body, status_of
from sparecap.bootstrap import Platform
from sparecap.services.errors import (
    ConflictError,
    InvalidInputError,
    ServiceError,
    UnauthenticatedError,
)
from sparecap.services.idempotency import (
    StoredResponse,
    find_response,
    fingerprint,
    save_response,
)
from sparecap.services.participants import authenticate
from sparecap.services.principals import Principal

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRIES = 3
AUTH_CACHE_SECONDS = 10.0
AUTH_CACHE_SIZE = 10_000
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
MAX_KEY_LENGTH = 200


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_principal(
    platform: PlatformDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    key = x_api_key
    if authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    if not key:
        raise UnauthenticatedError(
            "send an API key as 'Authorization: Bearer <key>' or 'X-API-Key'",
            code="missing_api_key",
        )
    return _principals.get(platform, key)


class _PrincipalCache:
    """Recently authenticated keys, for AUTH_CACHE_SECONDS: saves a database round trip on
    most requests. A key's roles or revocation therefore take effect within that time."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, platform: Platform, key: str) -> Principal:
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        with platform.db.read() as session:
            principal = authenticate(session, api_key=key)
        if len(self._entries) >= AUTH_CACHE_SIZE:
            self._entries.clear()
        self._entries[digest] = (now + AUTH_CACHE_SECONDS, principal)
        return principal


_principals = _PrincipalCache()


PrincipalDep = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True, slots=True)
class Mutation:
    """An idempotent write: its key and the fingerprint of the request it was first used for."""

    platform: Platform
    principal: Principal
    key: str
    request_hash: str

    def run(self, action: Callable[[Session], Any], *, status_code: int = 200) -> JSONResponse:
        """Run `action` in one transaction with the stored response; replay it on a retry.

        A refused request (4xx) is stored too: its retry gets the same answer, even if the
        state has changed since, and nothing is written either time.
        """
        for _attempt in range(RETRIES):
            try:
                return self._run_once(action, status_code)
            except IntegrityError:
                # A concurrent request with the same key committed first: replay its answer.
                continue
            except OperationalError as exc:
                # PostgreSQL chose this transaction as a deadlock or serialisation victim; it
                # rolled back whole, so running it again is safe.
                if getattr(exc.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                    raise
        raise ConflictError("the request kept colliding with others; retry it", code="retry_later")

    def _run_once(self, action: Callable[[Session], Any], status_code: int) -> JSONResponse:
        who, key = self.principal.participant_id, self.key
        with self.platform.db.write() as session:
            stored = find_response(
                session, participant_id=who, key=key, request_hash=self.request_hash
            )
            if stored is None:
                try:
                    with session.begin_nested():
                        stored = StoredResponse(status_code, _to_json(action(session)))
                except ServiceError as exc:
                    stored = StoredResponse(status_of(exc), service_error_body(exc))
                save_response(
                    session,
                    ctx=self.platform.ctx,
                    participant_id=who,
                    key=key,
                    request_hash=self.request_hash,
                    response=stored,
                )
        return JSONResponse(stored.body, status_code=stored.status_code)


def _to_json(result: Any) -> Any:
    # Pydantic's own serialiser is several times faster than the generic jsonable_encoder.
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return jsonable_encoder(result)


async def get_mutation(
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="Required on every write: a retry with the same key replays the answer",
        ),
    ] = None,
) -> Mutation:
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"send an {IDEMPOTENCY_HEADER} header (1-{MAX_KEY_LENGTH} characters) on every write",
            code="idempotency_key_required",
        )
    body = await request.body()
    request_hash = fingerprint(request.method, request.url.path, body)
    return Mutation(platform, principal, idempotency_key, request_hash)


MutationDep = Annotated[Mutation, Depends(get_mutation)]
