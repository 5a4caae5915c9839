"""Availability of resources: weekly plans, exceptions, and the free windows left to book."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.bulk import one_of
from sparecap.db.models import AvailabilityException, AvailabilityWindow, Booking, Resource
from sparecap.domain.availability import (
    ExceptionKind,
    Interval,
    Load,
    PlanException,
    WeeklyWindow,
    bookable_span,
    expand,
    free_windows,
    pooled_free_windows,
)
from sparecap.domain.bookings import BLOCKING
from sparecap.domain.clock import ensure_utc
from sparecap.services.context import ServiceContext
from sparecap.services.errors import InvalidInputError
from sparecap.services.principals import Principal
from sparecap.services.resources import WindowIn, get_resource_for_change, rules_of, zone_of

# A free-slot query may look this far ahead at most, so one call stays cheap.
MAX_QUERY_SPAN = timedelta(days=62)


class ExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    end: AwareDatetime
    kind: ExceptionKind = ExceptionKind.CLOSED
    note: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _ordered(self) -> ExceptionIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def open_time(session: Session, *, resource: Resource, span: Interval) -> list[Interval]:
    """The resource's open hours within `span`, in UTC."""
    exceptions = exceptions_of(session, [resource.id], span).get(resource.id, [])
    return expand_plan(resource, exceptions, span)


def expand_plan(
    resource: Resource, exceptions: Sequence[PlanException], span: Interval
) -> list[Interval]:
    """Open hours within `span` from the weekly plan and the exceptions already read."""
    windows = [WeeklyWindow(w.weekday, w.start_minute, w.end_minute) for w in resource.windows]
    return expand(windows, exceptions, zone_of(resource), span)


# Ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500


def exceptions_of(
    session: Session, resource_ids: Sequence[int], span: Interval
) -> dict[int, list[PlanException]]:
    """Exceptions overlapping `span`, by resource, for many resources in a few queries."""
    found: dict[int, list[PlanException]] = {}
    for i in range(0, len(resource_ids), CHUNK):
        query = select(AvailabilityException).where(
            one_of(session, AvailabilityException.resource_id, resource_ids[i : i + CHUNK]),
            AvailabilityException.start_at < span.end,
            span.start < AvailabilityException.end_at,
        )
        for e in session.scalars(query):
            found.setdefault(e.resource_id, []).append(
                PlanException(Interval(e.start_at, e.end_at), ExceptionKind(e.kind))
            )
    return found


def set_weekly_plan(
    session: Session, *, principal: Principal, resource_id: int, windows: list[WindowIn]
) -> Resource:
    resource = get_resource_for_change(session, principal=principal, resource_id=resource_id)
    resource.windows = [
        AvailabilityWindow(weekday=w.weekday, start_minute=w.start_minute, end_minute=w.end_minute)
        for w in windows
    ]
    session.flush()
    return resource


def add_exception(
    session: Session, *, principal: Principal, resource_id: int, exception: ExceptionIn
) -> AvailabilityException:
    """Close (or extra-open) a stretch of time. Existing bookings are kept: they were promised."""
    resource = get_resource_for_change(session, principal=principal, resource_id=resource_id)
    row = AvailabilityException(
        start_at=ensure_utc(exception.start),
        end_at=ensure_utc(exception.end),
        kind=exception.kind.value,
        note=exception.note,
    )
    resource.exceptions.append(row)
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class UnitFreeTime:
    unit_id: int
    unit_name: str
    capacity: int
    windows: list[Interval]


def query_span(start: datetime, end: datetime) -> Interval:
    start, end = ensure_utc(start), ensure_utc(end)
    if not start < end or end - start > MAX_QUERY_SPAN:
        raise InvalidInputError(
            f"the query window must be positive and at most {MAX_QUERY_SPAN.days} days",
            code="invalid_window",
        )
    return Interval(start, end)


def free_time(
    session: Session,
    *,
    ctx: ServiceContext,
    resource: Resource,
    span: Interval,
    quantity: int = 1,
) -> list[UnitFreeTime]:
    """Per unit, the windows within `span` where a new booking of `quantity` would fit now."""
    rules = rules_of(resource)
    bookable = bookable_span(rules, ctx.clock.now(), span)
    if bookable is None:
        return [UnitFreeTime(u.id, u.name, u.capacity, []) for u in resource.units]
    opened = open_time(session, resource=resource, span=bookable)
    lookaround = Interval(
        bookable.start - rules.buffer_before - rules.buffer_after,
        bookable.end + rules.buffer_before + rules.buffer_after,
    )
    busy = _blocking_by_unit(session, resource, lookaround)
    result = []
    for unit in resource.units:
        rows = busy.get(unit.id, [])
        if unit.exclusive:
            windows = free_windows(
                opened, [Interval(r.block_start, r.block_end) for r in rows], rules
            )
        else:
            loads = [Load(Interval(r.start_at, r.end_at), r.quantity) for r in rows]
            windows = pooled_free_windows(opened, loads, unit.capacity, quantity, rules)
        result.append(UnitFreeTime(unit.id, unit.name, unit.capacity, windows))
    return result


def _blocking_by_unit(
    session: Session, resource: Resource, span: Interval
) -> dict[int, list[Booking]]:
    query = select(Booking).where(
        Booking.resource_id == resource.id,
        Booking.status.in_([s.value for s in BLOCKING]),
        Booking.block_start < span.end,
        span.start < Booking.block_end,
    )
    grouped: dict[int, list[Booking]] = {}
    for booking in session.scalars(query):
        grouped.setdefault(booking.unit_id, []).append(booking)
    return grouped
