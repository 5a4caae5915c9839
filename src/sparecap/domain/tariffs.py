"""Tariffs: what capacity costs by time of day, day of week, duration tier and metered usage.

The shape follows the OCPI 2.2.1 Tariff module (EV-roaming standard, `tariffs.asciidoc`):
a tariff is a list of elements, each with price components (a dimension, a price and a step
size) and restrictions (time of day, days of week, duration tiers). For every moment the first
element whose restrictions hold prices it, which is how a night rate or "after 4 hours" tier is
written. Min and max price bound the total. Quantities are integers in base units (seconds,
watt-hours, pieces, swaps) so prices stay exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo

from sparecap.domain.availability import Interval
from sparecap.domain.money import Money, MoneyError, round_half_up


class Dimension(StrEnum):
    TIME = "time"  # seconds of use
    ENERGY = "energy"  # watt-hours delivered
    PIECES = "pieces"  # pieces produced
    SWAPS = "swaps"  # battery swaps
    FLAT = "flat"  # once per booking


# The base unit a component's price is quoted per, in the dimension's base quantity: an hourly
# rate is per 3600 s, a kWh rate per 1000 Wh.
DEFAULT_PRICE_PER: dict[Dimension, int] = {
    Dimension.TIME: 3600,
    Dimension.ENERGY: 1000,
    Dimension.PIECES: 1,
    Dimension.SWAPS: 1,
    Dimension.FLAT: 1,
}


class TariffError(MoneyError):
    """A tariff that cannot price (bad restriction, unknown dimension, mixed currency)."""


@dataclass(frozen=True, slots=True)
class Component:
    dimension: Dimension
    price_minor: int  # per `per` base units
    per: int = 0  # 0: the dimension's default (hour, kWh, piece)
    step: int = 1  # billed in blocks of this many base units, rounded up (OCPI step_size)

    def __post_init__(self) -> None:
        if self.price_minor < 0 or self.step < 1 or self.per < 0:
            raise TariffError("component price must be >= 0 and step >= 1")

    @property
    def unit(self) -> int:
        return self.per or DEFAULT_PRICE_PER[self.dimension]

    def charge(self, quantity: int) -> tuple[int, Fraction]:
        """Billed quantity (rounded up to the step) and its exact price."""
        billed = -(-quantity // self.step) * self.step
        return billed, Fraction(self.price_minor * billed, self.unit)


@dataclass(frozen=True, slots=True)
class Restrictions:
    start_minute: int | None = None  # local time of day, inclusive
    end_minute: int | None = None  # exclusive; may wrap past midnight (22:00-06:00)
    weekdays: frozenset[int] | None = None  # 0 = Monday
    min_duration_s: int | None = None  # tier: applies from this far into the booking
    max_duration_s: int | None = None  # ... until this far

    def holds(self, local: datetime, elapsed_s: int) -> bool:
        if self.weekdays is not None and local.weekday() not in self.weekdays:
            return False
        if self.min_duration_s is not None and elapsed_s < self.min_duration_s:
            return False
        if self.max_duration_s is not None and elapsed_s >= self.max_duration_s:
            return False
        minute = local.hour * 60 + local.minute
        start, end = self.start_minute, self.end_minute
        if start is None and end is None:
            return True
        start, end = start or 0, 1440 if end is None else end
        return start <= minute < end if start < end else minute >= start or minute < end

    def boundaries(self, window: Interval, zone: ZoneInfo) -> list[datetime]:
        """Instants inside `window` where this restriction may switch on or off."""
        points = [
            window.start + timedelta(seconds=s)
            for s in (self.min_duration_s, self.max_duration_s)
            if s is not None
        ]
        local_day = window.start.astimezone(zone).date() - timedelta(days=1)
        while True:
            midnight = datetime.combine(local_day, time(0), tzinfo=zone)
            if midnight.astimezone(window.start.tzinfo) >= window.end:
                break
            points.append(midnight)
            for minute in (self.start_minute, self.end_minute):
                if minute is not None and minute < 1440:
                    at = midnight.replace(hour=minute // 60, minute=minute % 60)
                    points.append(at)
            local_day += timedelta(days=1)
        return [p for p in points if window.start < p < window.end]


@dataclass(frozen=True, slots=True)
class Element:
    components: tuple[Component, ...]
    restrictions: Restrictions = field(default_factory=Restrictions)

    def component(self, dimension: Dimension) -> Component | None:
        return next((c for c in self.components if c.dimension is dimension), None)


@dataclass(frozen=True, slots=True)
class Tariff:
    currency: str
    elements: tuple[Element, ...]
    min_price_minor: int | None = None  # minimum charge
    max_price_minor: int | None = None  # cap

    def __post_init__(self) -> None:
        Money(0, self.currency)  # refuses an unknown currency
        if not self.elements:
            raise TariffError("a tariff needs at least one element")


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One line of a price: what was billed, how much of it, for how much."""

    code: str  # time | energy | pieces | swaps | flat | minimum | cap
    quantity: int  # billed base units (seconds, Wh, pieces); 0 for adjustments
    unit_price_minor: int  # per `per` base units
    per: int
    amount: Money
    element: int | None = None  # which tariff element priced it


