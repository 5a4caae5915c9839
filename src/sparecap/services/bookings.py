"""Bookings: holding, checking out, moving through the state machine, rescheduling, timers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from sparecap.db.bulk import insert_many, insert_returning, one_of
from sparecap.db.models import Booking, BookingEvent, Resource, Unit
from sparecap.db.money import BookingTerms
from sparecap.domain.availability import (
    AvailabilityError,
    BookingRules,
    Interval,
    check_request,
    slot_starts,
)
from sparecap.domain.bookings import (
    BLOCKING,
    Actor,
    Event,
    Status,
    TransitionError,
    checkout_event,
    resolve,
    timer_for,
    transition_for,
)
from sparecap.domain.clock import ensure_utc
from sparecap.domain.ledger.entries import pseudonym, salted_hash
from sparecap.domain.money import Money
from sparecap.services.availability import CHUNK, exceptions_of, expand_plan, open_time
from sparecap.services.capacity import (
    CapacityConflictError,
    busy_units,
    change_pooled_usage,
    conflict_windows,
    is_capacity_violation,
)
from sparecap.services.context import ServiceContext
from sparecap.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)
from sparecap.services.escrow import on_transition
from sparecap.services.ids import Id
from sparecap.services.ledger import NewEntry, append_entries, append_entry
from sparecap.services.match_lapse import on_booking_ended
from sparecap.services.notifications import booking_changed
from sparecap.services.principals import Principal, Role
from sparecap.services.resources import WITH_PLAN, get_resource, rules_of, zone_of
from sparecap.services.terms import (
    Deal,
    UsageIn,
    attach_deal,
    current_terms_of_many,
    deal_row,
    pricing_key,
    requote,
    strike_deal,
)


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource_id: Id
    unit_id: Id | None = Field(default=None, description="omit to take any free unit")
    start: AwareDatetime
    end: AwareDatetime
    quantity: int = Field(default=1, ge=1, le=10**9)
    hold: bool = Field(default=False, description="only hold for checkout; do not submit yet")
    note: str = Field(default="", max_length=500)
    expected_usage: UsageIn | None = Field(
        default=None, description="metered use to quote on (kWh, pieces, swaps)"
    )


def _window(start: datetime, end: datetime) -> Interval:
    start, end = ensure_utc(start), ensure_utc(end)
    if not start < end:
        raise InvalidInputError("start must be before end", code="invalid_window")
    return Interval(start, end)


def _validate_request(
    session: Session,
    ctx: ServiceContext,
    resource: Resource,
    window: Interval,
    *,
    check_notice: bool,
    opened: Sequence[Interval] | None = None,
) -> None:
    """Refuse a window the resource does not take; `opened` is its open time around the
    window if the caller has read it already (a batch reads it once per resource)."""
    if not resource.active:
        raise ConflictError("this resource is not taking bookings", code="resource_inactive")
    rules = rules_of(resource)
    if opened is None:
        opened = open_time(session, resource=resource, span=window)
    try:
        check_request(
            window,
            open_time=opened,
            rules=rules,
            zone=zone_of(resource),
            now=ctx.clock.now() if check_notice else window.start,
        )
    except AvailabilityError as exc:
        raise InvalidInputError(str(exc), code=exc.violation.value) from exc


@dataclass(frozen=True, slots=True)
class _Claim:
    """What a booking asks of one unit: the window, the blocked window, the quantity."""

    resource: Resource
    unit: Unit
    window: Interval
    block: Interval
    quantity: int

    @property
    def slots(self) -> list[datetime]:
        if self.unit.exclusive:
            return []
        return slot_starts(self.window, zone_of(self.resource), self.resource.slot_minutes)


def _occupy(
    session: Session, claim: _Claim, write: Callable[[], None], booking_id: int | None
) -> None:
    """Run `write` (which puts the booking in place) and claim pooled slots, in a savepoint.

    The database has the last word: its refusal rolls the savepoint back and becomes a 409
    naming the windows in the way. On PostgreSQL, writers to one unit first queue on the unit's
    row lock: two uncommitted inserts checked by the exclusion constraint would otherwise wait on
    each other and deadlock. SQLite needs no lock: its write transactions already run one at a
    time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Unit.id).where(Unit.id == claim.unit.id).with_for_update())
    try:
        with session.begin_nested():
            write()
            change_pooled_usage(session, unit=claim.unit, slots=claim.slots, delta=claim.quantity)
            session.flush()
    except IntegrityError as exc:
        if not is_capacity_violation(exc):
            raise
        raise _conflict(session, claim, booking_id) from exc


