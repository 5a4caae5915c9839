"""Quotes: tax inclusive and exclusive, fees with minimums, and shares that always add up."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.money import Money, MoneyError
from sparecap.domain.quotes import BASIS_POINTS, Fee, FeeSchedule, Shares, Tax, quote
from sparecap.domain.tariffs import PriceLine


def lines_of(*amounts: int) -> list[PriceLine]:
    return [PriceLine("time", 3600, a, 3600, Money(a, "CNY")) for a in amounts]


@pytest.mark.parametrize(
    ("rate_bp", "inclusive", "price", "gross", "tax"),
    [
        (600, True, 10_600, 10_600, 600),  # 6 % VAT inside 106.00
        (600, False, 10_000, 10_600, 600),  # 6 % VAT on top of 100.00
        (1_300, True, 11_300, 11_300, 1_300),  # China's 13 % VAT
        (1_900, True, 11_900, 11_900, 1_900),  # Germany's 19 %
        (600, True, 100, 100, 6),  # 100/1.06 = 94.34 -> net 94, tax 6
        (600, False, 8, 8, 0),  # 0.48 rounds down
        (600, False, 25, 27, 2),  # 1.5 rounds half up
        (0, True, 5_000, 5_000, 0),
    ],
)
def test_tax_known_answers(rate_bp: int, inclusive: bool, price: int, gross: int, tax: int) -> None:
    assert Tax(rate_bp, inclusive).split(Money(price, "CNY")) == (
        Money(gross, "CNY"),
        Money(tax, "CNY"),
    )


@given(st.integers(0, 10**12), st.integers(0, BASIS_POINTS), st.booleans())
def test_tax_is_the_rate_of_the_net_within_half_a_minor_unit(
    price: int, rate_bp: int, inclusive: bool
) -> None:
    gross, tax = Tax(rate_bp, inclusive).split(Money(price, "CNY"))
    net = gross.minor - tax.minor
    assert gross.minor == (price if inclusive else price + tax.minor)
    assert abs(tax.minor - Fraction(net * rate_bp, BASIS_POINTS)) <= Fraction(
        BASIS_POINTS + rate_bp, 2 * BASIS_POINTS
    )


@pytest.mark.parametrize(
    ("fee", "base", "expected"),
    [
        (Fee(percent_bp=1_000), 10_000, 1_000),
        (Fee(percent_bp=1_000, fixed_minor=50), 10_000, 1_050),
        (Fee(percent_bp=100, minimum_minor=300), 10_000, 300),  # 1 % is 100, minimum 300
        (Fee(percent_bp=250), 10_001, 250),  # 250.025 -> 250
        (Fee(percent_bp=250), 10_020, 251),  # 250.5 -> 251
        (Fee(fixed_minor=99, minimum_minor=300), 0, 0),  # nothing to take a fee from
    ],
)
def test_fee_known_answers(fee: Fee, base: int, expected: int) -> None:
    assert fee.of(Money(base, "CNY")) == Money(expected, "CNY")


def test_fee_and_tax_refuse_impossible_rates() -> None:
    for bad in ({"percent_bp": -1}, {"percent_bp": 10_001}, {"fixed_minor": -5}):
        with pytest.raises(MoneyError):
            Fee(**bad)
    with pytest.raises(MoneyError):
        Tax(10_001)


def test_quote_known_answer_with_tax_commission_and_service_fee() -> None:
    fees = FeeSchedule(
        provider_commission=Fee(percent_bp=1_000), demander_fee=Fee(percent_bp=200), tax=Tax(600)
    )
    q = quote(lines_of(6_000, 4_000), "CNY", fees)
    # 100.00 incl. 6 % VAT: net 94.34, tax 5.66; commission 10 % of 94.34; fee 2 % of 94.34
    assert (q.price.minor, q.tax.minor) == (10_000, 566)
    assert (q.provider_commission.minor, q.demander_fee.minor) == (943, 189)
    assert q.total.minor == 10_189
    assert q.shares == Shares(
        provider=Money(8_491, "CNY"),
        commission=Money(943, "CNY"),
        service_fee=Money(189, "CNY"),
        tax=Money(566, "CNY"),
    )


def test_commission_minimum_never_exceeds_the_provider_price() -> None:
    fees = FeeSchedule(provider_commission=Fee(minimum_minor=500))
    q = quote(lines_of(300), "CNY", fees)
    assert q.shares.commission.minor == 300
    assert q.shares.provider.minor == 0


def test_quote_refuses_a_negative_price() -> None:
    with pytest.raises(MoneyError):
        quote(lines_of(100, -200), "CNY", FeeSchedule())


fees = st.builds(
    Fee,
    percent_bp=st.integers(0, BASIS_POINTS),
    fixed_minor=st.integers(0, 10_000),
    minimum_minor=st.integers(0, 10_000),
)
schedules = st.builds(
    FeeSchedule,
    provider_commission=fees,
    demander_fee=fees,
    tax=st.builds(Tax, rate_bp=st.integers(0, BASIS_POINTS), inclusive=st.booleans()),
)
line_amounts = st.lists(st.integers(0, 10**9), min_size=1, max_size=6)


@given(line_amounts, schedules)
def test_every_quote_splits_its_total_exactly(amounts: list[int], schedule: FeeSchedule) -> None:
    q = quote(lines_of(*amounts), "CNY", schedule)
    assert q.price.minor == sum(amounts)
    parts = q.shares.weights()
    assert all(part >= 0 for part in parts)
    assert sum(parts) == q.total.minor
    assert q.total.minor == q.price.minor + (0 if schedule.tax.inclusive else q.tax.minor) + (
        q.demander_fee.minor
    )


@st.composite
def shares_and_amount(draw: st.DrawFn) -> tuple[Shares, int]:
    q = quote(lines_of(*draw(line_amounts)), "CNY", draw(schedules))
    return q.shares, draw(st.integers(0, q.total.minor))


@given(shares_and_amount())
def test_a_part_of_the_shares_sums_to_the_part_and_never_exceeds_a_share(
    case: tuple[Shares, int],
) -> None:
    shares, amount = case
    part = shares.part(Money(amount, "CNY"))
    assert part.total.minor == amount
    for small, whole in zip(part.weights(), shares.weights(), strict=True):
        assert 0 <= small <= whole
        # largest remainder: within one minor unit of the exact proportional share
        if shares.total.minor:
            assert abs(small - Fraction(whole * amount, shares.total.minor)) < 1


def test_part_known_answer_gives_the_leftover_unit_to_the_largest_remainder() -> None:
    shares = Shares(Money(8_491, "CNY"), Money(943, "CNY"), Money(189, "CNY"), Money(566, "CNY"))
    half = shares.part(Money(5_094, "CNY"))  # half of 10,189 rounded down
    assert half.weights() == [4_245, 471, 95, 283]
