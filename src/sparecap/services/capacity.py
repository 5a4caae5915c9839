"""Claiming and releasing capacity, and turning the database's refusals into clear conflicts.

The database decides: the exclusion constraint (PostgreSQL) or trigger (SQLite) for exclusive
units, and the CHECK on capacity_slots for pooled ones. This module only asks first, so the
common case gets a friendly answer, and names the conflicting windows when the database says no.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sparecap.db.models import Booking, CapacitySlot, Unit
from sparecap.domain.availability import Interval, slot_starts
from sparecap.domain.bookings import BLOCKING
from sparecap.services.errors import ConflictError

BLOCKING_VALUES = sorted(s.value for s in BLOCKING)


class CapacityConflictError(ConflictError):
    code = "capacity_conflict"


def exclusive_conflicts(
    session: Session, *, unit_id: int, block: Interval, exclude_booking: int | None = None
) -> list[Interval]:
    """Blocked windows of other bookings on an exclusive unit that overlap `block`."""
    query = select(Booking.block_start, Booking.block_end).where(
        Booking.unit_id == unit_id,
        Booking.status.in_(BLOCKING_VALUES),
        Booking.block_start < block.end,
        block.start < Booking.block_end,
    )
    if exclude_booking is not None:
        query = query.where(Booking.id != exclude_booking)
    return [Interval(s, e) for s, e in session.execute(query.order_by(Booking.block_start))]


def busy_units(*, resource_id: int, block: Interval) -> Select[int]:
    """Units of a resource with a blocking booking overlapping `block`, as a subquery, so
    picking a free unit costs one query, not one per unit."""
    return select(Booking.unit_id).where(
        Booking.resource_id == resource_id,
        Booking.status.in_(BLOCKING_VALUES),
        Booking.block_start < block.end,
        block.start < Booking.block_end,
    )


def full_slots(
    session: Session, *, unit: Unit, slots: list[datetime], quantity: int
) -> list[datetime]:
    """Slots of a pooled unit that cannot take `quantity` more."""
    if not slots:
        return []
    query = select(CapacitySlot.slot_start).where(
        CapacitySlot.unit_id == unit.id,
        CapacitySlot.slot_start.in_(slots),
        CapacitySlot.used + quantity > CapacitySlot.capacity,
    )
    return sorted(session.scalars(query))


def conflict_windows(
    session: Session,
    *,
    unit: Unit,
    block: Interval,
    window: Interval,
    zone: ZoneInfo,
    slot_minutes: int,
    quantity: int,
    exclude_booking: int | None = None,
) -> list[Interval]:
    """What stands in the way of a booking; empty when the unit can take it."""
    if unit.exclusive:
        return exclusive_conflicts(
            session, unit_id=unit.id, block=block, exclude_booking=exclude_booking
        )
    if quantity > unit.capacity:
        return [window]
    full = full_slots(
        session, unit=unit, slots=slot_starts(window, zone, slot_minutes), quantity=quantity
    )
    return [_slot_interval(at, zone, slot_minutes) for at in full]


def _slot_interval(start: datetime, zone: ZoneInfo, slot_minutes: int) -> Interval:
    # Wall-clock arithmetic in the local zone, so a slot across a DST change keeps its grid.
    local_end = start.astimezone(zone) + timedelta(minutes=slot_minutes)
    return Interval(start, local_end.astimezone(UTC))


def change_pooled_usage(session: Session, *, unit: Unit, slots: list[datetime], delta: int) -> None:
    """Add `delta` to the used capacity of each slot (in order, so writers never deadlock)."""
    if not slots or unit.exclusive:
        return
    if delta < 0:
        session.execute(
            update(CapacitySlot)
            .where(CapacitySlot.unit_id == unit.id, CapacitySlot.slot_start.in_(slots))
            .values(used=CapacitySlot.used + delta)
        )
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for at in sorted(slots):
        stmt = insert(CapacitySlot).values(
            unit_id=unit.id, slot_start=at, used=delta, capacity=unit.capacity
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[CapacitySlot.unit_id, CapacitySlot.slot_start],
                set_={"used": CapacitySlot.used + delta},
            )
        )


def is_capacity_violation(exc: IntegrityError) -> bool:
    """True when the database refused a write because capacity was taken."""
    text = str(exc.orig)
    pgcode = getattr(exc.orig, "sqlstate", None)
    return (
        pgcode == "23P01"  # exclusion_violation: bookings_no_overlap
        or "booking_overlap" in text  # the SQLite trigger
        or "capacity_slot_within_limit" in text  # the CHECK on pooled slots, either database
    )