def _release(session: Session, booking: Booking) -> None:
    claim = _claim_of(booking)
    change_pooled_usage(session, unit=claim.unit, slots=claim.slots, delta=-claim.quantity)


def _claim_of(booking: Booking) -> _Claim:
    return _Claim(
        booking.resource,
        booking.unit,
        Interval(booking.start_at, booking.end_at),
        Interval(booking.block_start, booking.block_end),
        booking.quantity,
    )


def _conflict(session: Session, claim: _Claim, booking_id: int | None) -> CapacityConflictError:
    taken = conflict_windows(
        session,
        unit=claim.unit,
        block=claim.block,
        window=claim.window,
        zone=zone_of(claim.resource),
        slot_minutes=claim.resource.slot_minutes,
        quantity=claim.quantity,
        exclude_booking=booking_id,
    )
    return CapacityConflictError(
        f"unit {claim.unit.name!r} of resource {claim.resource.id} is not free for the requested"
        " window",
        conflicts=[{"start": iv.start.isoformat(), "end": iv.end.isoformat()} for iv in taken],
    )


def create_booking(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    request: BookingIn,
    agreed_price_minor: int | None = None,
) -> Booking:
    """Hold capacity for a demander and, unless only a hold is asked for, check it out.

    The checkout is decided before the row is written, so a booking costs one insert however
    many steps its audit trail records. `agreed_price_minor` is for callers that negotiated the
    price (an accepted quote); the API never lets a demander set it.
    """
    principal.require(Role.DEMANDER, Role.OPERATOR)
    resource = get_resource(session, resource_id=request.resource_id)
    window = _window(request.start, request.end)
    _validate_request(session, ctx, resource, window, check_notice=True)
    block = rules_of(resource).blocked(window)
    steps: list[tuple[str, Status | None, Status]] = [("hold", None, Status.HELD)]
    if not request.hold:
        event = checkout_event(resource.instant_book)
        target = resolve(event, Status.HELD, Actor.DEMANDER, instant_book=resource.instant_book)
        assert target.target is not None
        steps.append((event.value, Status.HELD, target.target))
    now = ctx.clock.now()
    deal = strike_deal(
        session, ctx=ctx, resource=resource, window=window, quantity=request.quantity,
        usage=request.expected_usage, agreed_price_minor=agreed_price_minor,
    )  # fmt: skip
    price = deal.quote.price
    last_conflict: CapacityConflictError | None = None
    for unit in _candidate_units(session, resource, request, block):
        booking = Booking(
            resource_id=resource.id,
            unit_id=unit.id,
            demander_id=principal.participant_id,
            status=steps[-1][2].value,
            exclusive=unit.exclusive,
            quantity=request.quantity,
            start_at=window.start,
            end_at=window.end,
            block_start=block.start,
            block_end=block.end,
            price_minor=price.minor,
            currency=price.currency,
            instant_book=resource.instant_book,
            note=request.note,
            created_at=now,
            updated_at=now,
        )
        booking.resource, booking.unit = resource, unit
        _arm_timer(booking, ctx, steps[-1][2], now)
        claim = _Claim(resource, unit, window, block, request.quantity)
        try:
            _occupy(session, claim, partial(session.add, booking), None)
        except CapacityConflictError as exc:
            last_conflict = exc
            continue
        attach_deal(session, ctx=ctx, booking=booking, deal=deal)
        for name, source, target_status in steps:
            _record(session, booking, event=name, source=source, target=target_status,
                    principal=principal, actor=Actor.DEMANDER, now=now, ctx=ctx)  # fmt: skip
        return booking
    assert last_conflict is not None
    raise last_conflict


