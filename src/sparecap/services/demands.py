"""Demand posts: posting a need, reading it, its lifecycle, and the ledger entry of every change."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from sparecap.db.bulk import update_rows
from sparecap.db.demands import Demand, Match, Quote
from sparecap.db.models import Category
from sparecap.domain.categories import AttributeField, AttributeValidationError, FieldType
from sparecap.domain.clock import ensure_utc
from sparecap.domain.demands import (
    LIVE,
    DemandActor,
    DemandEvent,
    DemandStatus,
    LifecycleError,
    QuantityUnit,
    lapse_event,
    match_event,
    resolve_demand,
)
from sparecap.domain.geo import valid_point
from sparecap.domain.ledger.entries import pseudonym
from sparecap.domain.money import MAX_MINOR, MINOR_UNIT_EXPONENT
from sparecap.services.categories import get_category, schema_of
from sparecap.services.context import ServiceContext
from sparecap.services.errors import ConflictError, InvalidInputError, NotFoundError
from sparecap.services.ledger import append_entry
from sparecap.services.notifications import demand_changed
from sparecap.services.principals import Principal, Role
from sparecap.services.quote_log import expire_unanswered_quotes
from sparecap.services.search import MAX_RADIUS_KM

MAX_QUANTITY = 10**9
# How far ahead a deadline may reach. A round expands each candidate resource's weekly plan
# over its demands' windows, so this bounds a round's work (resources take bookings 90 days
# ahead by default).
MAX_DEMAND_HORIZON = timedelta(days=366)
# The instants a demand or a quote may name. Beyond them a round's date arithmetic (a day of
# slack around its span, buffers, durations) overflows Python's datetime, years 1 to 9999.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(at: datetime) -> datetime:
    try:
        utc = ensure_utc(at)
    except OverflowError:  # an offset pushed it past year 1 or 9999
        utc = None
    if utc is None or not EARLIEST_INSTANT <= utc <= LATEST_INSTANT:
        raise ValueError(f"must lie between {EARLIEST_INSTANT.year} and {LATEST_INSTANT.year}")
    return utc


# An aware instant, in UTC, within the range above.
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


class DemandIn(BaseModel):
    """A posted need. max_price_minor is the ceiling per hour, slot or piece."""

    model_config = ConfigDict(extra="forbid")

    category: str
    title: str = Field(default="", max_length=200)
    attributes: dict[str, Any] = Field(default_factory=dict)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    quantity_unit: QuantityUnit
    earliest_start: Instant
    deadline: Instant
    lat: float | None = None
    lon: float | None = None
    max_distance_km: float | None = Field(default=None, gt=0, le=MAX_RADIUS_KM)
    max_price_minor: int = Field(ge=0, le=MAX_MINOR)
    currency: str
    splittable: bool = False
    min_lot: int = Field(default=1, ge=1, le=MAX_QUANTITY)

    @model_validator(mode="after")
    def _coherent(self) -> DemandIn:
        if self.deadline <= self.earliest_start:
            raise ValueError("deadline must be after earliest_start")
        if self.currency not in MINOR_UNIT_EXPONENT:
            raise ValueError(f"unknown currency {self.currency!r}")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if self.lat is not None and self.lon is not None and not valid_point(self.lat, self.lon):
            raise ValueError("lat must be within ±90 and lon within ±180")
        if self.max_distance_km is not None and self.lat is None:
            raise ValueError("max_distance_km needs a location (lat, lon)")
        if self.min_lot > self.quantity:
            raise ValueError("min_lot cannot exceed the quantity")
        if self.splittable and self.quantity_unit is not QuantityUnit.PIECES:
            raise ValueError("only pieces can be split across lines")
        return self


def _check_required(category: Category, required: dict[str, Any]) -> None:
    """Required attributes use the category's names and types (numbers are minimums)."""
    schema = schema_of(category)
    problems = [f"{name}: unknown attribute" for name in required if name not in schema.fields]
    for name, wanted in required.items():
        spec = schema.fields.get(name)
        problem = None if spec is None else _required_problem(name, spec, wanted)
        if problem:
            problems.append(problem)
    if problems:
        error = AttributeValidationError(problems)
        raise InvalidInputError(
            f"required attributes do not fit category {category.code!r}: {error}",
            code="invalid_attributes",
            problems=problems,
        )


def _required_problem(name: str, spec: AttributeField, wanted: Any) -> str | None:
    """What is wrong with one required value, if anything. The round compares values with
    the resources' (list items in a set), so only the schema's own types may get there."""
    match spec.type:
        case FieldType.INTEGER | FieldType.NUMBER:
            number = not isinstance(wanted, bool) and isinstance(wanted, int | float)
            if not number or (isinstance(wanted, float) and not math.isfinite(wanted)):
                return f"{name}: expected a number"
        case FieldType.STRING_LIST:
            items = wanted if isinstance(wanted, list) else [wanted]
            if not all(isinstance(item, str) for item in items):
                return f"{name}: expected a list of text values"
        case FieldType.ENUM if wanted not in spec.values:
            return f"{name}: {wanted!r} is not one of {list(spec.values)}"
        case FieldType.STRING if not isinstance(wanted, str):
            return f"{name}: expected text"
        case FieldType.BOOLEAN if not isinstance(wanted, bool):
            return f"{name}: expected true or false"
    return None


