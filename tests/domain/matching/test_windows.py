"""Earliest grid-aligned fit of a time demand: equal to trying every slot start in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.availability import Interval, merge
from sparecap.domain.matching.windows import align_up, earliest_fit

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # local midnight
MINUTE = timedelta(minutes=1)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[Interval], Interval, timedelta, int]:
    slot = draw(st.sampled_from([15, 30, 60]))
    raw = draw(st.lists(st.tuples(st.integers(0, 600), st.integers(1, 240)), max_size=5))
    free = merge(Interval(T0 + a * MINUTE, T0 + (a + b) * MINUTE) for a, b in raw)
    start = draw(st.integers(0, 600))
    span = Interval(T0 + start * MINUTE, T0 + (start + draw(st.integers(1, 600))) * MINUTE)
    duration = draw(st.integers(1, 8)) * slot * MINUTE
    return free, span, duration, slot


def brute_force(
    free: list[Interval], span: Interval, duration: timedelta, slot: int
) -> Interval | None:
    at = T0 - 24 * 60 * MINUTE
    while at < span.end:
        window = Interval(at, at + duration)
        if span.contains(window) and any(f.contains(window) for f in free):
            return window
        at += slot * MINUTE
    return None


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_earliest_fit_equals_trying_every_slot(
    case: tuple[list[Interval], Interval, timedelta, int],
) -> None:
    free, span, duration, slot = case
    found = earliest_fit(free, span, duration, zone=ZONE, slot_minutes=slot)
    assert found == brute_force(free, span, duration, slot)


def test_align_up_keeps_aligned_instants_and_rounds_others_up() -> None:
    assert align_up(T0, ZONE, 15) == T0
    assert align_up(T0 + MINUTE, ZONE, 15) == T0 + 15 * MINUTE
    assert align_up(T0 + timedelta(seconds=1), ZONE, 60) == T0 + 60 * MINUTE
    assert align_up(T0 + 23 * 60 * MINUTE + MINUTE, ZONE, 60) == T0 + 24 * 60 * MINUTE