@dataclass(frozen=True, slots=True)
class HoldIn:
    """One hold of a batch (the matching engine's): a named unit for a demander."""

    demander_id: int
    resource_id: int
    unit_id: int
    start: datetime
    end: datetime
    quantity: int = 1
    note: str = ""

    @property
    def principal(self) -> Principal:
        return Principal(self.demander_id, frozenset({Role.DEMANDER}))

    def request(self) -> BookingIn:
        return BookingIn(
            resource_id=self.resource_id,
            unit_id=self.unit_id,
            start=self.start,
            end=self.end,
            quantity=self.quantity,
            hold=True,
            note=self.note,
        )


# Holds per INSERT statement; each batch has one savepoint to fall back from.
HOLD_BATCH = 500


def hold_many(
    session: Session, *, ctx: ServiceContext, holds: Sequence[HoldIn]
) -> list[Booking | ServiceError]:
    """Hold many units at once, each as create_booking(hold=True) would hold it alone.

    Every hold is checked as a single one is (resource active and open, booking rules,
    notice); holds on exclusive units then go in together, one bulk write and one savepoint per
    batch, and the database's capacity guard checks every row as it checks one. If it refuses
    any row, that batch is retried one hold at a time through create_booking, so only the
    refused holds fail (with their 409) and the rest still go in. Holds on pooled units take
    that path from the start: their slot counters are rows of their own.
    """
    results: list[Booking | ServiceError | None] = [None] * len(holds)
    read = _BatchReads.of(session, ctx, holds)
    now = ctx.clock.now()
    ready: list[tuple[int, dict[str, Any], Deal]] = []
    for i, hold in enumerate(holds):
        try:
            resource = read.resources.get(hold.resource_id)
            if resource is None:
                raise NotFoundError(
                    f"resource {hold.resource_id} not found", code="unknown_resource"
                )
            unit = next((u for u in resource.units if u.id == hold.unit_id), None)
            if unit is None or not unit.exclusive:
                results[i] = create_booking(session, ctx=ctx, principal=hold.principal,
                                            request=hold.request())  # fmt: skip
                continue
            if hold.quantity != 1:
                raise InvalidInputError("an exclusive unit is booked with quantity 1")
            window = _window(hold.start, hold.end)
        except ServiceError as exc:
            results[i] = exc
            continue
        deal = read.check_and_price(session, ctx, resource, window)
        if isinstance(deal, ServiceError):
            results[i] = deal
            continue
        row = _hold_row(ctx, hold, resource, rules=read.rules[resource.id], window=window,
                        deal=deal)  # fmt: skip
        ready.append((i, row, deal))
    terms_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    entries: list[NewEntry] = []
    for first in range(0, len(ready), HOLD_BATCH):
        batch = ready[first : first + HOLD_BATCH]
        inserted = _insert_holds(session, [row for _, row, _ in batch])
        if inserted is None:
            for i, _, _ in batch:
                results[i] = _hold_alone(session, ctx, holds[i])
            continue
        for (i, _, deal), booking in zip(batch, inserted, strict=True):
            results[i] = booking
            terms_rows.append(deal_row(ctx, booking.id, deal))
            step = _Step("hold", None, Status.HELD, holds[i].principal, Actor.DEMANDER, now)
            event_rows.append(step.row(booking))
            entries.append(step.entry(booking, ctx.ledger_salt))
    if terms_rows:
        insert_many(session, BookingTerms, terms_rows)
        insert_many(session, BookingEvent, event_rows)
        append_entries(session, entries)
    return [r for r in results if r is not None]


