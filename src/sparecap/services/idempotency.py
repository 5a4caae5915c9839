"""Idempotency keys: a retried mutating call returns the first result and changes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.models import IdempotencyRecord
from sparecap.services.context import ServiceContext
from sparecap.services.errors import ConflictError


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests 'the same': method, path and body bytes."""
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def find_response(
    session: Session, *, participant_id: int, key: str, request_hash: str
) -> StoredResponse | None:
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.participant_id == participant_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise ConflictError(
            "this Idempotency-Key was used for a different request", code="idempotency_key_reused"
        )
    return StoredResponse(record.status_code, record.response["body"])


def save_response(
    session: Session,
    *,
    ctx: ServiceContext,
    participant_id: int,
    key: str,
    request_hash: str,
    response: StoredResponse,
) -> None:
    """Store the response in the caller's transaction, so it commits with the change it reports.

    `response.body` must already be JSON-safe (plain dicts, lists, strings, numbers).
    """
    session.add(
        IdempotencyRecord(
            participant_id=participant_id,
            key=key,
            request_hash=request_hash,
            status_code=response.status_code,
            response={"body": response.body},
            created_at=ctx.clock.now(),
        )
    )
    session.flush()