@dataclass(frozen=True, slots=True)
class Usage:
    """What a booking consumed: measured, or estimated before use."""

    seconds: int | None = None  # None: the booked window's length
    quantities: Mapping[Dimension, int] = field(default_factory=dict)


def price(
    tariff: Tariff, window: Interval, zone: ZoneInfo, usage: Usage, units: int
) -> list[PriceLine]:
    """The price lines of using `units` units over `window` (local rules in `zone`)."""
    seconds = usage.seconds if usage.seconds is not None else int(window.duration.total_seconds())
    used = Interval(window.start, window.start + timedelta(seconds=seconds))
    lines = _time_lines(tariff, used, zone, units) if seconds > 0 else []
    for dimension in (Dimension.ENERGY, Dimension.PIECES, Dimension.SWAPS, Dimension.FLAT):
        quantity = 1 if dimension is Dimension.FLAT else usage.quantities.get(dimension, 0)
        line = _metered_line(tariff, dimension, quantity, window.start, zone)
        if line is not None:
            lines.append(line)
    return _bounded(tariff, lines)


def _time_lines(tariff: Tariff, used: Interval, zone: ZoneInfo, units: int) -> list[PriceLine]:
    """Seconds per element: the window cut where any restriction may switch, each piece priced
    by the first element that holds at its start."""
    # In UTC: two datetimes sharing a ZoneInfo subtract as wall clocks, so a local day of 23
    # or 25 hours (a DST change) would be billed as 24.
    points = (used.start, used.end, *_all_boundaries(tariff, used, zone))
    cuts = sorted({p.astimezone(UTC) for p in points})
    seconds: dict[int, int] = defaultdict(int)
    for a, b in pairwise(cuts):
        elapsed = int((a - used.start).total_seconds())
        index = _first_element(tariff, Dimension.TIME, a.astimezone(zone), elapsed)
        if index is not None:
            seconds[index] += int((b - a).total_seconds())
    lines = []
    for index in sorted(seconds):
        component = tariff.elements[index].component(Dimension.TIME)
        assert component is not None
        billed, exact = component.charge(seconds[index])
        amount = Money(round_half_up(exact * units), tariff.currency)
        lines.append(_line("time", billed * units, component, amount, index))
    return lines


def _all_boundaries(tariff: Tariff, used: Interval, zone: ZoneInfo) -> list[datetime]:
    return [p for e in tariff.elements for p in e.restrictions.boundaries(used, zone)]


def _first_element(
    tariff: Tariff, dimension: Dimension, local: datetime, elapsed: int
) -> int | None:
    for index, element in enumerate(tariff.elements):
        if element.component(dimension) and element.restrictions.holds(local, elapsed):
            return index
    return None


def _metered_line(
    tariff: Tariff, dimension: Dimension, quantity: int, start: datetime, zone: ZoneInfo
) -> PriceLine | None:
    if quantity <= 0:
        return None
    index = _first_element(tariff, dimension, start.astimezone(zone), 0)
    if index is None:
        return None
    component = tariff.elements[index].component(dimension)
    assert component is not None
    billed, exact = component.charge(quantity)
    return _line(
        str(dimension), billed, component, Money(round_half_up(exact), tariff.currency), index
    )


def _line(code: str, quantity: int, component: Component, amount: Money, index: int) -> PriceLine:
    return PriceLine(code, quantity, component.price_minor, component.unit, amount, index)


def _bounded(tariff: Tariff, lines: list[PriceLine]) -> list[PriceLine]:
    """Add a minimum-charge or cap line so the total lands within the tariff's bounds."""
    total = sum(line.amount.minor for line in lines)
    adjust = None
    if tariff.min_price_minor is not None and total < tariff.min_price_minor:
        adjust = ("minimum", tariff.min_price_minor - total)
    elif tariff.max_price_minor is not None and total > tariff.max_price_minor:
        adjust = ("cap", tariff.max_price_minor - total)
    if adjust is not None:
        lines.append(PriceLine(adjust[0], 0, 0, 1, Money(adjust[1], tariff.currency)))
    return lines


def total_of(lines: Sequence[PriceLine], currency: str) -> Money:
    return Money(sum(line.amount.minor for line in lines), currency)


def flat_rate(currency: str, dimension: Dimension, price_minor: int, per: int = 0) -> Tariff:
    """The one-element tariff a resource's list price stands for when it sets no tariff."""
    return Tariff(currency, (Element((Component(dimension, price_minor, per),)),))