@dataclass(slots=True)
class _BatchReads:
    """What a batch of holds reads once, and the checks and quotes it has made: holds of one
    resource over one window are checked alike, and holds on resources with the same pricing
    over one window are priced alike, so each is done once."""

    resources: dict[int, Resource]
    terms: dict[int, dict[str, Any]]
    opened: dict[int, list[Interval]]
    rules: dict[int, BookingRules]
    pricing: dict[int, tuple[Any, ...]]
    checked: dict[tuple[int, datetime, datetime], Deal | ServiceError] = field(default_factory=dict)
    deals: dict[tuple[Any, ...], Deal | ServiceError] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session, ctx: ServiceContext, holds: Sequence[HoldIn]) -> _BatchReads:
        resources = _resources_of(session, {h.resource_id for h in holds})
        terms = current_terms_of_many(session, ctx, list(resources))
        return cls(
            resources,
            terms,
            _open_times(session, resources, holds),
            {rid: rules_of(r) for rid, r in resources.items()},
            {rid: pricing_key(r, terms[rid]) for rid, r in resources.items()},
        )

    def check_and_price(
        self, session: Session, ctx: ServiceContext, resource: Resource, window: Interval
    ) -> Deal | ServiceError:
        checked = (resource.id, window.start, window.end)
        if checked not in self.checked:
            self.checked[checked] = self._check(session, ctx, resource, window)
        return self.checked[checked]

    def _check(
        self, session: Session, ctx: ServiceContext, resource: Resource, window: Interval
    ) -> Deal | ServiceError:
        opened = self.opened[resource.id]
        try:
            _validate_request(session, ctx, resource, window, check_notice=True, opened=opened)
        except ServiceError as exc:
            return exc
        priced = (self.pricing[resource.id], window.start, window.end)
        if priced not in self.deals:
            try:
                self.deals[priced] = strike_deal(session, ctx=ctx, resource=resource,
                                                 window=window, quantity=1, usage=None,
                                                 terms=self.terms[resource.id])  # fmt: skip
            except ServiceError as exc:  # a tariff that cannot price it: this hold fails alone
                self.deals[priced] = exc
        return self.deals[priced]


_PLAN = {"units", "windows"}  # the collections WITH_PLAN loads


def _resources_of(session: Session, ids: set[int]) -> dict[int, Resource]:
    """The resources with their units and weekly plan. Those the session holds with both
    loaded already (a round's candidates read them) are taken as they are: a query would
    hand back the same objects unchanged."""
    found: dict[int, Resource] = {}
    for rid in ids:
        held = session.identity_map.get(identity_key(Resource, rid))
        if isinstance(held, Resource) and not inspect(held).unloaded & _PLAN:
            found[rid] = held
    ordered = sorted(ids - found.keys())
    for first in range(0, len(ordered), CHUNK):
        query = select(Resource).options(*WITH_PLAN)
        for r in session.scalars(
            query.where(one_of(session, Resource.id, ordered[first : first + CHUNK]))
        ):
            found[r.id] = r
    return found


def _open_times(
    session: Session, resources: dict[int, Resource], holds: Sequence[HoldIn]
) -> dict[int, list[Interval]]:
    """Each resource's open time over the stretch its holds cover, read in a few queries."""
    spans: dict[int, Interval] = {}
    for h in holds:
        start, end = ensure_utc(h.start), ensure_utc(h.end)
        if h.resource_id in resources and start < end:
            old = spans.get(h.resource_id)
            spans[h.resource_id] = (
                Interval(min(old.start, start), max(old.end, end)) if old else Interval(start, end)
            )
    if not spans:
        return {}
    whole = Interval(min(s.start for s in spans.values()), max(s.end for s in spans.values()))
    exceptions = exceptions_of(session, sorted(spans), whole)
    return {
        rid: expand_plan(resources[rid], exceptions.get(rid, []), span)
        for rid, span in spans.items()
    }


