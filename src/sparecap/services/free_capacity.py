"""Free capacity of many resources at once: open time minus existing bookings and holds.

The per-resource `free_time` of services/availability reads the database once per resource; a
round asks about thousands, so this module reads exceptions and blocking bookings for all of
them in a few queries and keeps the answer per resource for the whole round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.bulk import one_of
from sparecap.db.models import Booking, Resource
from sparecap.domain.availability import (
    BookingRules,
    Interval,
    Load,
    bookable_span,
    free_windows,
    merge,
    pooled_free_windows,
)
from sparecap.domain.bookings import BLOCKING
from sparecap.domain.matching.windows import earliest_fit
from sparecap.services.availability import CHUNK, exceptions_of, expand_plan
from sparecap.services.resources import rules_of, zone_of

_BLOCKING = [s.value for s in BLOCKING]
# Bookings are read this far beyond the span, so a buffer reaching into it is never missed.
_SLACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _Busy:
    start_at: datetime
    end_at: datetime
    block_start: datetime
    block_end: datetime
    quantity: int


@dataclass(slots=True)
class UnitFree:
    unit_id: int
    capacity: int
    exclusive: bool
    free: list[Interval]  # where one more booking of quantity 1 fits
    loads: list[Load] = field(default_factory=list)  # pooled units: what is already booked

    def free_rate(self, window: Interval) -> int:
        """Capacity a pooled unit has left throughout `window` (its busiest moment decides)."""
        peak = _peak_load(self.loads, window)
        return max(0, self.capacity - peak)


@dataclass(slots=True)
class ResourceFree:
    resource: Resource
    # The resource's ids as plain values: candidate generation reads them for every offer.
    resource_id: int
    provider_id: int
    rules: BookingRules
    zone: ZoneInfo
    bookable: Interval | None  # where a booking may start, given notice and booking window
    units: list[UnitFree]
    # Fits already found, by (span start, span end, duration): demands of one round cluster on
    # a few start times and lengths, so most lookups repeat.
    fits: dict[tuple[datetime, datetime, timedelta], list[Fit]] = field(default_factory=dict)
    # Exclusive units with the same free time are interchangeable for every demand of the
    # round: a hub of ten idle chargers is one class of ten, not ten offers per demand.
    classes: list[list[UnitFree]] = field(init=False)

    def __post_init__(self) -> None:
        by_free: dict[tuple[Interval, ...], list[UnitFree]] = {}
        self.classes = []
        for unit in self.units:
            if not unit.exclusive:
                self.classes.append([unit])
                continue
            same = by_free.get(tuple(unit.free))
            if same is None:
                same = by_free[tuple(unit.free)] = []
                self.classes.append(same)
            same.append(unit)

    def fitting(self, span: Interval, duration: timedelta) -> list[Fit]:
        """Each class's earliest grid-aligned window of `duration` inside `span` where a
        booking may start, in unit order (classes without one are left out)."""
        key = (span.start, span.end, duration)
        found = self.fits.get(key)
        if found is None:
            found = []
            for same in self.classes:
                unit = same[0]
                window = earliest_fit(unit.free, span, duration, zone=self.zone,
                                      slot_minutes=self.rules.slot_minutes)  # fmt: skip
                if window is None or self.bookable is None or window.start > self.bookable.end:
                    continue
                room = len(same) if unit.exclusive else unit.free_rate(window)
                found.append(Fit(tuple(u.unit_id for u in same), window, room))
            self.fits[key] = found
        return found


@dataclass(frozen=True, slots=True)
class Fit:
    """Where one more booking fits on a class of interchangeable units, and how many more
    bookings of quantity 1 the class takes there (its units, or a pooled unit's room)."""

    unit_ids: tuple[int, ...]
    window: Interval
    room: int


def _peak_load(loads: Sequence[Load], window: Interval) -> int:
    points = sorted(
        {window.start}
        | {ld.interval.start for ld in loads if window.start < ld.interval.start < window.end}
    )
    return max(
        (sum(ld.quantity for ld in loads if ld.interval.start <= at < ld.interval.end)
         for at in points),
        default=0,
    )  # fmt: skip


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def load_free_capacity(
    session: Session, *, resources: Sequence[Resource], span: Interval, now: datetime
) -> dict[int, ResourceFree]:
    """Per resource id, where each of its units is free within `span` (from `now` on)."""
    # Nothing before now can be booked: a demand wanting capacity "since 1970" must not have
    # every plan expanded, and every booking read, over the years in between.
    span = Interval(max(span.start, now), span.end)
    ids = sorted(r.id for r in resources)
    exceptions = exceptions_of(session, ids, span)
    bookings = _bookings(session, ids, span)
    result: dict[int, ResourceFree] = {}
    for resource in resources:
        rules, zone = rules_of(resource), zone_of(resource)
        bookable = bookable_span(rules, now, span)
        units: list[UnitFree] = []
        opened: list[Interval] = []
        if bookable is not None:
            opened = merge(expand_plan(resource, exceptions.get(resource.id, []), span))
        for unit in resource.units:
            rows = bookings.get(unit.id, [])
            if unit.exclusive:
                blocks = [Interval(b.block_start, b.block_end) for b in rows]
                free = free_windows(opened, blocks, rules)
                units.append(UnitFree(unit.id, 1, True, free))
            else:
                loads = [Load(Interval(b.start_at, b.end_at), b.quantity) for b in rows]
                free = pooled_free_windows(opened, loads, unit.capacity, 1, rules)
                units.append(UnitFree(unit.id, unit.capacity, False, free, loads))
        result[resource.id] = ResourceFree(
            resource, resource.id, resource.provider_id, rules, zone, bookable, units
        )
    return result


def _bookings(session: Session, ids: Sequence[int], span: Interval) -> dict[int, list[_Busy]]:
    """Blocking bookings by unit."""
    found: dict[int, list[_Busy]] = {}
    columns = (
        Booking.unit_id,
        Booking.start_at,
        Booking.end_at,
        Booking.block_start,
        Booking.block_end,
        Booking.quantity,
    )
    for chunk in _chunks(ids):
        query = select(*columns).where(
            one_of(session, Booking.resource_id, chunk),
            Booking.status.in_(_BLOCKING),
            Booking.block_start < span.end + _SLACK,
            span.start - _SLACK < Booking.block_end,
        )
        for row in session.execute(query):
            found.setdefault(row.unit_id, []).append(_Busy(*row[1:]))
    return found
