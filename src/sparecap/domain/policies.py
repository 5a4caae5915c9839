"""Booking policies: what a cancellation or a no-show costs, the deposit, the dispute window.

They are copied onto a booking when it is made (its terms), so a later change to a resource's
policy never rewrites a deal already struck.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sparecap.domain.bookings import Actor
from sparecap.domain.money import Money, MoneyError, round_half_up
from sparecap.domain.quotes import BASIS_POINTS


@dataclass(frozen=True, slots=True)
class Policy:
    free_cancel_hours: int = 24  # a demander cancelling earlier than this before start pays nothing
    late_cancel_bp: int = 5_000  # ... later, this share of the price
    no_show_bp: int = 10_000  # share kept when the demander does not turn up
    deposit_minor: int = 0  # held beside the price, released after the dispute window
    dispute_days: int = 3  # days after completion in which either side may open a dispute

    def __post_init__(self) -> None:
        if not (0 <= self.late_cancel_bp <= BASIS_POINTS and 0 <= self.no_show_bp <= BASIS_POINTS):
            raise MoneyError("fee shares must be between 0 and 100 %")
        if min(self.free_cancel_hours, self.deposit_minor, self.dispute_days) < 0:
            raise MoneyError("policy values must not be negative")


def cancellation_fee(
    policy: Policy, *, paid: Money, start: datetime, now: datetime, actor: Actor
) -> Money:
    """What is kept of `paid` when a booking is cancelled.

    Only a demander's own late cancellation costs anything: a provider or operator cancelling
    refunds in full, since the demander did nothing wrong.
    """
    if actor is not Actor.DEMANDER or now <= start - timedelta(hours=policy.free_cancel_hours):
        return Money(0, paid.currency)
    return share(paid, policy.late_cancel_bp)


def no_show_fee(policy: Policy, *, paid: Money) -> Money:
    return share(paid, policy.no_show_bp)


def share(amount: Money, bp: int) -> Money:
    return Money(round_half_up(Fraction(amount.minor * bp, BASIS_POINTS)), amount.currency)
