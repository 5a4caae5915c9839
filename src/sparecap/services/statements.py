"""Statements: a participant's money over a period, line by line, reconciled to the journal.

Every line of the participant's wallet in the period is listed
with what it was (earnings, refund, payment, top-up, payout, fee adjustments); the opening
balance plus the lines is the closing balance, both read from the journal.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sparecap.db.models import Booking, Resource
from sparecap.db.money import Account, JournalEntry, JournalLine, Settlement
from sparecap.domain.journal import AccountKind
from sparecap.services.errors import InvalidInputError, NotFoundError
from sparecap.services.principals import Principal

# Entry kinds that divide a booking's escrow: a credit from one is an earning for the provider
# and a refund for the demander.
SETTLING = frozenset({"release", "cancellation", "no_show", "refund"})
CATEGORY = {
    "topup": "top_up",
    "escrow.fund": "payment",
    "payout.request": "payout",
    "payout.failed": "payout",
    "reversal": "correction",
}


@dataclass(frozen=True, slots=True)
class StatementLine:
    at: datetime
    entry_id: int
    kind: str
    category: str
    booking_id: int | None
    amount_minor: int
    balance_minor: int


@dataclass
class Statement:
    participant_id: int
    currency: str
    start: datetime
    end: datetime
    opening_minor: int
    closing_minor: int
    lines: list[StatementLine] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)  # by category
    fees: dict[str, int] = field(default_factory=dict)  # commission / service fees charged

    def summary(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "currency": self.currency,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "opening_minor": self.opening_minor,
            "closing_minor": self.closing_minor,
            "totals": self.totals,
            "fees": self.fees,
            "lines": [
                {name: getattr(line, name) for name in StatementLine.__slots__}
                for line in self.lines
            ],
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "at",
                "entry",
                "kind",
                "category",
                "booking",
                "amount_minor",
                "balance_minor",
                "currency",
            ]
        )
        for line in self.lines:
            writer.writerow([
                line.at.isoformat(), line.entry_id, line.kind, line.category,
                line.booking_id or "", line.amount_minor, line.balance_minor, self.currency,
            ])  # fmt: skip
        return out.getvalue()


def statement(
    session: Session, *, principal: Principal, participant_id: int, currency: str,
    start: datetime, end: datetime,
) -> Statement:  # fmt: skip
    if participant_id != principal.participant_id and not principal.reads_everything:
        raise NotFoundError(f"participant {participant_id} not found", code="unknown_participant")
    if not start < end:
        raise InvalidInputError("the period's start must be before its end", code="invalid_period")
    accounts = list(
        session.scalars(
            select(Account.id).where(
                Account.participant_id == participant_id,
                Account.currency == currency,
                Account.kind == AccountKind.WALLET.value,
            )
        )
    )
    opening = _sum_before(session, accounts, start)
    result = Statement(participant_id, currency, start, end, opening, opening)
    query = (
        select(
            JournalEntry.created_at,
            JournalEntry.id,
            JournalEntry.kind,
            JournalEntry.booking_id,
            JournalLine.amount_minor,
            Booking.demander_id,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .outerjoin(Booking, Booking.id == JournalEntry.booking_id)
        .where(JournalLine.account_id.in_(accounts))
        .where(JournalEntry.created_at >= start, JournalEntry.created_at < end)
        .order_by(JournalEntry.id, JournalLine.id)
    )
    balance = opening
    for at, entry_id, kind, booking_id, amount, demander_id in session.execute(query):
        category = _category(kind, demander_id == participant_id)
        balance += amount
        result.lines.append(
            StatementLine(at, entry_id, kind, category, booking_id, amount, balance)
        )
        result.totals[category] = result.totals.get(category, 0) + amount
    result.closing_minor = balance
    result.fees = _fees(session, participant_id, currency, start, end)
    return result


def _category(kind: str, as_demander: bool) -> str:
    if kind in SETTLING:
        return "refund" if as_demander else "earnings"
    return CATEGORY.get(kind, kind)


def _sum_before(session: Session, accounts: list[int], before: datetime) -> int:
    query = (
        select(func.coalesce(func.sum(JournalLine.amount_minor), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id.in_(accounts), JournalEntry.created_at < before)
    )
    return int(session.scalar(query) or 0)


def _fees(
    session: Session, participant_id: int, currency: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Commission withheld from the provider's earnings, service fees paid as demander."""
    in_period = (
        Settlement.created_at >= start,
        Settlement.created_at < end,
        Settlement.currency == currency,
    )
    commission = session.scalar(
        select(func.coalesce(func.sum(Settlement.commission_minor), 0))
        .join(Booking, Booking.id == Settlement.booking_id)
        .join(Resource, Resource.id == Booking.resource_id)
        .where(Resource.provider_id == participant_id, *in_period)
    )
    service = session.scalar(
        select(func.coalesce(func.sum(Settlement.service_fee_minor), 0))
        .join(Booking, Booking.id == Settlement.booking_id)
        .where(Booking.demander_id == participant_id, *in_period)
    )
    return {"commission": int(commission or 0), "service_fee": int(service or 0)}
