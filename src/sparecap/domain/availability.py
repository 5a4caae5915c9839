"""Availability: weekly plans in a resource's own time zone, exceptions, booking rules, free time.

All instants are timezone-aware UTC; every interval is half-open [start, end). Plans are written in
local wall-clock time and expanded day by day in the resource's IANA zone, so "08:00-18:00" stays
08:00-18:00 local on both sides of a daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds must be timezone-aware")
        if not self.start < self.end:
            raise ValueError(f"interval start {self.start} must be before end {self.end}")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Open from start_minute to end_minute (local wall clock) on one weekday (0 = Monday)."""

    weekday: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError(
                "window minutes must satisfy 0 <= start < end <= 1440, "
                f"got {self.start_minute}-{self.end_minute}"
            )


class ExceptionKind(StrEnum):
    CLOSED = "closed"
    MAINTENANCE = "maintenance"
    OPEN = "open"  # extra opening outside the weekly plan


@dataclass(frozen=True, slots=True)
class PlanException:
    interval: Interval
    kind: ExceptionKind


@dataclass(frozen=True, slots=True)
class BookingRules:
    slot_minutes: int = 15
    min_duration: timedelta = timedelta(minutes=15)
    max_duration: timedelta | None = None
    min_notice: timedelta = timedelta(0)
    booking_window: timedelta | None = timedelta(days=90)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if not 1 <= self.slot_minutes <= MINUTES_PER_DAY or MINUTES_PER_DAY % self.slot_minutes:
            raise ValueError("slot_minutes must divide a day (1440 minutes)")
        if self.max_duration is not None and self.max_duration < self.min_duration:
            raise ValueError("max_duration must be at least min_duration")

    def blocked(self, interval: Interval) -> Interval:
        """The time a booking occupies on its unit, buffers included."""
        return Interval(interval.start - self.buffer_before, interval.end + self.buffer_after)


class RuleViolation(StrEnum):
    MISALIGNED = "misaligned"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    TOO_SOON = "insufficient_notice"
    TOO_FAR = "beyond_booking_window"
    CLOSED = "outside_availability"


class AvailabilityError(ValueError):
    def __init__(self, violation: RuleViolation, message: str) -> None:
        super().__init__(message)
        self.violation = violation


