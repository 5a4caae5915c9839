"""Booking policies: cancellation and no-show fees as the booking's own terms decide them."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.bookings import Actor
from sparecap.domain.money import Money, MoneyError
from sparecap.domain.policies import Policy, cancellation_fee, no_show_fee

START = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
PAID = Money(10_000, "CNY")
POLICY = Policy(free_cancel_hours=24, late_cancel_bp=5_000, no_show_bp=8_000)


def fee(now: datetime, actor: Actor = Actor.DEMANDER, policy: Policy = POLICY) -> int:
    return cancellation_fee(policy, paid=PAID, start=START, now=now, actor=actor).minor


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (timedelta(days=3), 0),
        (timedelta(hours=24), 0),  # exactly at the end of the free window: still free
        (timedelta(hours=24) - timedelta(seconds=1), 5_000),
        (timedelta(hours=2), 5_000),
        (timedelta(0), 5_000),
        (-timedelta(hours=1), 5_000),  # after the start
    ],
)
def test_demander_cancellation_is_free_before_the_window_then_costs_the_late_share(
    before: timedelta, expected: int
) -> None:
    assert fee(START - before) == expected


@pytest.mark.parametrize("actor", [Actor.PROVIDER, Actor.OPERATOR, Actor.SYSTEM])
def test_nobody_but_the_demander_makes_the_demander_pay(actor: Actor) -> None:
    assert fee(START - timedelta(hours=1), actor) == 0


def test_late_share_rounds_half_up() -> None:
    policy = Policy(late_cancel_bp=3_333)
    paid = Money(150, "CNY")  # 49.995 -> 50
    late = cancellation_fee(policy, paid=paid, start=START, now=START, actor=Actor.DEMANDER)
    assert late == Money(50, "CNY")


def test_no_show_keeps_its_share() -> None:
    assert no_show_fee(POLICY, paid=PAID) == Money(8_000, "CNY")
    assert no_show_fee(Policy(no_show_bp=0), paid=PAID) == Money(0, "CNY")


def test_policies_refuse_impossible_values() -> None:
    for bad in (
        {"late_cancel_bp": 10_001},
        {"no_show_bp": -1},
        {"free_cancel_hours": -1},
        {"deposit_minor": -1},
        {"dispute_days": -1},
    ):
        with pytest.raises(MoneyError):
            Policy(**bad)  # type: ignore[arg-type]


@given(
    st.integers(0, 10**12),
    st.integers(0, 10_000),
    st.integers(0, 24 * 30),
    st.integers(-48 * 60, 60 * 24 * 60),
    st.sampled_from(list(Actor)),
)
def test_a_cancellation_fee_is_never_more_than_paid_and_zero_unless_late_by_the_demander(
    paid: int, bp: int, free_hours: int, minutes_before: int, actor: Actor
) -> None:
    policy = Policy(free_cancel_hours=free_hours, late_cancel_bp=bp)
    now = START - timedelta(minutes=minutes_before)
    kept = cancellation_fee(policy, paid=Money(paid, "CNY"), start=START, now=now, actor=actor)
    assert 0 <= kept.minor <= paid
    late = actor is Actor.DEMANDER and minutes_before < free_hours * 60
    assert (kept.minor > 0) <= late
    if late:
        assert abs(kept.minor - Fraction(paid * bp, 10_000)) <= Fraction(1, 2)
