"""Reconciliation: the journal's invariants, checked in the database in a few aggregate queries.

- every entry has two or more lines and sums to zero in each currency;
- every line is in its account's currency;
- no wallet, escrow, deposit or payout-in-flight account is below zero;
- a settled booking's escrow and deposit are empty; an escrowed one holds what was paid;
- each provider's clearing account mirrors the payments table (money in less money out);
- every journal entry has its ledger entry.
"""

from __future__ import annotations

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
    report = Reconciliation(
        entries=session.scalar(select(func.count()).select_from(JournalEntry)) or 0,
        lines=session.scalar(select(func.count()).select_from(JournalLine)) or 0,
    )
    checks = (
        _unbalanced,
        _wrong_currency,
        _overdrawn,
        _escrow_mismatch,
        _clearing_mismatch,
        _unlogged,
    )
    for check in checks:
        report.problems += check(session, show)
    report.totals = _totals(session)
    return report


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


def _overdrawn(session: Session, show: int) -> list[str]:
    balances = _balances()
    query = (
        select(Account.code, Account.currency, balances.c.balance)
        .join(balances, balances.c.account_id == Account.id)
        .where(Account.kind.in_([k.value for k in NON_NEGATIVE]), balances.c.balance < 0)
        .limit(show)
    )
    return [f"{code} is overdrawn: {bal} {cur}" for code, cur, bal in session.execute(query)]


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


def _clearing_mismatch(session: Session, show: int) -> list[str]:
    """Money in through a provider less money back out equals minus its clearing balance."""
    balances = _balances()
    ledger: dict[str, int] = dict(
        session.execute(
            select(Account.code + literal(" ") + Account.currency, balances.c.balance)
            .join(balances, balances.c.account_id == Account.id)
            .where(Account.kind == AccountKind.CLEARING.value)
        ).all()
    )
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


def _totals(session: Session) -> dict[str, int]:
    query = (
        select(Account.kind, JournalLine.currency, func.sum(JournalLine.amount_minor))
        .join(Account, Account.id == JournalLine.account_id)
        .group_by(Account.kind, JournalLine.currency)
        .order_by(Account.kind, JournalLine.currency)
    )
    return {f"{kind} {currency}": int(total) for kind, currency, total in session.execute(query)}
