"""Double-entry bookkeeping: balanced entries only, transfers, spreads and reversals."""

from collections import defaultdict
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.journal import (
    PLATFORM_REVENUE,
    TAXES,
    AccountKind,
    AccountRef,
    JournalError,
    Line,
    check_amount,
    check_balanced,
    clearing,
    escrow,
    reversal,
    spread,
    transfer,
    wallet,
)
from sparecap.domain.money import MAX_MINOR, Money, MoneyError


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "at least two lines"),
        ([Line(wallet(1), cny(0))], "at least two lines"),
        ([Line(wallet(1), cny(100))], "at least two lines"),
        ([Line(wallet(1), cny(-100)), Line(wallet(2), cny(99))], "does not balance"),
        ([Line(wallet(1), cny(-100)), Line(wallet(2), cny(100)), Line(TAXES, cny(0))], "zero line"),
        ([Line(wallet(1), cny(0)), Line(wallet(2), cny(0))], "zero line"),
        # balanced in sum, but across two currencies: no implicit conversion
        ([Line(wallet(1), cny(-100)), Line(wallet(2), Money(100, "USD"))], "does not balance"),
    ],
)
def test_unbalanced_empty_zero_and_single_line_entries_are_refused(
    lines: list[Line], message: str
) -> None:
    with pytest.raises(JournalError, match=message):
        check_balanced(lines)


def test_an_entry_balanced_in_each_of_two_currencies_is_accepted() -> None:
    check_balanced(
        [
            Line(wallet(1), cny(-100)),
            Line(wallet(2), cny(100)),
            Line(wallet(1), Money(-7, "USD")),
            Line(wallet(2), Money(7, "USD")),
        ]
    )


def test_transfer_moves_a_positive_amount_from_source_to_target() -> None:
    assert transfer(wallet(1), escrow(9), cny(250)) == [
        Line(wallet(1), cny(-250)),
        Line(escrow(9), cny(250)),
    ]
    for bad in (0, -1):
        with pytest.raises(JournalError):
            transfer(wallet(1), escrow(9), cny(bad))


def test_spread_leaves_zero_parts_out_and_takes_the_sum_from_the_source() -> None:
    lines = spread(escrow(9), [(wallet(2), cny(900)), (PLATFORM_REVENUE, cny(0)), (TAXES, cny(60))])
    assert lines == [Line(escrow(9), cny(-960)), Line(wallet(2), cny(900)), Line(TAXES, cny(60))]
    assert spread(escrow(9), [(wallet(2), cny(0))]) == []


def test_spread_refuses_to_mix_currencies() -> None:
    with pytest.raises(JournalError):
        spread(escrow(9), [(wallet(2), cny(900)), (TAXES, Money(60, "USD"))])


def test_check_amount_refuses_what_a_user_may_not_send() -> None:
    assert check_amount(cny(1)) == cny(1)
    for bad in (0, -5):
        with pytest.raises(JournalError):
            check_amount(cny(bad))
    with pytest.raises(MoneyError):
        check_amount(cny(MAX_MINOR + 1))


accounts = st.one_of(
    st.integers(1, 50).map(wallet),
    st.integers(1, 50).map(escrow),
    st.sampled_from([PLATFORM_REVENUE, TAXES, clearing("sandbox"), clearing("alipay")]),
)
currencies = st.sampled_from(["CNY", "USD", "JPY"])


@st.composite
def balanced_entries(draw: st.DrawFn) -> list[Line]:
    """A random balanced entry: per currency, transfers and spreads glued together."""
    lines: list[Line] = []
    for currency in draw(st.lists(currencies, min_size=1, max_size=3, unique=True)):
        source = draw(accounts)
        parts = draw(st.lists(st.tuples(accounts, st.integers(1, 10**12)), min_size=1, max_size=5))
        lines += spread(source, [(a, Money(m, currency)) for a, m in parts])
    return lines


def sums(lines: Sequence[Line]) -> dict[tuple[AccountRef, str], int]:
    total: dict[tuple[AccountRef, str], int] = defaultdict(int)
    for line in lines:
        total[(line.account, line.amount.currency)] += line.amount.minor
    return total


@given(balanced_entries())
def test_a_reversal_is_balanced_and_undoes_every_account(lines: list[Line]) -> None:
    check_balanced(lines)
    undo = reversal(lines)
    check_balanced(undo)
    assert len(undo) == len(lines)
    assert all(v == 0 for v in sums([*lines, *undo]).values())
    assert reversal(undo) == lines


@given(balanced_entries(), st.integers(0, 10), st.integers(1, 10**6))
def test_any_entry_put_off_balance_by_one_line_is_refused(
    lines: list[Line], index: int, delta: int
) -> None:
    i = index % len(lines)
    broken = list(lines)
    old = broken[i].amount
    if old.minor + delta == 0:
        delta += 1
    broken[i] = Line(broken[i].account, Money(old.minor + delta, old.currency))
    with pytest.raises(JournalError):
        check_balanced(broken)


@given(accounts)
def test_account_codes_round_trip(account: AccountRef) -> None:
    assert AccountRef.parse(account.code) == account
    assert account.code.split(":")[0] in {k.value for k in AccountKind}
