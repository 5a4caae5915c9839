"""Quotes and negotiation: a provider offers, the other side accepts, declines or counters.

An accepted quote becomes a booking through the core booking service in the same
transaction; if the capacity is gone, the booking service's 409 rolls the acceptance back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.demands import Demand, Match, Quote
from sparecap.db.models import Resource
from sparecap.domain.availability import Interval
from sparecap.domain.clock import ensure_utc
from sparecap.domain.demands import (
    DemandActor,
    LifecycleError,
    QuantityUnit,
    QuoteEvent,
    QuoteSide,
    QuoteStatus,
    quantity_duration,
    resolve_quote,
)
from sparecap.domain.money import MAX_MINOR
from sparecap.services.bookings import BookingIn, create_booking
from sparecap.services.candidates import rate_for
from sparecap.services.context import ServiceContext
from sparecap.services.demands import (
    MAX_QUANTITY,
    Instant,
    add_matched,
    is_live,
    load_for_change,
    may_see,
    remaining,
)
from sparecap.services.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from sparecap.services.ids import Id
from sparecap.services.principals import Principal, Role
from sparecap.services.quote_log import record_quote
from sparecap.services.resources import get_resource


class QuoteIn(BaseModel):
    """A provider's offer: price_minor is the total for `quantity` over [start, end)."""

    model_config = ConfigDict(extra="forbid")

    resource_id: Id
    unit_id: Id | None = None
    price_minor: int = Field(ge=0, le=MAX_MINOR)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    start: Instant
    end: Instant
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _ordered(self) -> QuoteIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CounterIn(BaseModel):
    """A counter changes the price, and may change quantity and window."""

    model_config = ConfigDict(extra="forbid")

    price_minor: int = Field(ge=0, le=MAX_MINOR)
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)
    start: Instant | None = None
    end: Instant | None = None
    note: str = Field(default="", max_length=500)


def _check_live(ctx: ServiceContext, demand: Demand) -> None:
    if not is_live(demand, ctx.clock.now()):
        raise ConflictError(f"demand {demand.id} is {demand.status}", code="demand_not_live")


def _check_terms(
    demand: Demand, quantity: int, start: datetime, end: datetime, resource: Resource
) -> None:
    if resource.currency != demand.currency:
        raise InvalidInputError(
            f"the demand is priced in {demand.currency}", code="currency_mismatch"
        )
    if start < demand.earliest_start or end > demand.deadline:
        raise InvalidInputError(
            "the window must lie between the demand's earliest start and deadline",
            code="invalid_window",
        )
    if quantity > remaining(demand):
        raise InvalidInputError(
            f"the demand needs only {remaining(demand)} more", code="quantity_exceeds_demand"
        )
    whole = not demand.splittable or QuantityUnit(demand.quantity_unit) is not QuantityUnit.PIECES
    if whole and quantity != remaining(demand):
        raise InvalidInputError(
            f"this demand is not splittable: quote all {remaining(demand)}", code="not_splittable"
        )
    if quantity < min(demand.min_lot, remaining(demand)):
        raise InvalidInputError(f"below the minimum lot of {demand.min_lot}", code="below_min_lot")
    # Hours and slots are one unit for a stretch: the window is that stretch, so the demand
    # never counts more time as matched than the booking holds.
    stretch = quantity_duration(QuantityUnit(demand.quantity_unit), quantity, resource.slot_minutes)
    if stretch is not None and end - start != stretch:
        raise InvalidInputError(
            f"{quantity} {demand.quantity_unit} take a window of {stretch}", code="invalid_window"
        )


def create_quote(
    session: Session, *, ctx: ServiceContext, principal: Principal, demand_id: int, spec: QuoteIn
) -> Quote:
    """A provider quotes with one of its own resources (an operator may quote for anyone's)."""
    principal.require(Role.PROVIDER, Role.OPERATOR)
    demand = load_for_change(session, demand_id)
    # Who may see it before whether it is live: a stranger learns nothing of either.
    if not may_see(principal, demand):
        raise NotFoundError(f"demand {demand_id} not found", code="unknown_demand")
    _check_live(ctx, demand)
    resource = get_resource(session, resource_id=spec.resource_id)
    principal.require_owner_or_operator(resource.provider_id, "resource")
    if resource.category_id != demand.category_id:
        raise InvalidInputError(
            "the resource is not in the demand's category", code="wrong_category"
        )
    if spec.unit_id is not None and all(u.id != spec.unit_id for u in resource.units):
        raise NotFoundError(f"unit {spec.unit_id} is not part of resource", code="unknown_unit")
    start, end = ensure_utc(spec.start), ensure_utc(spec.end)
    _check_terms(demand, spec.quantity, start, end, resource)
    what = _Capacity(resource.provider_id, resource.id, spec.unit_id, resource.currency)
    terms = _Terms(spec.price_minor, spec.quantity, Interval(start, end), spec.note)
    quote = _offer(session, ctx, demand, principal, what=what, terms=terms)
    record_quote(session, ctx, quote, demand, "offer", by=principal.participant_id)
    return quote