def post_demand(
    session: Session, *, ctx: ServiceContext, principal: Principal, spec: DemandIn
) -> Demand:
    principal.require(Role.DEMANDER, Role.OPERATOR)
    category = get_category(session, code=spec.category)
    _check_required(category, spec.attributes)
    now = ctx.clock.now()
    if ensure_utc(spec.deadline) <= now:
        raise InvalidInputError("the deadline has already passed", code="invalid_window")
    if ensure_utc(spec.deadline) > now + MAX_DEMAND_HORIZON:
        raise InvalidInputError(
            f"the deadline is more than {MAX_DEMAND_HORIZON.days} days away", code="invalid_window"
        )
    demand = Demand(
        demander_id=principal.participant_id,
        category_id=category.id,
        title=spec.title,
        attributes=spec.attributes,
        quantity=spec.quantity,
        quantity_unit=spec.quantity_unit.value,
        matched_quantity=0,
        earliest_start=ensure_utc(spec.earliest_start),
        deadline=ensure_utc(spec.deadline),
        lat=spec.lat,
        lon=spec.lon,
        max_distance_km=spec.max_distance_km,
        max_price_minor=spec.max_price_minor,
        currency=spec.currency,
        splittable=spec.splittable,
        min_lot=spec.min_lot,
        status=DemandStatus.OPEN.value,
        created_at=now,
        updated_at=now,
    )
    session.add(demand)
    session.flush()
    record_demand(session, ctx, demand, event="post", category=category.code)
    return demand


def record_demand(
    session: Session, ctx: ServiceContext, demand: Demand, *, event: str, **extra: Any
) -> None:
    """The ledger entry of a demand change. The place stays off the log: it may be a home."""
    append_entry(
        session,
        kind="demand.event",
        subject=f"demand:{demand.id}",
        at=ctx.clock.now(),
        data={
            "demand": demand.id,
            "event": event,
            "status": demand.status,
            "demander": pseudonym(ctx.ledger_salt, "participant", demand.demander_id),
            "quantity": demand.quantity,
            "quantity_unit": demand.quantity_unit,
            "matched_quantity": demand.matched_quantity,
            "earliest_start": demand.earliest_start.isoformat(),
            "deadline": demand.deadline.isoformat(),
            "max_price_minor": demand.max_price_minor,
            "currency": demand.currency,
            **extra,
        },
    )


def get_demand(session: Session, *, principal: Principal, demand_id: int) -> Demand:
    """Its demander and staff see a demand always; providers see live ones, to quote on, and
    the ones they quoted on or hold a match of, to follow their deal."""
    demand = session.get(Demand, demand_id)
    if demand is None or not (may_see(principal, demand) or _in_deal(session, principal, demand)):
        raise NotFoundError(f"demand {demand_id} not found", code="unknown_demand")
    return demand


def _in_deal(session: Session, principal: Principal, demand: Demand) -> bool:
    if Role.PROVIDER not in principal.roles:
        return False
    me = principal.participant_id
    quoted = select(Quote.id).where(Quote.demand_id == demand.id, Quote.provider_id == me)
    matched = select(Match.id).where(Match.demand_id == demand.id, Match.provider_id == me)
    return session.scalar(select(exists(quoted) | exists(matched))) or False


def may_see(principal: Principal, demand: Demand) -> bool:
    if principal.reads_everything or principal.participant_id == demand.demander_id:
        return True
    return Role.PROVIDER in principal.roles and DemandStatus(demand.status) in LIVE


def list_demands(
    session: Session,
    *,
    principal: Principal,
    status: DemandStatus | None = None,
    category: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Demand]:
    query = select(Demand)
    if not principal.reads_everything:
        mine = Demand.demander_id == principal.participant_id
        if Role.PROVIDER in principal.roles:
            mine = mine | Demand.status.in_([s.value for s in LIVE])
        query = query.where(mine)
    if status is not None:
        query = query.where(Demand.status == status.value)
    if category is not None:
        query = query.where(Demand.category_id == get_category(session, code=category).id)
    return list(session.scalars(query.order_by(Demand.id).limit(limit).offset(offset)))


def load_for_change(session: Session, demand_id: int) -> Demand:
    # Row lock on PostgreSQL, so a round, a quote acceptance and a withdrawal of one demand
    # serialise; SQLite's single writer already does.
    demand = session.scalar(select(Demand).where(Demand.id == demand_id).with_for_update())
    if demand is None:
        raise NotFoundError(f"demand {demand_id} not found", code="unknown_demand")
    return demand


