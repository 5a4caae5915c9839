"""The objective of a matching round: integer cost of one offer, its breakdown and the weights.

Every term is in minor units of the demand's currency, so the terms add up and the solvers see
exact integers (float costs make flow solvers far slower and ties unstable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class CostWeights:
    """How much distance and delay cost against price.

    Defaults are round platform choices, not measured values: 100 minor units (1 CNY/EUR) per km
    is the order of a courier's or a driver's marginal cost per km in Chinese cities, and 50 per
    hour of delay after the demand's earliest start makes an earlier slot win a near tie without
    outweighing a real price difference. Operators change them per round.
    """

    price: int = 1  # multiplier on the offer's price
    per_km: int = 100  # minor units per km between demand and resource
    per_hour_late: int = 50  # minor units per hour the offer starts after the earliest start


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    price: int
    distance: int
    delay: int

    @property
    def total(self) -> int:
        return self.price + self.distance + self.delay

    def as_dict(self) -> dict[str, int]:
        # Spelled out: dataclasses.asdict deep-copies field by field, 30 times slower, and a
        # round stores one of these per match.
        return {"price": self.price, "distance": self.distance, "delay": self.delay,
                "total": self.total}  # fmt: skip


def offer_cost(
    weights: CostWeights,
    *,
    price_minor: int,
    distance_km: float,
    earliest_start: datetime,
    start: datetime,
) -> CostBreakdown:
    """The cost of an offer; distance and delay round up, so a tiny detour never costs 0."""
    return CostBreakdown(
        price=weights.price * price_minor,
        distance=distance_cost(weights, distance_km),
        delay=delay_cost(weights, earliest_start, start),
    )


def distance_cost(weights: CostWeights, distance_km: float) -> int:
    return math.ceil(weights.per_km * max(0.0, distance_km))


def delay_cost(weights: CostWeights, earliest_start: datetime, start: datetime) -> int:
    delay_hours = max(0.0, (start - earliest_start).total_seconds() / 3600)
    return math.ceil(weights.per_hour_late * delay_hours)


def provider_cap(share: float | None, demands: int) -> int | None:
    """Most matches one provider may take in a round of `demands`, for a share in (0, 1].

    Rounded up and at least 1, so a cap never leaves a round with a single provider empty.
    """
    if share is None:
        return None
    if not 0 < share <= 1:
        raise ValueError("the fairness share must be in (0, 1]")
    return max(1, math.ceil(share * demands))


SECONDS_PER_PRICE_UNIT = {"hour": 3600, "day": 86400}


@lru_cache(maxsize=65_536)
def list_price(price_minor: int, price_unit: str, duration: timedelta) -> int:
    """A listing's price for one unit over `duration`, prorated to the second, half up.

    What the engine ranks and checks against a ceiling; the booking service prices the booking
    itself with the full tariff. Integer arithmetic and a cache: a round asks this for every
    candidate pair, and the pairs share a few prices and durations.
    """
    per = SECONDS_PER_PRICE_UNIT.get(price_unit, SECONDS_PER_PRICE_UNIT["day"])
    numerator = price_minor * int(duration.total_seconds())
    if numerator < 0:
        raise ValueError("prices and durations are not negative")
    return (2 * numerator + per) // (2 * per)  # round half up of numerator / per
