"""Double-entry bookkeeping: accounts, balanced journal entries, and the invariants they keep.

Every account holds value; a movement takes value out of some accounts (negative amounts) and
puts it into others (positive amounts), so each entry sums to zero in every currency. Money
that comes in from outside the platform is drawn from a payment provider's clearing account,
which therefore runs negative by what the platform holds for others; money paid out goes back
into it. Balances are sums of lines, never stored numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sparecap.domain.money import MAX_MINOR, Money, MoneyError, check_currency


class AccountKind(StrEnum):
    WALLET = "wallet"  # a participant's spendable balance with the platform
    ESCROW = "escrow"  # a booking's payment, held until release or refund
    DEPOSIT = "deposit"  # a booking's deposit, held until released or captured
    PAYOUT_PENDING = "payout_pending"  # a participant's payout on its way to the bank
    PLATFORM_REVENUE = "platform_revenue"  # commission and service fees
    TAXES = "taxes"  # tax withheld, owed to the tax office
    CLEARING = "clearing"  # a payment provider: money in and out of the platform


_KINDS: dict[str, AccountKind] = {kind.value: kind for kind in AccountKind}

# Accounts whose balance may never go below zero: what is held for someone is never overdrawn.
NON_NEGATIVE: frozenset[AccountKind] = frozenset(
    {AccountKind.WALLET, AccountKind.ESCROW, AccountKind.DEPOSIT, AccountKind.PAYOUT_PENDING}
)


@dataclass(frozen=True, slots=True, order=True)
class AccountRef:
    """Names an account: its kind and owner (a participant, a booking, a provider name)."""

    kind: AccountKind
    owner: str = ""

    @property
    def code(self) -> str:
        return f"{self.kind}:{self.owner}" if self.owner else str(self.kind)

    @classmethod
    def parse(cls, code: str) -> AccountRef:
        kind, _, owner = code.partition(":")
        try:
            # A plain dict lookup: calling the enum costs more than the rest of a parse, and
            # settlement parses one account code per booking.
            return cls(_KINDS[kind], owner)
        except KeyError:
            raise JournalError(f"unknown account kind in {code!r}") from None


def wallet(participant_id: int) -> AccountRef:
    return AccountRef(AccountKind.WALLET, str(participant_id))


def payout_pending(participant_id: int) -> AccountRef:
    return AccountRef(AccountKind.PAYOUT_PENDING, str(participant_id))


def escrow(booking_id: int) -> AccountRef:
    return AccountRef(AccountKind.ESCROW, str(booking_id))


def deposit(booking_id: int) -> AccountRef:
    return AccountRef(AccountKind.DEPOSIT, str(booking_id))


def clearing(provider: str) -> AccountRef:
    return AccountRef(AccountKind.CLEARING, provider)


PLATFORM_REVENUE = AccountRef(AccountKind.PLATFORM_REVENUE)
TAXES = AccountRef(AccountKind.TAXES)


class JournalError(MoneyError):
    """An entry that bookkeeping refuses (unbalanced, empty, zero lines)."""


@dataclass(frozen=True, slots=True)
class Line:
    account: AccountRef
    amount: Money  # positive: into the account; negative: out of it


def transfer(source: AccountRef, target: AccountRef, amount: Money) -> list[Line]:
    """Move `amount` from one account to another: the two lines of the simplest entry."""
    if amount.minor <= 0:
        raise JournalError(f"a transfer moves a positive amount, got {amount.format()}")
    return [Line(source, Money(-amount.minor, amount.currency)), Line(target, amount)]


def spread(source: AccountRef, parts: Sequence[tuple[AccountRef, Money]]) -> list[Line]:
    """Take the sum of `parts` out of `source` and put each part into its account.

    Zero parts are left out, so a split that gives one side nothing writes no empty line.
    """
    parts = [(account, amount) for account, amount in parts if amount.minor != 0]
    if not parts:
        return []
    currency = parts[0][1].currency
    if any(amount.currency != currency for _, amount in parts):
        raise JournalError("a spread moves one currency; there is no implicit conversion")
    total = sum(amount.minor for _, amount in parts)
    return [Line(source, Money(-total, currency))] + [Line(a, m) for a, m in parts]


def check_balanced(lines: Sequence[Line]) -> None:
    """Refuse an entry that is empty, has a zero line, or does not sum to zero per currency."""
    if len(lines) < 2:
        raise JournalError("a journal entry needs at least two lines")
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        check_currency(line.amount.currency)
        if line.amount.minor == 0:
            raise JournalError(f"zero line on {line.account.code}")
        sums[line.amount.currency] += line.amount.minor
    unbalanced = {c: s for c, s in sums.items() if s != 0}
    if unbalanced:
        raise JournalError(f"entry does not balance: {unbalanced}")


def reversal(lines: Iterable[Line]) -> list[Line]:
    """The lines that undo an entry: corrections are new entries, never edits."""
    return [Line(line.account, Money(-line.amount.minor, line.amount.currency)) for line in lines]


def check_amount(amount: Money) -> Money:
    """A user-supplied amount: positive and within limits (Money itself checks the currency)."""
    if amount.minor <= 0:
        raise JournalError(f"amount must be positive, got {amount.minor}")
    if amount.minor > MAX_MINOR:
        raise JournalError(f"amount exceeds the limit of {MAX_MINOR} minor units")
    return amount
