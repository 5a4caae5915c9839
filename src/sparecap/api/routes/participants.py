"""Participants and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.api.schemas import ApiKeyOut, ParticipantOut
from sparecap.services import participants as svc
from sparecap.services.ids import MAX_OFFSET, Id
from sparecap.services.principals import Role

router = APIRouter(prefix="/v1/participants", tags=["participants"])


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(person|organisation)$")
    roles: list[Role] = Field(min_length=1)
    verification_level: int = Field(default=0, ge=0, le=svc.MAX_VERIFICATION_LEVEL)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=100)


@router.post("", status_code=201, response_model=ParticipantOut)
def create_participant(body: ParticipantIn, mutation: MutationDep) -> JSONResponse:
    """Onboard a participant (operators only)."""

    def action(session: Session) -> ParticipantOut:
        mutation.principal.require(Role.OPERATOR)
        row = svc.create_participant(session, ctx=mutation.platform.ctx, **body.model_dump())
        return ParticipantOut.model_validate(row)

    return mutation.run(action, status_code=201)


@router.post("/{participant_id}/api-keys", status_code=201, response_model=ApiKeyOut)
def issue_api_key(participant_id: Id, body: ApiKeyIn, mutation: MutationDep) -> JSONResponse:
    """Issue a key for yourself, or for anyone if you are an operator."""

    def action(session: Session) -> ApiKeyOut:
        mutation.principal.require_owner_or_operator(participant_id, "participant's keys")
        key = svc.issue_api_key(
            session, ctx=mutation.platform.ctx, participant_id=participant_id, label=body.label
        )
        return ApiKeyOut(participant_id=participant_id, api_key=key)

    return mutation.run(action, status_code=201)


@router.get("/me", response_model=ParticipantOut)
def me(platform: PlatformDep, principal: PrincipalDep) -> ParticipantOut:
    with platform.db.read() as session:
        row = svc.get_participant(session, participant_id=principal.participant_id)
        return ParticipantOut.model_validate(row)


@router.get("", response_model=list[ParticipantOut])
def list_participants(
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ParticipantOut]:
    """All participants (operators and auditors)."""
    principal.require(Role.OPERATOR, Role.AUDITOR)
    with platform.db.read() as session:
        rows = svc.list_participants(session, limit=limit, offset=offset)
        return [ParticipantOut.model_validate(r) for r in rows]


@router.get("/{participant_id}", response_model=ParticipantOut)
def get_participant(
    participant_id: Id, platform: PlatformDep, principal: PrincipalDep
) -> ParticipantOut:
    if not principal.reads_everything:
        principal.require_owner_or_operator(participant_id, "participant")
    with platform.db.read() as session:
        row = svc.get_participant(session, participant_id=participant_id)
        return ParticipantOut.model_validate(row)