def local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """UTC instant of a local wall-clock minute; minute 1440 is the next local midnight.

    A wall time skipped by a spring-forward change resolves with the offset in force before it
    (fold=0), i.e. to the first real instant after the gap.
    """
    if minute == MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    hour, minute = divmod(minute, 60)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals as a sorted list of disjoint, non-touching intervals."""
    merged: list[Interval] = []
    for iv in sorted(intervals):
        if merged and iv.start <= merged[-1].end:
            if iv.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, iv.end)
        else:
            merged.append(iv)
    return merged


def subtract(base: Sequence[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """Parts of `base` (merged) not covered by any cut."""
    result = list(merge(base))
    for cut in merge(cuts):
        nxt: list[Interval] = []
        for iv in result:
            if not iv.overlaps(cut):
                nxt.append(iv)
                continue
            if iv.start < cut.start:
                nxt.append(Interval(iv.start, cut.start))
            if cut.end < iv.end:
                nxt.append(Interval(cut.end, iv.end))
        result = nxt
    return result


def intersect(base: Sequence[Interval], span: Interval) -> list[Interval]:
    return [
        Interval(max(iv.start, span.start), min(iv.end, span.end))
        for iv in base
        if iv.overlaps(span)
    ]


def _local_days(span: Interval, zone: ZoneInfo) -> Iterator[date]:
    day = span.start.astimezone(zone).date() - timedelta(days=1)
    last = span.end.astimezone(zone).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def expand(
    windows: Sequence[WeeklyWindow],
    exceptions: Sequence[PlanException],
    zone: ZoneInfo,
    span: Interval,
) -> list[Interval]:
    """Open time within `span`: weekly windows, plus OPEN exceptions, minus closures."""
    by_weekday: dict[int, list[WeeklyWindow]] = {}
    for w in windows:
        by_weekday.setdefault(w.weekday, []).append(w)
    weekly = [
        Interval(local_instant(day, w.start_minute, zone), local_instant(day, w.end_minute, zone))
        for day in _local_days(span, zone)
        for w in by_weekday.get(day.weekday(), [])
        if local_instant(day, w.start_minute, zone) < local_instant(day, w.end_minute, zone)
    ]
    extra = [e.interval for e in exceptions if e.kind is ExceptionKind.OPEN]
    closures = [e.interval for e in exceptions if e.kind is not ExceptionKind.OPEN]
    return intersect(subtract(merge(weekly + extra), closures), span)


def is_aligned(at: datetime, zone: ZoneInfo, slot_minutes: int) -> bool:
    local = at.astimezone(zone)
    minute_of_day = local.hour * 60 + local.minute
    return local.second == 0 and local.microsecond == 0 and minute_of_day % slot_minutes == 0


def slot_starts(interval: Interval, zone: ZoneInfo, slot_minutes: int) -> list[datetime]:
    """Starts of the local wall-clock grid slots that an aligned interval covers (sorted, unique).

    The grid is defined in local time so daily slots run midnight to midnight where the resource
    is. Pooled capacity is counted per slot, so every booking of a unit must use the same grid.
    """
    starts: set[datetime] = set()
    for day in _local_days(interval, zone):
        for minute in range(0, MINUTES_PER_DAY, slot_minutes):
            at = local_instant(day, minute, zone)
            if interval.start <= at < interval.end:
                starts.add(at)
    return sorted(starts)


def check_request(
    requested: Interval,
    *,
    open_time: Sequence[Interval],
    rules: BookingRules,
    zone: ZoneInfo,
    now: datetime,
) -> None:
    """Raise AvailabilityError naming the first booking rule the request breaks."""
    duration = requested.duration
    if not (
        is_aligned(requested.start, zone, rules.slot_minutes)
        and is_aligned(requested.end, zone, rules.slot_minutes)
    ):
        raise AvailabilityError(
            RuleViolation.MISALIGNED,
            f"start and end must fall on the {rules.slot_minutes}-minute grid in {zone.key}",
        )
    if duration < rules.min_duration:
        raise AvailabilityError(
            RuleViolation.TOO_SHORT, f"shorter than the minimum duration {rules.min_duration}"
        )
    if rules.max_duration is not None and duration > rules.max_duration:
        raise AvailabilityError(
            RuleViolation.TOO_LONG, f"longer than the maximum duration {rules.max_duration}"
        )
    if requested.start < now + rules.min_notice:
        raise AvailabilityError(
            RuleViolation.TOO_SOON, f"starts sooner than the minimum notice {rules.min_notice}"
        )
    if rules.booking_window is not None and requested.start > now + rules.booking_window:
        raise AvailabilityError(
            RuleViolation.TOO_FAR, f"starts later than the booking window {rules.booking_window}"
        )
    if not any(iv.contains(requested) for iv in merge(open_time)):
        raise AvailabilityError(
            RuleViolation.CLOSED, "the requested time is not fully inside the resource's open hours"
        )


def bookable_span(rules: BookingRules, now: datetime, span: Interval) -> Interval | None:
    """The part of `span` in which a booking may start, given notice and booking window."""
    start = max(span.start, now + rules.min_notice)
    end = span.end
    if rules.booking_window is not None:
        end = min(end, now + rules.booking_window + rules.min_duration)
    return Interval(start, end) if start < end else None


def free_windows(
    open_time: Sequence[Interval],
    busy_blocks: Iterable[Interval],
    rules: BookingRules,
) -> list[Interval]:
    """Maximal windows a new booking on an exclusive unit could occupy (buffers respected).

    A new booking [s, e) blocks [s - before, e + after); it fits if that misses every existing
    block B, i.e. if [s, e) misses B widened by (after, before).
    """
    widened = [
        Interval(b.start - rules.buffer_after, b.end + rules.buffer_before) for b in busy_blocks
    ]
    return [iv for iv in subtract(open_time, widened) if iv.duration >= rules.min_duration]


@dataclass(frozen=True, slots=True)
class Load:
    interval: Interval
    quantity: int


def remaining_capacity(loads: Iterable[Load], capacity: int) -> list[tuple[Interval, int]]:
    """Sweep line: pieces of time where existing loads leave less than full capacity."""
    deltas: dict[datetime, int] = {}
    for load in loads:
        deltas[load.interval.start] = deltas.get(load.interval.start, 0) + load.quantity
        deltas[load.interval.end] = deltas.get(load.interval.end, 0) - load.quantity
    pieces: list[tuple[Interval, int]] = []
    used = 0
    points = sorted(deltas)
    for at, nxt in pairwise(points):
        used += deltas[at]
        if used > 0:
            pieces.append((Interval(at, nxt), capacity - used))
    return pieces


def pooled_free_windows(
    open_time: Sequence[Interval],
    loads: Iterable[Load],
    capacity: int,
    quantity: int,
    rules: BookingRules,
) -> list[Interval]:
    """Windows where at least `quantity` of a pooled unit's capacity stays free."""
    short = [iv for iv, left in remaining_capacity(loads, capacity) if left < quantity]
    return [iv for iv in subtract(open_time, short) if iv.duration >= rules.min_duration]
