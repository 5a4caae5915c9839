"""Where a time demand fits into a unit's free time: the earliest grid-aligned window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sparecap.domain.availability import MINUTES_PER_DAY, BookingRules, Interval, local_instant


def align_up(at: datetime, zone: ZoneInfo, slot_minutes: int) -> datetime:
    """The first instant at or after `at` on the resource's local slot grid."""
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)
    step = -(-minute // slot_minutes) * slot_minutes
    day = local.date()
    aligned = local_instant(day, step, zone)
    # A spring-forward gap can resolve the local minute to an instant before `at`; step on.
    while aligned < at:
        step += slot_minutes
        if step > MINUTES_PER_DAY:
            day, step = day + timedelta(days=1), slot_minutes
        aligned = local_instant(day, step, zone)
    return aligned.astimezone(UTC)


def fits_rules(duration: timedelta, rules: BookingRules) -> bool:
    """Can a booking of this length exist at all on a resource with these rules?"""
    if duration < rules.min_duration:
        return False
    if rules.max_duration is not None and duration > rules.max_duration:
        return False
    return duration % timedelta(minutes=rules.slot_minutes) == timedelta(0)


def earliest_fit(
    free: Sequence[Interval],
    span: Interval,
    duration: timedelta,
    *,
    zone: ZoneInfo,
    slot_minutes: int,
) -> Interval | None:
    """The earliest [start, start + duration) inside `span` and one free interval, on the grid.

    `free` is sorted; ends on the grid follow from aligned starts and a duration that is a
    whole number of slots (fits_rules), except across a DST change, which the booking service
    then refuses and the caller treats as no fit.
    """
    for window in free:
        if window.end <= span.start:
            continue
        if window.start >= span.end:
            break
        start = align_up(max(window.start, span.start), zone, slot_minutes)
        end = start + duration
        if end <= window.end and end <= span.end:
            return Interval(start, end)
    return None
