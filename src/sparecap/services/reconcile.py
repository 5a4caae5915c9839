"""Reconciliation: the journal's invariants, checked in the database in a few aggregate queries.

- every entry has two or more lines and sums to zero in each currency;
- every line is in its account's currency;
- no wallet, escrow, deposit or payout-in-flight account is below zero;
- a settled booking's escrow and deposit are empty; an escrowed one holds what was paid;
- each provider's clearing account mirrors the payments table (money in less money out);
- every journal entry has its ledger entry.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from sparecap.db.models import LedgerEntry
from sparecap.db.money import Account, BookingTerms, JournalEntry, JournalLine, Payment
from sparecap.domain.journal import NON_NEGATIVE, AccountKind


@dataclass
class Reconciliation:
    entries: int = 0
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # "kind currency" -> balance

    @property
    def ok(self) -> bool:
        return not self.problems


def reconcile(session: Session, *, show: int = 20) -> Reconciliation:
    """Check every invariant; lists up to `show` examples of each problem found."""
    sums = _account_sums(session)
    report = Reconciliation(
        entries=session.scalar(select(func.count()).select_from(JournalEntry)) or 0,
        lines=sum(s.lines for s in sums),
    )
    report.problems += _unbalanced(session, show)
    if any(s.line_currency != s.currency for s in sums):
        report.problems += _wrong_currency(session, show)
    report.problems += _overdrawn(sums, show)
    report.problems += _escrow_mismatch(session, show)
    report.problems += _clearing_mismatch(session, sums, show)
    report.problems += _unlogged(session, show)
    report.totals = _totals(sums)
    return report


@dataclass(frozen=True, slots=True)
class _AccountSum:
    """The lines of one account in one currency, summed."""

    account_id: int
    code: str
    kind: str
    currency: str  # the account's
    line_currency: str  # the lines'
    balance: int
    lines: int


def _account_sums(session: Session) -> list[_AccountSum]:
    """One pass over the lines, grouped by account and currency, that the balance checks and
    the totals share: on SQLite each of them scanning a million lines took seconds."""
    grouped = (
        select(
            JournalLine.account_id,
            JournalLine.currency,
            func.sum(JournalLine.amount_minor).label("balance"),
            func.count().label("lines"),
        )
        .group_by(JournalLine.account_id, JournalLine.currency)
        .subquery()
    )
    query = select(
        Account.id, Account.code, Account.kind, Account.currency,
        grouped.c.currency, grouped.c.balance, grouped.c.lines,
    ).join(grouped, grouped.c.account_id == Account.id)  # fmt: skip
    return [
        _AccountSum(id_, code, kind, currency, line_currency, int(balance), int(lines))
        for id_, code, kind, currency, line_currency, balance, lines in session.execute(query)
    ]


def _by_account(sums: list[_AccountSum]) -> dict[int, tuple[_AccountSum, int]]:
    """Each account's balance over all its lines (a line in a wrong currency included)."""
    found: dict[int, tuple[_AccountSum, int]] = {}
    for s in sums:
        first, total = found.get(s.account_id, (s, 0))
        found[s.account_id] = (first, total + s.balance)
    return found


def _unbalanced(session: Session, show: int) -> list[str]:
    query = (
        select(
            JournalLine.entry_id,
            JournalLine.currency,
            func.sum(JournalLine.amount_minor),
            func.count(),
        )
        .group_by(JournalLine.entry_id, JournalLine.currency)
        .having((func.sum(JournalLine.amount_minor) != 0) | (func.count() < 2))
        .limit(show)
    )
    return [
        f"entry {entry} does not balance in {currency}: sum {total} over {count} line(s)"
        for entry, currency, total, count in session.execute(query)
    ]


def _wrong_currency(session: Session, show: int) -> list[str]:
    query = (
        select(JournalLine.id, JournalLine.currency, Account.code, Account.currency)
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.currency != Account.currency)
        .limit(show)
    )
    return [
        f"line {line} is in {cur} but account {code} is in {acc_cur}"
        for line, cur, code, acc_cur in session.execute(query)
    ]


def _balances() -> Subquery:
    return (
        select(JournalLine.account_id, func.sum(JournalLine.amount_minor).label("balance"))
        .group_by(JournalLine.account_id)
        .subquery()
    )


def _overdrawn(sums: list[_AccountSum], show: int) -> list[str]:
    held = {k.value for k in NON_NEGATIVE}
    return [
        f"{s.code} is overdrawn: {balance} {s.currency}"
        for s, balance in _by_account(sums).values()
        if s.kind in held and balance < 0
    ][:show]


def _escrow_mismatch(session: Session, show: int) -> list[str]:
    """Escrow of each booking: the price paid while escrowed, nothing once settled."""
    balances = _balances()
    held = func.coalesce(balances.c.balance, 0)
    expected = case(
        (
            BookingTerms.money_status == "escrowed",
            Payment.amount_minor - BookingTerms.deposit_minor,
        ),
        else_=literal(0),
    )
    escrow_account = and_(
        Account.kind == AccountKind.ESCROW.value,
        Account.code == literal("escrow:") + func.cast(BookingTerms.booking_id, Account.code.type),
    )
    query = (
        select(BookingTerms.booking_id, BookingTerms.money_status, held, expected)
        .outerjoin(Payment, Payment.id == BookingTerms.payment_id)
        .outerjoin(Account, escrow_account)
        .outerjoin(balances, balances.c.account_id == Account.id)
        .where(BookingTerms.money_status.in_(["escrowed", "released", "refunded"]))
        .where(held != expected)
        .limit(show)
    )
    return [
        f"booking {booking} is {status} but its escrow holds {have} (expected {want})"
        for booking, status, have, want in session.execute(query)
    ]


def _clearing_mismatch(session: Session, sums: list[_AccountSum], show: int) -> list[str]:
    """Money in through a provider less money back out equals minus its clearing balance."""
    ledger = {
        f"{s.code} {s.currency}": balance
        for s, balance in _by_account(sums).values()
        if s.kind == AccountKind.CLEARING.value
    }
    flows: dict[str, int] = {}
    money_in = case(
        (Payment.purpose == "payout", 0), else_=Payment.amount_minor - Payment.refunded_minor
    )
    money_out = case((Payment.purpose == "payout", Payment.amount_minor), else_=0)
    query = (
        select(Payment.provider, Payment.currency, func.sum(money_in - money_out))
        .where(Payment.provider != "wallet", Payment.status.in_(["captured", "paid"]))
        .group_by(Payment.provider, Payment.currency)
    )
    for provider, currency, net in session.execute(query):
        flows[f"clearing:{provider} {currency}"] = int(net)
    problems = []
    for key in sorted(set(flows) | set(ledger)):
        if -int(ledger.get(key) or 0) != flows.get(key, 0):
            problems.append(
                f"{key}: journal holds {-(ledger.get(key) or 0)}, payments say {flows.get(key, 0)}"
            )
    return problems[:show]


def _unlogged(session: Session, show: int) -> list[str]:
    query = (
        select(JournalEntry.id, JournalEntry.ledger_seq)
        .outerjoin(LedgerEntry, LedgerEntry.seq == JournalEntry.ledger_seq)
        .where((LedgerEntry.seq.is_(None)) | (LedgerEntry.kind != "journal.entry"))
        .limit(show)
    )
    return [f"entry {entry} has no ledger entry at {seq}" for entry, seq in session.execute(query)]


def _totals(sums: list[_AccountSum]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for s in sorted(sums, key=lambda s: (s.kind, s.line_currency)):
        totals[f"{s.kind} {s.line_currency}"] += s.balance
    return dict(totals)
