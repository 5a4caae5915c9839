"""Participants, their roles, and the API keys they authenticate with."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.models import ApiKey, Participant
from sparecap.services.context import ServiceContext
from sparecap.services.errors import InvalidInputError, NotFoundError, UnauthenticatedError
from sparecap.services.principals import Principal, Role

KINDS = ("person", "organisation")
# 0 none, 1 phone verified, 2 identity document or business licence checked, 3 on-site audit.
MAX_VERIFICATION_LEVEL = 3
KEY_PREFIX = "sk_"


def _hash_key(key: str) -> str:
    # Keys are 256 random bits, so a fast hash is enough; a slow KDF guards guessable passwords.
    return hashlib.sha256(key.encode()).hexdigest()


def _parse_roles(roles: Sequence[str]) -> list[str]:
    try:
        parsed = sorted({Role(r) for r in roles})
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidInputError(f"unknown role in {list(roles)}; known: {known}") from None
    if not parsed:
        raise InvalidInputError("a participant needs at least one role")
    return [r.value for r in parsed]


def create_participant(
    session: Session,
    *,
    ctx: ServiceContext,
    name: str,
    kind: str,
    roles: Sequence[str],
    verification_level: int = 0,
) -> Participant:
    if kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {KINDS}")
    if not name.strip():
        raise InvalidInputError("name must not be empty")
    if not 0 <= verification_level <= MAX_VERIFICATION_LEVEL:
        raise InvalidInputError(f"verification_level must be 0 to {MAX_VERIFICATION_LEVEL}")
    participant = Participant(
        name=name.strip(),
        kind=kind,
        roles=_parse_roles(roles),
        verification_level=verification_level,
        created_at=ctx.clock.now(),
    )
    session.add(participant)
    session.flush()
    return participant


def get_participant(session: Session, *, participant_id: int) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFoundError(f"participant {participant_id} not found")
    return participant


def list_participants(session: Session, *, limit: int = 100, offset: int = 0) -> list[Participant]:
    query = select(Participant).order_by(Participant.id).limit(limit).offset(offset)
    return list(session.scalars(query))


def issue_api_key(
    session: Session, *, ctx: ServiceContext, participant_id: int, label: str = ""
) -> str:
    """Create a key and return it in clear; only its hash is stored, so it is shown once."""
    get_participant(session, participant_id=participant_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            participant_id=participant_id,
            key_hash=_hash_key(key),
            prefix=key[:10],
            label=label,
            created_at=ctx.clock.now(),
        )
    )
    session.flush()
    return key


def authenticate(session: Session, *, api_key: str) -> Principal:
    row = session.execute(
        select(ApiKey, Participant)
        .join(Participant, Participant.id == ApiKey.participant_id)
        .where(ApiKey.key_hash == _hash_key(api_key), ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        raise UnauthenticatedError("unknown or revoked API key", code="invalid_api_key")
    participant = row[1]
    return Principal(participant.id, frozenset(Role(r) for r in participant.roles))


def principal_of(participant: Participant) -> Principal:
    return Principal(participant.id, frozenset(Role(r) for r in participant.roles))
