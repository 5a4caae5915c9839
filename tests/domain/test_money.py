"""Money: integer minor units, largest-remainder allocation, half-up rounding."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.money import (
    MAX_MINOR,
    CurrencyMismatchError,
    Money,
    MoneyError,
    UnknownCurrencyError,
    allocate,
    prorate,
    round_half_up,
)

amounts = st.integers(min_value=-(10**12), max_value=10**12)
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(
    lambda ws: sum(ws) > 0
)


@given(amounts, weights)
def test_allocation_parts_sum_to_the_total(amount: int, ws: list[int]) -> None:
    parts = allocate(Money(amount, "CNY"), ws)
    assert sum(p.minor for p in parts) == amount
    assert len(parts) == len(ws)


@given(amounts, weights)
def test_allocation_is_within_one_minor_unit_of_the_exact_share(amount: int, ws: list[int]) -> None:
    parts = allocate(Money(amount, "CNY"), ws)
    for part, w in zip(parts, ws, strict=True):
        exact = Fraction(amount * w, sum(ws))
        assert abs(part.minor - exact) < 1


def test_allocation_gives_leftover_cents_to_the_largest_remainders() -> None:
    assert [p.minor for p in allocate(Money(100, "CNY"), [1, 1, 1])] == [34, 33, 33]
    assert [p.minor for p in allocate(Money(-100, "CNY"), [1, 1, 1])] == [-34, -33, -33]
    assert [p.minor for p in allocate(Money(10, "CNY"), [1, 2])] == [3, 7]


def test_allocation_refuses_weights_that_share_nothing() -> None:
    with pytest.raises(MoneyError):
        allocate(Money(10, "CNY"), [0, 0])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Fraction(5, 2), 3), (Fraction(-5, 2), -3), (Fraction(7, 3), 2), (Fraction(1, 2), 1)],
)
def test_round_half_up_rounds_halves_away_from_zero(value: Fraction, expected: int) -> None:
    assert round_half_up(value) == expected


def test_prorate_ninety_minutes_of_an_hourly_price() -> None:
    assert prorate(Money(4500, "CNY"), Fraction(3, 2)) == Money(6750, "CNY")
    assert prorate(Money(1, "CNY"), Fraction(1, 2)) == Money(1, "CNY")


def test_money_refuses_floats_unknown_currencies_mixing_and_overflow() -> None:
    with pytest.raises(MoneyError):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrencyError):
        Money(1, "XYZ")
    with pytest.raises(CurrencyMismatchError):
        _ = Money(1, "CNY") + Money(1, "USD")
    with pytest.raises(MoneyError):
        Money(MAX_MINOR + 1, "CNY")


def test_format_uses_the_currency_exponent() -> None:
    assert Money(12345, "CNY").format() == "123.45 CNY"
    assert Money(-5, "USD").format() == "-0.05 USD"
    assert Money(500, "JPY").format() == "500 JPY"
