"""Evidence records: register a file's fingerprint on the ledger; fetch its proof."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.services import evidence as svc
from sparecap.services.ids import Id
from sparecap.services.ledger_finality import final_evidence_bundle

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    participant_id: int
    sha256: str
    title: str
    media_type: str
    ledger_seq: int
    created_at: datetime


@router.post("", status_code=201, response_model=EvidenceOut)
def register(body: svc.EvidenceIn, mutation: MutationDep) -> JSONResponse:
    """Register a file's SHA-256 (copyright certification, contracts, designs, courses)."""

    def action(session: Session) -> EvidenceOut:
        record = svc.register_evidence(
            session, ctx=mutation.platform.ctx, principal=mutation.principal, evidence=body
        )
        return EvidenceOut.model_validate(record)

    return mutation.run(action, status_code=201)


@router.get("/{evidence_id}")
def evidence_with_proof(
    evidence_id: Id, platform: PlatformDep, principal: PrincipalDep
) -> dict[str, Any]:
    """The record and an evidence bundle proving its ledger entry (once checkpointed)."""
    with platform.db.read() as session:
        record = svc.get_evidence(session, principal=principal, evidence_id=evidence_id)
        bundle = final_evidence_bundle(
            session,
            seqs=[record.ledger_seq],
            origin=platform.settings.ledger_origin,
            keys=platform.ledger,
            policy=platform.finality,
        )
        return {
            "record": EvidenceOut.model_validate(record).model_dump(mode="json"),
            "bundle": bundle,
        }


class EvidenceStampOut(BaseModel):
    """What anyone may learn of a registration: when, and where on the log. Not who."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    sha256: str
    ledger_seq: int
    created_at: datetime


@router.get("", response_model=list[EvidenceStampOut])
def by_hash(sha256: str, platform: PlatformDep, _principal: PrincipalDep) -> list[EvidenceStampOut]:
    """Registrations of one fingerprint, earliest first; each entry's owner is a pseudonym
    on the log, revealed to an auditor by the operator when a dispute needs it."""
    with platform.db.read() as session:
        records = svc.find_by_hash(session, sha256=sha256)
        return [EvidenceStampOut.model_validate(r) for r in records]