def _hold_row(
    ctx: ServiceContext,
    hold: HoldIn,
    resource: Resource,
    *,
    rules: BookingRules,
    window: Interval,
    deal: Deal,
) -> dict[str, Any]:
    now = ctx.clock.now()
    block = rules.blocked(window)
    timer = timer_for(Status.HELD, start=window.start, end=window.end, entered_at=now,
                      policy=ctx.timers)  # fmt: skip
    return {
        "resource_id": resource.id,
        "unit_id": hold.unit_id,
        "demander_id": hold.demander_id,
        "status": Status.HELD.value,
        "exclusive": True,
        "quantity": 1,
        "start_at": window.start,
        "end_at": window.end,
        "block_start": block.start,
        "block_end": block.end,
        "price_minor": deal.quote.price.minor,
        "currency": deal.quote.price.currency,
        "instant_book": resource.instant_book,
        "note": hold.note,
        "created_at": now,
        "updated_at": now,
        "timer_due_at": timer.due_at if timer else None,
        "timer_event": timer.event.value if timer else None,
    }


def _insert_holds(session: Session, rows: list[dict[str, Any]]) -> list[Booking] | None:
    """Insert the rows in one statement under a savepoint; None if capacity refused any."""
    units = sorted({row["unit_id"] for row in rows})
    try:
        with session.begin_nested():
            if session.get_bind().dialect.name == "postgresql":
                # Queue behind single bookers on these units, in id order as they lock (see
                # _occupy), so two writers never wait on each other.
                lock = select(Unit.id).where(one_of(session, Unit.id, units)).order_by(Unit.id)
                session.execute(lock.with_for_update())
            return insert_returning(session, Booking, rows)
    except IntegrityError as exc:
        if not is_capacity_violation(exc):
            raise
        return None


def _hold_alone(session: Session, ctx: ServiceContext, hold: HoldIn) -> Booking | ServiceError:
    try:
        return create_booking(session, ctx=ctx, principal=hold.principal, request=hold.request())
    except ServiceError as exc:
        return exc


# How many free units to try when racing others for "any unit": enough to ride out a few
# collisions without reading every unit of a large pool.
UNITS_TO_TRY = 4


def _candidate_units(
    session: Session, resource: Resource, request: BookingIn, block: Interval
) -> list[Unit]:
    """The units to try, in order: the one asked for, or the first few not already busy.

    With no unit free, the first unit is returned so the caller gets its conflict.
    """
    query = select(Unit).where(Unit.resource_id == resource.id).order_by(Unit.id)
    if request.unit_id is not None:
        query = query.where(Unit.id == request.unit_id)
    exclusive = resource.capacity_mode == "exclusive"
    if exclusive and request.quantity != 1:
        raise InvalidInputError("an exclusive unit is booked with quantity 1")
    free = query.where(Unit.id.not_in(busy_units(resource_id=resource.id, block=block)))
    units = list(session.scalars(free.limit(UNITS_TO_TRY) if exclusive else query))
    units = units or list(session.scalars(query.limit(1)))
    if not units:
        raise NotFoundError(
            f"unit {request.unit_id} is not part of resource {resource.id}", code="unknown_unit"
        )
    return units


def _arm_timer(booking: Booking, ctx: ServiceContext, status: Status, now: datetime) -> None:
    timer = timer_for(
        status, start=booking.start_at, end=booking.end_at, entered_at=now, policy=ctx.timers
    )
    booking.timer_due_at = timer.due_at if timer else None
    booking.timer_event = timer.event.value if timer else None


def _record(
    session: Session,
    booking: Booking,
    *,
    event: str,
    source: str | None,
    target: str,
    principal: Principal | None,
    actor: Actor,
    now: datetime,
    ctx: ServiceContext,
    reason: str = "",
) -> None:
    """The audit row and its ledger entry, in the caller's transaction."""
    step = _Step(event, source, target, principal, actor, now, reason)
    session.add(BookingEvent(**step.row(booking)))
    entry = step.entry(booking, ctx.ledger_salt)
    append_entry(session, kind=entry.kind, subject=entry.subject, at=entry.at, data=entry.data)


