"""The base price of a booking: a resource's unit price times time and quantity.

Full tariffs (time of day, tiers, commission, taxes) come with the money-flow work; this is the
single rule the core needs so a booking carries its price from the moment it is made.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from sparecap.domain.money import Money, prorate

SECONDS_PER = {"hour": 3600, "day": 86400}


def base_price(unit_price: Money, price_unit: str, duration: timedelta, quantity: int) -> Money:
    """Price of `quantity` for `duration`.

    hour/day: unit price per unit per hour or day, prorated to the second and rounded half up
    once. piece: the resource is an output rate; `quantity` is pieces per day, so the price is
    per piece made over the whole window (days × quantity).
    """
    seconds = Fraction(int(duration.total_seconds()))
    if price_unit == "piece":
        return prorate(unit_price, seconds / SECONDS_PER["day"] * quantity)
    return prorate(unit_price, seconds / SECONDS_PER[price_unit] * quantity)
