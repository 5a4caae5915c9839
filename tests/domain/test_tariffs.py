"""Tariffs: time-of-day and weekday rates, duration tiers, step sizes, minimum and cap, priced
across midnight and across daylight-saving changes."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.availability import Interval
from sparecap.domain.money import round_half_up
from sparecap.domain.tariffs import (
    Component,
    Dimension,
    Element,
    PriceLine,
    Restrictions,
    Tariff,
    TariffError,
    Usage,
    flat_rate,
    price,
    total_of,
)

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600
NIGHT_RATE, DAY_RATE = 1000, 2000  # minor units an hour
# 22:00-06:00 at the night rate; every other moment at the day rate.
NIGHT_AND_DAY = Tariff(
    "EUR",
    (
        Element(
            (Component(Dimension.TIME, NIGHT_RATE),),
            Restrictions(start_minute=22 * 60, end_minute=6 * 60),
        ),
        Element((Component(Dimension.TIME, DAY_RATE),)),
    ),
)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def by_element(lines: list[PriceLine]) -> dict[int | None, tuple[int, int]]:
    """Element index -> (billed seconds, amount) of the time lines."""
    return {
        line.element: (line.quantity, line.amount.minor) for line in lines if line.code == "time"
    }


def priced(tariff: Tariff, zone: ZoneInfo, start: datetime, end: datetime) -> list[PriceLine]:
    return price(tariff, Interval(start, end), zone, Usage(), 1)


def test_night_rate_applies_across_midnight() -> None:
    lines = priced(
        NIGHT_AND_DAY, SHANGHAI, local(SHANGHAI, 2026, 3, 3, 20), local(SHANGHAI, 2026, 3, 4, 8)
    )
    # 20-22 and 06-08 by day (4 h), 22-06 by night (8 h)
    assert by_element(lines) == {0: (8 * HOUR, 8 * NIGHT_RATE), 1: (4 * HOUR, 4 * DAY_RATE)}


def test_night_rate_on_the_night_clocks_go_forward() -> None:
    # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST, so the night has 7 hours.
    lines = priced(
        NIGHT_AND_DAY, BERLIN, local(BERLIN, 2026, 3, 28, 20), local(BERLIN, 2026, 3, 29, 8)
    )
    assert by_element(lines) == {0: (7 * HOUR, 7 * NIGHT_RATE), 1: (4 * HOUR, 4 * DAY_RATE)}


def test_night_rate_on_the_night_clocks_go_back() -> None:
    # Berlin, 25 October 2026: 03:00 CEST becomes 02:00 CET, so the night has 9 hours.
    lines = priced(
        NIGHT_AND_DAY, BERLIN, local(BERLIN, 2026, 10, 24, 20), local(BERLIN, 2026, 10, 25, 8)
    )
    assert by_element(lines) == {0: (9 * HOUR, 9 * NIGHT_RATE), 1: (4 * HOUR, 4 * DAY_RATE)}


def test_a_flat_rate_over_two_days_with_a_short_one_bills_the_real_hours() -> None:
    start, end = local(BERLIN, 2026, 3, 28, 12), local(BERLIN, 2026, 3, 30, 12)  # 47 hours
    (line,) = priced(flat_rate("EUR", Dimension.TIME, 3600), BERLIN, start, end)
    assert (line.quantity, line.amount.minor) == (47 * HOUR, 47 * 3600)


def test_duration_tier_after_two_hours_is_half_price() -> None:
    tiered = Tariff(
        "CNY",
        (
            Element((Component(Dimension.TIME, 2000),), Restrictions(min_duration_s=2 * HOUR)),
            Element((Component(Dimension.TIME, 4000),)),
        ),
    )
    start = local(SHANGHAI, 2026, 3, 3, 10)
    lines = priced(tiered, SHANGHAI, start, start + timedelta(hours=3, minutes=30))
    assert by_element(lines) == {0: (5400, 3000), 1: (2 * HOUR, 8000)}
    assert total_of(lines, "CNY").minor == 11_000


def test_weekend_rate_by_weekday() -> None:
    weekend = Tariff(
        "CNY",
        (
            Element((Component(Dimension.TIME, 6000),), Restrictions(weekdays=frozenset({5, 6}))),
            Element((Component(Dimension.TIME, 4000),)),
        ),
    )
    # Friday 6 March 2026 23:00 to Saturday 01:00, Shanghai time
    lines = priced(
        weekend, SHANGHAI, local(SHANGHAI, 2026, 3, 6, 23), local(SHANGHAI, 2026, 3, 7, 1)
    )
    assert by_element(lines) == {0: (HOUR, 6000), 1: (HOUR, 4000)}


@pytest.mark.parametrize(
    ("minutes", "billed_s", "amount"),
    [(1, 900, 1000), (15, 900, 1000), (16, 1800, 2000), (20, 1800, 2000), (60, 3600, 4000)],
)
def test_time_is_billed_in_steps_rounded_up(minutes: int, billed_s: int, amount: int) -> None:
    quarter_hours = Tariff("CNY", (Element((Component(Dimension.TIME, 4000, step=900),)),))
    start = local(SHANGHAI, 2026, 3, 3, 10)
    (line,) = priced(quarter_hours, SHANGHAI, start, start + timedelta(minutes=minutes))
    assert (line.quantity, line.amount.minor) == (billed_s, amount)


def test_energy_is_billed_in_whole_kwh_steps() -> None:
    # 1.50 CNY per kWh, in steps of 1 kWh: 2.5 kWh is billed as 3.
    tariff = Tariff("CNY", (Element((Component(Dimension.ENERGY, 150, step=1000),)),))
    start = local(SHANGHAI, 2026, 3, 3, 10)
    lines = price(tariff, Interval(start, start + timedelta(hours=1)), SHANGHAI,
                  Usage(quantities={Dimension.ENERGY: 2500}), 1)  # fmt: skip
    assert [(line.code, line.quantity, line.amount.minor) for line in lines] == [
        ("energy", 3000, 450)
    ]


@pytest.mark.parametrize(
    ("minimum", "maximum", "adjustment"),
    [(5000, None, ("minimum", 1000)), (None, 3000, ("cap", -1000)), (3000, 5000, None)],
)
def test_minimum_and_maximum_price_add_an_adjusting_line(
    minimum: int | None, maximum: int | None, adjustment: tuple[str, int] | None
) -> None:
    tariff = Tariff("CNY", (Element((Component(Dimension.TIME, 4000),)),), minimum, maximum)
    start = local(SHANGHAI, 2026, 3, 3, 10)
    lines = priced(tariff, SHANGHAI, start, start + timedelta(hours=1))
    adjustments = [(line.code, line.amount.minor) for line in lines if line.code != "time"]
    assert adjustments == ([adjustment] if adjustment else [])
    expected_total = 4000 if adjustment is None else 4000 + adjustment[1]
    assert total_of(lines, "CNY").minor == expected_total


def test_components_refuse_negative_prices_and_empty_steps() -> None:
    with pytest.raises(TariffError):
        Component(Dimension.TIME, -1)
    with pytest.raises(TariffError):
        Component(Dimension.TIME, 100, step=0)
    with pytest.raises(TariffError):
        Tariff("CNY", ())


# Instants through 2026, half of them in the days around Berlin's two DST changes.
YEAR = datetime(2026, 1, 1, tzinfo=UTC)
DST_WEEKS = (datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 10, 22, tzinfo=UTC))
instants = st.one_of(
    st.integers(min_value=0, max_value=365 * 24 * 4).map(
        lambda q: YEAR + timedelta(minutes=15 * q)
    ),
    st.tuples(st.sampled_from(DST_WEEKS), st.integers(min_value=0, max_value=4 * 24 * 4)).map(
        lambda week_q: week_q[0] + timedelta(minutes=15 * week_q[1])
    ),
)
durations = st.integers(min_value=1, max_value=4 * 24 * HOUR)


@given(instants, durations, st.integers(min_value=0, max_value=10**7))
def test_flat_time_price_is_price_times_seconds_rounded_half_up_once(
    start: datetime, seconds: int, hourly: int
) -> None:
    lines = priced(
        flat_rate("EUR", Dimension.TIME, hourly), BERLIN, start, start + timedelta(seconds=seconds)
    )
    assert [line.quantity for line in lines] == [seconds]
    assert total_of(lines, "EUR").minor == round_half_up(Fraction(hourly * seconds, HOUR))


@given(instants, durations)
def test_night_and_day_bill_every_second_exactly_once(start: datetime, seconds: int) -> None:
    end = start + timedelta(seconds=seconds)
    parts = by_element(priced(NIGHT_AND_DAY, BERLIN, start, end))
    assert sum(billed for billed, _ in parts.values()) == seconds
    night = _night_seconds(start, end)
    assert parts.get(0, (0, 0))[0] == night


def _night_seconds(start: datetime, end: datetime) -> int:
    """Seconds of [start, end) whose Berlin wall clock reads 22:00-06:00, counted minute by
    minute (the windows start on quarter hours; a partial last minute is checked on its own)."""
    night, at = 0, start
    while at < end:
        step = min(timedelta(minutes=1), end - at)
        hour = at.astimezone(BERLIN).hour
        if hour >= 22 or hour < 6:
            night += int(step.total_seconds())
        at += step
    return night
