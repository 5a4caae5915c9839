"""Availability: weekly plans across DST, exceptions, booking rules, free windows."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.availability import (
    AvailabilityError,
    BookingRules,
    ExceptionKind,
    Interval,
    Load,
    PlanException,
    RuleViolation,
    WeeklyWindow,
    check_request,
    expand,
    free_windows,
    merge,
    pooled_free_windows,
    remaining_capacity,
    slot_starts,
    subtract,
)

SHANGHAI, BERLIN, NEW_YORK = (
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
)
NINE_TO_FIVE = [WeeklyWindow(d, 9 * 60, 17 * 60) for d in range(7)]
ALL_DAY = [WeeklyWindow(d, 0, 1440) for d in range(7)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# Dates of the 2026 changes: EU last Sunday of March / October, US second Sunday of March /
# first Sunday of November (Directive 2000/84/EC; US Energy Policy Act of 2005).
DST_DAYS = [
    (BERLIN, datetime(2026, 3, 29)),
    (BERLIN, datetime(2026, 10, 25)),
    (NEW_YORK, datetime(2026, 3, 8)),
    (NEW_YORK, datetime(2026, 11, 1)),
    (SHANGHAI, datetime(2026, 3, 29)),  # no DST: the control
]


@pytest.mark.parametrize(("zone", "day"), DST_DAYS, ids=str)
def test_opening_hours_keep_their_local_wall_clock_across_dst(
    zone: ZoneInfo, day: datetime
) -> None:
    span = Interval(
        (day - timedelta(days=2)).replace(tzinfo=zone),
        (day + timedelta(days=3)).replace(tzinfo=zone),
    )
    opened = expand(NINE_TO_FIVE, [], zone, span)
    assert len(opened) == 5
    for iv in opened:
        local_start, local_end = iv.start.astimezone(zone), iv.end.astimezone(zone)
        assert (local_start.hour, local_start.minute) == (9, 0)
        assert (local_end.hour, local_end.minute) == (17, 0)
        assert iv.duration == timedelta(hours=8)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (BERLIN, datetime(2026, 3, 29), 23),
        (BERLIN, datetime(2026, 10, 25), 25),
        (NEW_YORK, datetime(2026, 3, 8), 23),
        (NEW_YORK, datetime(2026, 11, 1), 25),
        (SHANGHAI, datetime(2026, 3, 29), 24),
    ],
)
def test_a_whole_local_day_lasts_23_24_or_25_hours(
    zone: ZoneInfo, day: datetime, hours: int
) -> None:
    windows = [WeeklyWindow(day.weekday(), 0, 1440)]
    span = Interval(day.replace(tzinfo=zone), (day + timedelta(days=1)).replace(tzinfo=zone))
    (opened,) = expand(windows, [], zone, span)
    assert opened.duration == timedelta(hours=hours)


def test_daily_grid_slots_follow_local_midnight_across_dst() -> None:
    day = datetime(2026, 3, 28, tzinfo=BERLIN)
    span = Interval(day, day + timedelta(days=3))  # wall-clock days; the middle one is 23 h
    starts = slot_starts(span, BERLIN, 1440)
    assert [s.astimezone(BERLIN).hour for s in starts] == [0, 0, 0]
    assert starts[2] - starts[1] == timedelta(hours=23)


def test_instants_are_utc_and_intervals_half_open() -> None:
    span = Interval(utc(2026, 3, 2), utc(2026, 3, 3))
    (opened,) = expand(NINE_TO_FIVE, [], SHANGHAI, span)
    assert opened.start == utc(2026, 3, 2, 1) and opened.start.tzinfo is UTC
    touching = Interval(opened.end, opened.end + timedelta(hours=1))
    assert not opened.overlaps(touching)


def test_exceptions_close_and_open_time() -> None:
    span = Interval(utc(2026, 3, 2), utc(2026, 3, 3))
    maintenance = PlanException(
        Interval(utc(2026, 3, 2, 3), utc(2026, 3, 2, 5)), ExceptionKind.MAINTENANCE
    )
    extra = PlanException(Interval(utc(2026, 3, 2, 12), utc(2026, 3, 2, 14)), ExceptionKind.OPEN)
    opened = expand(NINE_TO_FIVE, [maintenance, extra], SHANGHAI, span)
    assert opened == [
        Interval(utc(2026, 3, 2, 1), utc(2026, 3, 2, 3)),
        Interval(utc(2026, 3, 2, 5), utc(2026, 3, 2, 9)),
        Interval(utc(2026, 3, 2, 12), utc(2026, 3, 2, 14)),
    ]


RULES = BookingRules(
    slot_minutes=30,
    min_duration=timedelta(hours=1),
    max_duration=timedelta(hours=4),
    min_notice=timedelta(hours=2),
    booking_window=timedelta(days=7),
)
NOW = utc(2026, 3, 1, 12)
OPEN = expand(NINE_TO_FIVE, [], SHANGHAI, Interval(utc(2026, 3, 1), utc(2026, 3, 20)))


@pytest.mark.parametrize(
    ("start", "end", "violation"),
    [
        (utc(2026, 3, 2, 1, 10), utc(2026, 3, 2, 3), RuleViolation.MISALIGNED),
        (utc(2026, 3, 2, 1), utc(2026, 3, 2, 1, 30), RuleViolation.TOO_SHORT),
        (utc(2026, 3, 2, 1), utc(2026, 3, 2, 5, 30), RuleViolation.TOO_LONG),
        (utc(2026, 3, 1, 13), utc(2026, 3, 1, 14), RuleViolation.TOO_SOON),
        (utc(2026, 3, 10, 1), utc(2026, 3, 10, 2), RuleViolation.TOO_FAR),
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 10), RuleViolation.CLOSED),
    ],
)
def test_each_rule_is_named_when_broken(
    start: datetime, end: datetime, violation: RuleViolation
) -> None:
    with pytest.raises(AvailabilityError) as caught:
        check_request(Interval(start, end), open_time=OPEN, rules=RULES, zone=SHANGHAI, now=NOW)
    assert caught.value.violation is violation


def test_a_request_inside_the_rules_passes() -> None:
    check_request(
        Interval(utc(2026, 3, 2, 1), utc(2026, 3, 2, 3)),
        open_time=OPEN,
        rules=RULES,
        zone=SHANGHAI,
        now=NOW,
    )


def test_free_windows_respect_buffers_of_existing_bookings() -> None:
    rules = BookingRules(buffer_before=timedelta(minutes=15), buffer_after=timedelta(minutes=30))
    opened = [Interval(utc(2026, 3, 2, 0), utc(2026, 3, 2, 10))]
    booked = rules.blocked(Interval(utc(2026, 3, 2, 4), utc(2026, 3, 2, 5)))
    free = free_windows(opened, [booked], rules)
    # The next booking's 15 min before-buffer may not touch the 30 min after-buffer, and so on.
    assert free == [
        Interval(utc(2026, 3, 2, 0), utc(2026, 3, 2, 3, 15)),
        Interval(utc(2026, 3, 2, 5, 45), utc(2026, 3, 2, 10)),
    ]


def test_pooled_capacity_frees_only_where_enough_is_left() -> None:
    opened = [Interval(utc(2026, 3, 2, 0), utc(2026, 3, 2, 6))]
    loads = [
        Load(Interval(utc(2026, 3, 2, 1), utc(2026, 3, 2, 3)), 3),
        Load(Interval(utc(2026, 3, 2, 2), utc(2026, 3, 2, 4)), 1),
    ]
    assert remaining_capacity(loads, 4) == [
        (Interval(utc(2026, 3, 2, 1), utc(2026, 3, 2, 2)), 1),
        (Interval(utc(2026, 3, 2, 2), utc(2026, 3, 2, 3)), 0),
        (Interval(utc(2026, 3, 2, 3), utc(2026, 3, 2, 4)), 3),
    ]
    rules = BookingRules(min_duration=timedelta(minutes=15))
    assert pooled_free_windows(opened, loads, 4, 2, rules) == [
        Interval(utc(2026, 3, 2, 0), utc(2026, 3, 2, 1)),
        Interval(utc(2026, 3, 2, 3), utc(2026, 3, 2, 6)),
    ]


# --- properties -------------------------------------------------------------------------------

ZONES = st.sampled_from([SHANGHAI, BERLIN, NEW_YORK, ZoneInfo("Asia/Kolkata")])
windows_st = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 47), st.integers(1, 48)).map(
        lambda t: WeeklyWindow(t[0], min(t[1], t[2] - 1) * 30, max(t[1] + 1, t[2]) * 30)
    ),
    max_size=10,
)
starts_st = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(windows_st, ZONES, starts_st, st.integers(1, 20))
def test_expansion_is_sorted_disjoint_inside_the_span_and_on_the_plan(
    windows: list[WeeklyWindow], zone: ZoneInfo, start: datetime, days: int
) -> None:
    span = Interval(start, start + timedelta(days=days))
    opened = expand(windows, [], zone, span)
    for a, b in pairwise(opened):
        assert a.end < b.start
    for iv in opened:
        assert span.contains(iv)
        # Every open instant (checked at its start, +1 minute) lies inside some weekly window.
        probe = iv.start.astimezone(zone)
        minute = probe.hour * 60 + probe.minute
        assert (
            any(
                w.weekday == probe.weekday() and w.start_minute <= minute < w.end_minute
                for w in windows
            )
            or probe.fold
            or _in_gap(probe, zone)
        )


def _in_gap(local: datetime, zone: ZoneInfo) -> bool:
    """A wall time that DST moved (its offset differs an hour earlier)."""
    earlier = (local - timedelta(hours=1)).astimezone(zone)
    return earlier.utcoffset() != local.utcoffset()


intervals_st = st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 50)).map(
        lambda t: Interval(
            utc(2026, 1, 1) + timedelta(minutes=t[0]),
            utc(2026, 1, 1) + timedelta(minutes=t[0] + t[1]),
        )
    ),
    max_size=12,
)


def _minutes(ivs: list[Interval]) -> set[int]:
    base = utc(2026, 1, 1)
    return {
        m
        for iv in ivs
        for m in range(
            int((iv.start - base).total_seconds() // 60), int((iv.end - base).total_seconds() // 60)
        )
    }


@given(intervals_st, intervals_st)
def test_merge_and_subtract_agree_with_sets_of_minutes(
    a: list[Interval], b: list[Interval]
) -> None:
    assert _minutes(merge(a)) == _minutes(a)
    assert _minutes(subtract(a, b)) == _minutes(a) - _minutes(b)
