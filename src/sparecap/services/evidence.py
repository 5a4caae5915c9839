"""Evidence records: a participant registers a file's SHA-256 on the ledger, with a timestamp.

For copyright certification and infringement disputes: the entry proves that whoever holds
the key behind the pseudonym had a file with this fingerprint no later than the entry's
checkpoint. The title stays in the database; the log carries only its salted hash.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.models import EvidenceRecord
from sparecap.domain.ledger.entries import pseudonym, salted_hash
from sparecap.services.context import ServiceContext
from sparecap.services.errors import ForbiddenError, NotFoundError
from sparecap.services.ledger import append_entry
from sparecap.services.principals import Principal, Role

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(description="hex SHA-256 of the file (the file itself is not uploaded)")
    title: str = Field(min_length=1, max_length=300)
    media_type: str = Field(default="application/octet-stream", max_length=100)

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.lower()
        if not SHA256_HEX.match(value):
            raise ValueError("sha256 must be 64 hexadecimal characters")
        return value


def register_evidence(
    session: Session, *, ctx: ServiceContext, principal: Principal, evidence: EvidenceIn
) -> EvidenceRecord:
    if principal.roles == {Role.AUDITOR}:
        raise ForbiddenError("auditors read only", code="read_only")
    now = ctx.clock.now()
    record = EvidenceRecord(
        participant_id=principal.participant_id,
        sha256=evidence.sha256,
        title=evidence.title,
        media_type=evidence.media_type,
        ledger_seq=-1,
        created_at=now,
    )
    session.add(record)
    session.flush()
    record.ledger_seq = append_entry(
        session,
        kind="evidence.record",
        subject=f"evidence:{record.id}",
        at=now,
        data={
            "evidence": record.id,
            "sha256": record.sha256,
            "media_type": record.media_type,
            "owner": pseudonym(ctx.ledger_salt, "participant", principal.participant_id),
            "title_hash": salted_hash(ctx.ledger_salt, record.title),
        },
    )
    session.flush()
    return record


def get_evidence(session: Session, *, principal: Principal, evidence_id: int) -> EvidenceRecord:
    record = session.get(EvidenceRecord, evidence_id)
    if record is None or not (
        principal.reads_everything or record.participant_id == principal.participant_id
    ):
        raise NotFoundError(f"evidence record {evidence_id} not found", code="unknown_evidence")
    return record


def find_by_hash(session: Session, *, sha256: str) -> list[EvidenceRecord]:
    """Who registered this fingerprint, earliest first: the question a dispute asks."""
    query = select(EvidenceRecord).where(EvidenceRecord.sha256 == sha256.lower())
    return list(session.scalars(query.order_by(EvidenceRecord.ledger_seq)))