def actor_of(principal: Principal, demand: Demand) -> DemandActor:
    if principal.participant_id == demand.demander_id:
        return DemandActor.DEMANDER
    if principal.is_operator:
        return DemandActor.OPERATOR
    raise NotFoundError(f"demand {demand.id} not found", code="unknown_demand")


def apply_event(
    session: Session,
    ctx: ServiceContext,
    demand: Demand,
    event: DemandEvent,
    actor: DemandActor,
    **extra: Any,
) -> None:
    demand.status = _target(demand, event, actor)
    demand.updated_at = ctx.clock.now()
    record_demand(session, ctx, demand, event=event.value, actor_role=actor.value, **extra)
    if actor in (DemandActor.SYSTEM, DemandActor.OPERATOR):  # not the demander's own act
        demand_changed(session, ctx, demand, event, **extra)


def _target(demand: Demand, event: DemandEvent, actor: DemandActor) -> str:
    """The status `event` moves the demand to; ConflictError if the lifecycle forbids it."""
    try:
        return resolve_demand(event, DemandStatus(demand.status), actor).target.value
    except LifecycleError as exc:
        raise ConflictError(str(exc), code=exc.code) from exc


def change_demand(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    demand_id: int,
    event: DemandEvent,
) -> Demand:
    """Withdraw or close a demand (its demander or an operator)."""
    if event not in (DemandEvent.WITHDRAW, DemandEvent.CLOSE):
        raise InvalidInputError(f"{event} is the engine's to make", code="unsupported_event")
    demand = load_for_change(session, demand_id)
    apply_event(session, ctx, demand, event, actor_of(principal, demand))
    session.flush()
    expire_unanswered_quotes(session, ctx, [demand.id])
    return demand


def add_matched(
    session: Session,
    ctx: ServiceContext,
    matched: Sequence[tuple[Demand, int, Mapping[str, Any]]],
    actor: DemandActor,
) -> None:
    """Count each (demand, quantity, match) as matched and move the demand on (partially or
    fully matched); each demand at most once. Every move is checked before any is written.

    One ledger entry per demand records both its change and the match that caused it. The
    rows change in one UPDATE per (status, matched quantity): a round matches thousands at
    once, and the unit of work's statement per row cost PostgreSQL most of a second.
    """
    if len({id(demand) for demand, _, _ in matched}) != len(matched):
        raise ValueError("each demand may be matched once per call")
    now = ctx.clock.now()
    events, moves = [], defaultdict(list)
    for demand, quantity, _ in matched:
        total = demand.matched_quantity + quantity
        event = match_event(total, demand.quantity)
        events.append(event)
        moves[(_target(demand, event, actor), total)].append(demand)
    for (status, total), demands in moves.items():
        update_rows(session, demands, {
            "status": status, "matched_quantity": total, "last_reason": None, "updated_at": now,
        })  # fmt: skip
    for (demand, _, match), event in zip(matched, events, strict=True):
        record_demand(session, ctx, demand, event=event.value, actor_role=actor.value, **match)
    full = [
        d.id for (d, _, _), e in zip(matched, events, strict=True) if e is DemandEvent.MATCH_FULL
    ]
    if full:
        expire_unanswered_quotes(session, ctx, full)


def release_matched(
    session: Session, ctx: ServiceContext, demand: Demand, quantity: int, **match: Any
) -> None:
    """Give back `quantity` of a match that fell through (see match_lapse.py): a demand that
    counted it as matched takes part in rounds again. A demand its demander closed or withdrew,
    or that expired, stays as it is."""
    if DemandStatus(demand.status) not in (DemandStatus.PARTIALLY_MATCHED, DemandStatus.MATCHED):
        return
    demand.matched_quantity = max(0, demand.matched_quantity - quantity)
    event = lapse_event(demand.matched_quantity)
    apply_event(session, ctx, demand, event, DemandActor.SYSTEM, **match)


def set_last_reasons(session: Session, reasons: Iterable[tuple[Demand, str]]) -> None:
    """Record why the last round left each demand out (one UPDATE per reason)."""
    by_reason = defaultdict(list)
    for demand, reason in reasons:
        by_reason[reason].append(demand)
    for reason, demands in by_reason.items():
        update_rows(session, demands, {"last_reason": reason})


def expire_demands(session: Session, *, ctx: ServiceContext, limit: int = 1000) -> int:
    """Expire live demands whose deadline has passed; returns how many."""
    now = ctx.clock.now()
    query = (
        select(Demand)
        .where(Demand.status.in_([s.value for s in LIVE]), Demand.deadline <= now)
        .order_by(Demand.deadline, Demand.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    expired = list(session.scalars(query))
    for demand in expired:
        apply_event(session, ctx, demand, DemandEvent.EXPIRE, DemandActor.SYSTEM)
    session.flush()
    expire_unanswered_quotes(session, ctx, [d.id for d in expired])
    return len(expired)


def remaining(demand: Demand) -> int:
    return max(0, demand.quantity - demand.matched_quantity)


def is_live(demand: Demand, now: datetime) -> bool:
    return DemandStatus(demand.status) in LIVE and demand.deadline > now
