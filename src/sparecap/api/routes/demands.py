"""Demand posts, quotes on them, instant match and explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.api.routes.rounds import MatchOut, RoundResultOut, UnmatchedOut
from sparecap.db.demands import Demand
from sparecap.db.models import Category
from sparecap.domain.demands import DemandEvent, DemandStatus, QuoteEvent
from sparecap.services import demands as svc
from sparecap.services import matches as read
from sparecap.services import negotiation
from sparecap.services.ids import MAX_OFFSET, Id
from sparecap.services.rounds import WeightsIn, instant_match

router = APIRouter(prefix="/v1", tags=["demands"])


class DemandOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    demander_id: int
    category: str
    title: str
    attributes: dict[str, Any]
    quantity: int
    quantity_unit: str
    matched_quantity: int
    earliest_start: datetime
    deadline: datetime
    lat: float | None
    lon: float | None
    max_distance_km: float | None
    max_price_minor: int
    currency: str
    splittable: bool
    min_lot: int
    status: str
    last_reason: str | None

    @classmethod
    def of(cls, demand: Demand, category: str) -> DemandOut:
        return cls.model_validate({**_columns(demand), "category": category})


def _columns(demand: Demand) -> dict[str, Any]:
    return {c: getattr(demand, c) for c in DemandOut.model_fields if c != "category"}


def _out(session: Session, demand: Demand) -> DemandOut:
    category = session.get(Category, demand.category_id)
    return DemandOut.of(demand, category.code if category else "")


class QuoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    demand_id: int
    provider_id: int
    author_id: int
    parent_id: int | None
    resource_id: int
    unit_id: int | None
    price_minor: int
    currency: str
    quantity: int
    start_at: datetime
    end_at: datetime
    status: str
    booking_id: int | None
    note: str


class AcceptedOut(BaseModel):
    quote: QuoteOut
    match: MatchOut


class ExplanationOut(BaseModel):
    demand: DemandOut
    matches: list[MatchOut]
    unmatched: list[UnmatchedOut]


class MatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: WeightsIn = WeightsIn()


@router.post("/demands", status_code=201, response_model=DemandOut)
def post_demand(body: svc.DemandIn, mutation: MutationDep) -> JSONResponse:
    """Post a need (demanders; operators for anyone)."""

    def action(session: Session) -> DemandOut:
        ctx, who = mutation.platform.ctx, mutation.principal
        return _out(session, svc.post_demand(session, ctx=ctx, principal=who, spec=body))

    return mutation.run(action, status_code=201)


@router.get("/demands", response_model=list[DemandOut])
def list_demands(
    platform: PlatformDep,
    principal: PrincipalDep,
    status: DemandStatus | None = None,
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[DemandOut]:
    """Yours; providers also see every live demand; operators and auditors see all."""
    with platform.db.read() as session:
        rows = svc.list_demands(session, principal=principal, status=status, category=category,
                                limit=limit, offset=offset)  # fmt: skip
        return [_out(session, d) for d in rows]


@router.get("/demands/{demand_id}", response_model=DemandOut)
def get_demand(demand_id: Id, platform: PlatformDep, principal: PrincipalDep) -> DemandOut:
    with platform.db.read() as session:
        return _out(session, svc.get_demand(session, principal=principal, demand_id=demand_id))


@router.get("/demands/{demand_id}/explanation", response_model=ExplanationOut)
def explain(
    demand_id: Id,
    platform: PlatformDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ExplanationOut:
    """Matches with their cost breakdowns, and rounds' reasons for a miss, newest first
    (`limit` and `offset` page the misses)."""
    with platform.db.read() as session:
        why = read.explain_demand(
            session, principal=principal, demand_id=demand_id, misses=limit, skip=offset
        )
        return ExplanationOut(
            demand=_out(session, why.demand),
            matches=[MatchOut.model_validate(m) for m in why.matches],
            unmatched=[UnmatchedOut.of(u) for u in why.unmatched],
        )


@router.post("/demands/{demand_id}/match", response_model=RoundResultOut)
def match_now(demand_id: Id, mutation: MutationDep, body: MatchIn | None = None) -> JSONResponse:
    """Instant match: hold the best feasible offer now, or say why there is none."""
    weights = (body or MatchIn()).weights

    def action(session: Session) -> RoundResultOut:
        result = instant_match(session, ctx=mutation.platform.ctx, principal=mutation.principal,
                               demand_id=demand_id, weights=weights)  # fmt: skip
        return RoundResultOut.of(result.round, result.matches, result.unmatched)

    return mutation.run(action)


@router.post("/demands/{demand_id}/quotes", status_code=201, response_model=QuoteOut)
def create_quote(demand_id: Id, body: negotiation.QuoteIn, mutation: MutationDep) -> JSONResponse:
    """A provider quotes with its own resource."""

    def action(session: Session) -> QuoteOut:
        quote = negotiation.create_quote(session, ctx=mutation.platform.ctx,
                                        principal=mutation.principal, demand_id=demand_id,
                                        spec=body)  # fmt: skip
        return QuoteOut.model_validate(quote)

    return mutation.run(action, status_code=201)


@router.get("/demands/{demand_id}/quotes", response_model=list[QuoteOut])
def list_quotes(demand_id: Id, platform: PlatformDep, principal: PrincipalDep) -> list[QuoteOut]:
    with platform.db.read() as session:
        svc.get_demand(session, principal=principal, demand_id=demand_id)
        rows = negotiation.list_quotes(session, principal=principal, demand_id=demand_id)
        return [QuoteOut.model_validate(q) for q in rows]


@router.post("/demands/{demand_id}/{event}", response_model=DemandOut)
def change(demand_id: Id, event: DemandEvent, mutation: MutationDep) -> JSONResponse:
    """withdraw (live demands) or close (matched ones); its demander or an operator."""

    def action(session: Session) -> DemandOut:
        demand = svc.change_demand(session, ctx=mutation.platform.ctx,
                                   principal=mutation.principal, demand_id=demand_id,
                                   event=event)  # fmt: skip
        return _out(session, demand)

    return mutation.run(action)


@router.get("/quotes/{quote_id}", response_model=QuoteOut)
def get_quote(quote_id: Id, platform: PlatformDep, principal: PrincipalDep) -> QuoteOut:
    with platform.db.read() as session:
        quote = negotiation.get_quote(session, principal=principal, quote_id=quote_id)
        return QuoteOut.model_validate(quote)


@router.post("/quotes/{quote_id}/accept", response_model=AcceptedOut)
def accept(quote_id: Id, mutation: MutationDep) -> JSONResponse:
    """The other side accepts; the booking is made in the same transaction (409 if taken)."""

    def action(session: Session) -> AcceptedOut:
        quote, match = negotiation.accept_quote(session, ctx=mutation.platform.ctx,
                                               principal=mutation.principal,
                                               quote_id=quote_id)  # fmt: skip
        return AcceptedOut(
            quote=QuoteOut.model_validate(quote), match=MatchOut.model_validate(match)
        )

    return mutation.run(action)


@router.post("/quotes/{quote_id}/counter", status_code=201, response_model=QuoteOut)
def counter(quote_id: Id, body: negotiation.CounterIn, mutation: MutationDep) -> JSONResponse:
    """The other side answers with new terms: a new quote, the old one countered."""

    def action(session: Session) -> QuoteOut:
        quote = negotiation.counter_quote(session, ctx=mutation.platform.ctx,
                                         principal=mutation.principal, quote_id=quote_id,
                                         spec=body)  # fmt: skip
        return QuoteOut.model_validate(quote)

    return mutation.run(action, status_code=201)


@router.post("/quotes/{quote_id}/{event}", response_model=QuoteOut)
def respond(quote_id: Id, event: QuoteEvent, mutation: MutationDep) -> JSONResponse:
    """decline (the other side) or withdraw (the author)."""

    def action(session: Session) -> QuoteOut:
        quote = negotiation.respond_to_quote(session, ctx=mutation.platform.ctx,
                                            principal=mutation.principal, quote_id=quote_id,
                                            event=event)  # fmt: skip
        return QuoteOut.model_validate(quote)

    return mutation.run(action)