@dataclass(frozen=True, slots=True)
class _Step:
    """One step of a booking's audit trail, as its audit row and its ledger entry."""

    event: str
    source: str | None
    target: str
    principal: Principal | None
    actor: Actor
    now: datetime
    reason: str = ""

    def row(self, booking: Booking) -> dict[str, Any]:
        return {
            "booking_id": booking.id,
            "event": self.event,
            "from_status": self.source,
            "to_status": self.target,
            "actor_id": self.principal.participant_id if self.principal else None,
            "actor_role": self.actor.value,
            "override": self.actor is Actor.OPERATOR,
            "reason": self.reason,
            "start_at": booking.start_at,
            "end_at": booking.end_at,
            "at": self.now,
        }

    def entry(self, booking: Booking, salt: bytes) -> NewEntry:
        actor = self.principal
        return NewEntry(
            kind="booking.event",
            subject=f"booking:{booking.id}",
            at=self.now,
            data={
                "booking": booking.id,
                "resource": booking.resource_id,
                "unit": booking.unit_id,
                "event": self.event,
                "from": self.source,
                "to": self.target,
                "start": booking.start_at.isoformat(),
                "end": booking.end_at.isoformat(),
                "quantity": booking.quantity,
                "price_minor": booking.price_minor,
                "currency": booking.currency,
                "actor_role": self.actor.value,
                "actor": pseudonym(salt, "participant", actor.participant_id) if actor else None,
                "demander": pseudonym(salt, "participant", booking.demander_id),
                "reason_hash": salted_hash(salt, self.reason) if self.reason else None,
            },
        )


def actor_for(principal: Principal | None, booking: Booking, event: Event) -> Actor:
    """The capacity in which the caller acts: its own side of the deal first, operator last."""
    if principal is None:
        return Actor.SYSTEM
    allowed = transition_for(event).actors
    sides = []
    if principal.participant_id == booking.demander_id:
        sides.append(Actor.DEMANDER)
    if principal.participant_id == booking.resource.provider_id:
        sides.append(Actor.PROVIDER)
    if principal.is_operator:
        sides.append(Actor.OPERATOR)
    for side in sides:
        if side in allowed:
            return side
    if not sides:
        raise NotFoundError(f"booking {booking.id} not found", code="unknown_booking")
    return sides[0]


def _apply(
    session: Session,
    ctx: ServiceContext,
    booking: Booking,
    event: Event,
    principal: Principal | None,
    *,
    reason: str = "",
) -> None:
    actor = actor_for(principal, booking, event)
    source = Status(booking.status)
    try:
        transition = resolve(event, source, actor, instant_book=booking.instant_book)
    except TransitionError as exc:
        raise ConflictError(str(exc), code=exc.code) from exc
    if transition.target is None:
        raise InvalidInputError(f"{event} needs its own call", code="unsupported_event")
    now = ctx.clock.now()
    booking.status = transition.target.value
    booking.updated_at = now
    if source in BLOCKING and transition.target not in BLOCKING:
        _release(session, booking)
    _arm_timer(booking, ctx, transition.target, now)
    booking_changed(session, ctx, booking, source=source, actor=actor,
                    by=principal.participant_id if principal else None)  # fmt: skip
    on_transition(session, ctx=ctx, booking=booking, target=transition.target, actor=actor)
    on_booking_ended(session, ctx=ctx, booking=booking, target=transition.target)
    _record(session, booking, event=event.value, source=source.value, target=booking.status,
            principal=principal, actor=actor, now=now, ctx=ctx, reason=reason)  # fmt: skip


def _load_for_change(session: Session, booking_id: int) -> Booking:
    # Row lock on PostgreSQL so two transitions of one booking serialise; SQLite's single writer
    # already does that.
    booking = session.scalar(
        select(Booking).where(Booking.id == booking_id).with_for_update(of=Booking)
    )
    if booking is None:
        raise NotFoundError(f"booking {booking_id} not found", code="unknown_booking")
    return booking


def transition_booking(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    booking_id: int,
    event: Event,
    reason: str = "",
) -> Booking:
    if Role.AUDITOR in principal.roles and len(principal.roles) == 1:
        raise ForbiddenError("auditors read only", code="read_only")
    booking = _load_for_change(session, booking_id)
    _apply(session, ctx, booking, event, principal, reason=reason)
    session.flush()
    return booking


