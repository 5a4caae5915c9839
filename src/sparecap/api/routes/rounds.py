"""Matching rounds (operators run them; operators and auditors read them) and matches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.db.demands import Match, MatchRound, Unmatched
from sparecap.domain.names import reason_message
from sparecap.services import matches as read
from sparecap.services.ids import MAX_OFFSET, Id
from sparecap.services.rounds import RoundIn, run_round

router = APIRouter(prefix="/v1", tags=["matching"])


class MatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    round_id: int | None
    demand_id: int
    quote_id: int | None
    booking_id: int
    provider_id: int
    resource_id: int
    unit_id: int
    quantity: int
    start_at: datetime
    end_at: datetime
    price_minor: int
    currency: str
    distance_km: float | None
    cost: dict[str, int]
    lapsed: str | None = Field(
        description="the booking status that ended the match unserved (expired, declined, "
        "cancelled): its quantity went back to the demand; null while it stands"
    )


class UnmatchedOut(BaseModel):
    round_id: int
    demand_id: int
    reason: str
    message: dict[str, str] = Field(
        description='The reason as a sentence for the demander: {"en": ..., "zh-CN": ...}'
    )
    detail: dict[str, Any]

    @classmethod
    def of(cls, u: Unmatched) -> UnmatchedOut:
        return cls(round_id=u.round_id, demand_id=u.demand_id, reason=u.reason,
                   message=reason_message(u.reason), detail=u.detail)  # fmt: skip


class RoundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    started_by: int | None
    weights: dict[str, int]
    fairness_share: float | None
    demands: int
    matched: int
    lost_races: int
    objective: int
    solvers: dict[str, Any]
    created_at: datetime


class RoundResultOut(BaseModel):
    round: RoundOut
    matches: list[MatchOut]
    unmatched: list[UnmatchedOut]

    @classmethod
    def of(
        cls, rnd: MatchRound, matches: Sequence[Match], unmatched: Sequence[Unmatched]
    ) -> RoundResultOut:
        return cls(
            round=RoundOut.model_validate(rnd),
            matches=[MatchOut.model_validate(m) for m in matches],
            unmatched=[UnmatchedOut.of(u) for u in unmatched],
        )


@router.post("/rounds", status_code=201, response_model=RoundResultOut)
def start_round(mutation: MutationDep, body: RoundIn | None = None) -> JSONResponse:
    """Run a batch round now (operators): solve, hold the matches, explain the misses."""
    spec = body or RoundIn()

    def action(session: Session) -> RoundResultOut:
        result = run_round(session, ctx=mutation.platform.ctx, principal=mutation.principal,
                           spec=spec)  # fmt: skip
        return RoundResultOut.of(result.round, result.matches, result.unmatched)

    return mutation.run(action, status_code=201)


@router.get("/rounds", response_model=list[RoundOut])
def list_rounds(
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[RoundOut]:
    with platform.db.read() as session:
        rows = read.list_rounds(session, principal=principal, limit=limit, offset=offset)
        return [RoundOut.model_validate(r) for r in rows]


@router.get("/rounds/{round_id}", response_model=RoundResultOut)
def get_round(round_id: Id, platform: PlatformDep, principal: PrincipalDep) -> RoundResultOut:
    with platform.db.read() as session:
        rnd, matches, unmatched = read.get_round(session, principal=principal, round_id=round_id)
        return RoundResultOut.of(rnd, matches, unmatched)


@router.get("/matches", response_model=list[MatchOut])
def list_matches(
    platform: PlatformDep,
    principal: PrincipalDep,
    demand_id: Id | None = None,
    round_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[MatchOut]:
    """Matches you are party to (your demands, your capacity); all for operators and auditors."""
    with platform.db.read() as session:
        rows = read.list_matches(session, principal=principal, demand_id=demand_id,
                                 round_id=round_id, limit=limit, offset=offset)  # fmt: skip
        return [MatchOut.model_validate(m) for m in rows]