@dataclass(frozen=True, slots=True)
class _Capacity:
    """What a quote offers: whose, which resource and unit, in which currency."""

    provider_id: int
    resource_id: int
    unit_id: int | None
    currency: str

    @classmethod
    def of(cls, quote: Quote) -> _Capacity:
        return cls(quote.provider_id, quote.resource_id, quote.unit_id, quote.currency)


@dataclass(frozen=True, slots=True)
class _Terms:
    price_minor: int
    quantity: int
    window: Interval
    note: str


def _offer(
    session: Session,
    ctx: ServiceContext,
    demand: Demand,
    author: Principal,
    *,
    what: _Capacity,
    terms: _Terms,
    parent: Quote | None = None,
) -> Quote:
    """A new quote in `offered`: a first offer, or a counter to `parent`."""
    now = ctx.clock.now()
    quote = Quote(
        demand_id=demand.id,
        provider_id=what.provider_id,
        author_id=author.participant_id,
        parent_id=parent.id if parent else None,
        resource_id=what.resource_id,
        unit_id=what.unit_id,
        price_minor=terms.price_minor,
        currency=what.currency,
        quantity=terms.quantity,
        start_at=terms.window.start,
        end_at=terms.window.end,
        status=QuoteStatus.OFFERED.value,
        note=terms.note,
        created_at=now,
        updated_at=now,
    )
    session.add(quote)
    session.flush()
    return quote


def _sides(principal: Principal, quote: Quote, demand: Demand) -> set[QuoteSide]:
    """The capacities in which the caller may act on this quote."""
    me = principal.participant_id
    # A quote the demander did not write is the provider's side (an operator may write it for
    # the provider), so its provider may not accept it: only the other side agrees.
    other = quote.provider_id if quote.author_id == demand.demander_id else demand.demander_id
    sides: set[QuoteSide] = set()
    if me == quote.author_id or (me != other and me in {quote.provider_id, demand.demander_id}):
        sides.add(QuoteSide.AUTHOR)
    elif me == other:
        sides.add(QuoteSide.COUNTERPARTY)
    if principal.is_operator:
        sides.add(QuoteSide.OPERATOR)
    if not sides:
        raise NotFoundError(f"quote {quote.id} not found", code="unknown_quote")
    return sides


def _load(
    session: Session, ctx: ServiceContext, principal: Principal, quote_id: int
) -> tuple[Quote, Demand]:
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise NotFoundError(f"quote {quote_id} not found", code="unknown_quote")
    demand = load_for_change(session, quote.demand_id)
    # Who may see it before whether it is live: a stranger learns nothing of either.
    if not _party(principal, quote, demand):
        raise NotFoundError(f"quote {quote_id} not found", code="unknown_quote")
    _check_live(ctx, demand)
    session.refresh(quote, with_for_update=True)
    return quote, demand


def _move(quote: Quote, demand: Demand, principal: Principal, event: QuoteEvent) -> None:
    if Role.AUDITOR in principal.roles and len(principal.roles) == 1:
        raise ForbiddenError("auditors read only", code="read_only")
    try:
        quote.status = resolve_quote(
            event, QuoteStatus(quote.status), _sides(principal, quote, demand)
        ).value
    except LifecycleError as exc:
        raise ConflictError(str(exc), code=exc.code) from exc


def respond_to_quote(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    quote_id: int,
    event: QuoteEvent,
) -> Quote:
    """Decline or withdraw a quote (accept and counter have their own use cases)."""
    if event not in (QuoteEvent.DECLINE, QuoteEvent.WITHDRAW):
        raise InvalidInputError(f"{event} needs its own call", code="unsupported_event")
    quote, demand = _load(session, ctx, principal, quote_id)
    _move(quote, demand, principal, event)
    quote.updated_at = ctx.clock.now()
    record_quote(session, ctx, quote, demand, event.value, by=principal.participant_id)
    session.flush()
    return quote