def reschedule_booking(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    booking_id: int,
    start: datetime,
    end: datetime,
    reason: str = "",
) -> Booking:
    """Move or extend a live booking; the database re-checks capacity for the new window."""
    booking = _load_for_change(session, booking_id)
    actor = actor_for(principal, booking, Event.RESCHEDULE)
    try:
        resolve(Event.RESCHEDULE, Status(booking.status), actor, instant_book=booking.instant_book)
    except TransitionError as exc:
        raise ConflictError(str(exc), code=exc.code) from exc
    window = _window(start, end)
    resource, unit = booking.resource, booking.unit
    started = Status(booking.status) is Status.IN_USE
    if started and window.start != booking.start_at:
        raise ConflictError("a booking in use can only be extended", code="already_started")
    _validate_request(session, ctx, resource, window, check_notice=not started)
    block = rules_of(resource).blocked(window)
    price = _reprice(session, ctx, booking, window)
    now = ctx.clock.now()

    def move() -> None:
        _release(session, booking)
        booking.start_at, booking.end_at = window.start, window.end
        booking.block_start, booking.block_end = block.start, block.end
        booking.price_minor = price.minor
        booking.updated_at = now

    _occupy(session, _Claim(resource, unit, window, block, booking.quantity), move, booking.id)
    _arm_timer(booking, ctx, Status(booking.status), now)
    _record(session, booking, event=Event.RESCHEDULE.value, source=booking.status,
            target=booking.status, principal=principal, actor=actor, now=now, ctx=ctx,
            reason=reason)  # fmt: skip
    session.flush()
    return booking


def _reprice(session: Session, ctx: ServiceContext, booking: Booking, window: Interval) -> Money:
    """A moved booking's price: on its own terms, or today's for one made before terms."""
    offer = requote(session, booking=booking, window=window)
    if offer is None:
        offer = strike_deal(
            session, ctx=ctx, resource=booking.resource, window=window,
            quantity=booking.quantity, usage=None,
        ).quote  # fmt: skip
    return offer.price


def get_booking(session: Session, *, principal: Principal, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None or not _may_see(principal, booking):
        raise NotFoundError(f"booking {booking_id} not found", code="unknown_booking")
    return booking


def _may_see(principal: Principal, booking: Booking) -> bool:
    parties = (booking.demander_id, booking.resource.provider_id)
    return principal.reads_everything or principal.participant_id in parties


def list_bookings(
    session: Session,
    *,
    principal: Principal,
    status: Status | None = None,
    resource_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Booking]:
    """What the caller may see: its own bookings, bookings of its resources, or all for staff."""
    query = select(Booking).join(Resource, Resource.id == Booking.resource_id)
    if not principal.reads_everything:
        me = principal.participant_id
        query = query.where((Booking.demander_id == me) | (Resource.provider_id == me))
    if status is not None:
        query = query.where(Booking.status == status.value)
    if resource_id is not None:
        query = query.where(Booking.resource_id == resource_id)
    return list(session.scalars(query.order_by(Booking.id).limit(limit).offset(offset)))


def booking_events(session: Session, *, booking_id: int) -> list[BookingEvent]:
    query = select(BookingEvent).where(BookingEvent.booking_id == booking_id)
    return list(session.scalars(query.order_by(BookingEvent.id)))


def run_due_timers(session: Session, *, ctx: ServiceContext, limit: int = 500) -> int:
    """Fire every timer that is due; returns how many bookings moved.

    The due time lives on the booking row, so timers survive restarts: whatever was due while the
    server was down fires on the first run after it comes back.
    """
    now = ctx.clock.now()
    query = (
        select(Booking)
        .where(Booking.timer_due_at.is_not(None), Booking.timer_due_at <= now)
        .order_by(Booking.timer_due_at, Booking.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Booking)
    )
    fired = 0
    for booking in session.scalars(query):
        assert booking.timer_event is not None
        _apply(session, ctx, booking, Event(booking.timer_event), None)
        fired += 1
    session.flush()
    return fired