def counter_quote(
    session: Session, *, ctx: ServiceContext, principal: Principal, quote_id: int, spec: CounterIn
) -> Quote:
    """The other side answers with new terms: the old quote is countered, a new one offered."""
    quote, demand = _load(session, ctx, principal, quote_id)
    _move(quote, demand, principal, QuoteEvent.COUNTER)
    now = ctx.clock.now()
    quote.updated_at = now
    start = ensure_utc(spec.start) if spec.start else quote.start_at
    end = ensure_utc(spec.end) if spec.end else quote.end_at
    if end <= start:
        raise InvalidInputError("end must be after start", code="invalid_window")
    quantity = spec.quantity or quote.quantity
    _check_terms(demand, quantity, start, end, get_resource(session, resource_id=quote.resource_id))
    terms = _Terms(spec.price_minor, quantity, Interval(start, end), spec.note)
    counter = _offer(
        session, ctx, demand, principal, what=_Capacity.of(quote), terms=terms, parent=quote
    )
    record_quote(session, ctx, quote, demand, "countered", by=principal.participant_id)
    record_quote(session, ctx, counter, demand, "counter", by=principal.participant_id)
    return counter


def accept_quote(
    session: Session, *, ctx: ServiceContext, principal: Principal, quote_id: int
) -> tuple[Quote, Match]:
    """Accept: the booking is made in the demander's name and checked out at once (confirmed
    on instant-book resources, requested on the others), then the demand counts the match."""
    quote, demand = _load(session, ctx, principal, quote_id)
    _move(quote, demand, principal, QuoteEvent.ACCEPT)
    resource = get_resource(session, resource_id=quote.resource_id)
    _check_terms(demand, quote.quantity, quote.start_at, quote.end_at, resource)
    pieces = QuantityUnit(demand.quantity_unit) is QuantityUnit.PIECES
    request = BookingIn(
        resource_id=quote.resource_id,
        unit_id=quote.unit_id,
        start=quote.start_at,
        end=quote.end_at,
        quantity=1
        if not pieces
        else rate_for(quote.quantity, Interval(quote.start_at, quote.end_at)),
        note=f"quote {quote.id} on demand {demand.id}",
    )
    demander = Principal(demand.demander_id, frozenset({Role.DEMANDER}))
    booking = create_booking(
        session, ctx=ctx, principal=demander, request=request, agreed_price_minor=quote.price_minor
    )
    now = ctx.clock.now()
    quote.booking_id, quote.updated_at = booking.id, now
    cost = {"price": quote.price_minor, "distance": 0, "delay": 0, "total": quote.price_minor}
    match = Match(demand_id=demand.id, quote_id=quote.id, booking_id=booking.id,
                  provider_id=resource.provider_id, resource_id=resource.id,
                  unit_id=booking.unit_id, quantity=quote.quantity, start_at=quote.start_at,
                  end_at=quote.end_at, price_minor=quote.price_minor, currency=quote.currency,
                  distance_km=None, cost=cost, created_at=now)  # fmt: skip
    session.add(match)
    session.flush()
    record_quote(session, ctx, quote, demand, "accept", by=principal.participant_id)
    recorded = {"match": match.id, "quote": quote.id, "booking": booking.id, "cost": cost}
    acceptor = _acceptor(principal, quote, demand)
    add_matched(session, ctx, [(demand, quote.quantity, recorded)], acceptor)
    return quote, match


def _acceptor(principal: Principal, quote: Quote, demand: Demand) -> DemandActor:
    """In which capacity the accepting caller moves the demand (for its ledger entry)."""
    if principal.participant_id == demand.demander_id:
        return DemandActor.DEMANDER
    if principal.participant_id == quote.provider_id:
        return DemandActor.PROVIDER
    return DemandActor.OPERATOR


def get_quote(session: Session, *, principal: Principal, quote_id: int) -> Quote:
    quote = session.get(Quote, quote_id)
    demand = session.get(Demand, quote.demand_id) if quote else None
    if quote is None or demand is None:
        raise NotFoundError(f"quote {quote_id} not found", code="unknown_quote")
    if not _party(principal, quote, demand):
        raise NotFoundError(f"quote {quote_id} not found", code="unknown_quote")
    return quote


def _party(principal: Principal, quote: Quote, demand: Demand) -> bool:
    """May the caller see this quote: one of its sides, its author, or staff."""
    parties = {quote.provider_id, demand.demander_id, quote.author_id}
    return principal.reads_everything or principal.participant_id in parties


def list_quotes(session: Session, *, principal: Principal, demand_id: int) -> list[Quote]:
    """A demand's quotes: all of them for its demander and staff, a provider's own otherwise."""
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise NotFoundError(f"demand {demand_id} not found", code="unknown_demand")
    query = select(Quote).where(Quote.demand_id == demand_id)
    if not (principal.reads_everything or principal.participant_id == demand.demander_id):
        query = query.where(Quote.provider_id == principal.participant_id)
    return list(session.scalars(query.order_by(Quote.id)))
