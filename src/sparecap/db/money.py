"""Tables of the money flow: accounts, journal entries and lines, payments, booking terms,
settlements, disputes and metered usage.

Journal rows are written once and never updated; balances are sums of lines. The other tables
record the state of processes (a payment, an escrow) that the journal's entries follow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sparecap.db.models import Base


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("code", "currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80))  # "wallet:12", "escrow:7", "taxes"
    kind: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)


class JournalEntry(Base):
    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    memo: Mapped[str] = mapped_column(String(300), default="")
    ledger_seq: Mapped[int] = mapped_column(BigInteger, unique=True)  # its ledger entry
    created_at: Mapped[datetime] = mapped_column(index=True)


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="journal_line_not_zero"),
        # Balances and statements read an account's lines, with the amount, from the index alone.
        Index("ix_journal_lines_account", "account_id", "amount_minor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class Payment(Base):
    """One payment through a provider (or from a wallet): a booking's price, a top-up, a payout."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref"),
        CheckConstraint("amount_minor > 0", name="payment_amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # booking | topup | payout
    provider: Mapped[str] = mapped_column(String(32))  # "wallet" or a payment provider
    provider_ref: Mapped[str | None] = mapped_column(String(80))
    instrument: Mapped[str] = mapped_column(String(80), default="")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    failure: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PaymentEvent(Base):
    """A provider's callback, stored once: a duplicate delivery finds its row and does nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(80))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    type: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))  # applied | ignored_stale | unknown_payment
    received_at: Mapped[datetime]


class ResourceTerms(Base):
    """A resource's current tariff and policy; bookings copy them (BookingTerms)."""

    __tablename__ = "resource_terms"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), primary_key=True)
    tariff: Mapped[dict[str, Any] | None]
    policy: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class BookingTerms(Base):
    """The deal as struck: terms and quote copied at booking time, and where its money is."""

    __tablename__ = "booking_terms"
    __table_args__ = (Index("ix_booking_terms_release", "money_status", "release_due_at"),)

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    terms: Mapped[dict[str, Any]]  # tariff, policy, fees and tax as they were
    quote: Mapped[dict[str, Any]]
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    deposit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # unpaid | authorized | escrowed | released | refunded | voided
    money_status: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    payment: Mapped[Payment | None] = relationship()
    completed_at: Mapped[datetime | None]
    release_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Settlement(Base):
    """How a booking's escrow was finally divided. One per booking; corrections are credit
    notes (reversing journal entries), never edits of this row."""

    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    kind: Mapped[str] = mapped_column(String(16))  # release | cancellation | no_show
    currency: Mapped[str] = mapped_column(String(3))
    provider_minor: Mapped[int] = mapped_column(BigInteger)
    commission_minor: Mapped[int] = mapped_column(BigInteger)
    service_fee_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    refund_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Dispute(Base):
    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    opened_by: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # open | resolved
    refund_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # of the price, to the payer
    deposit_claim_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # to the provider
    resolution: Mapped[str] = mapped_column(String(500), default="")
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class UsageRecord(Base):
    """A metered reading (kWh, minutes, pieces, swaps) from a provider or a device."""

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("booking_id", "external_id"),
        CheckConstraint("quantity >= 0", name="usage_quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    dimension: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(BigInteger)  # base units: s, Wh, pieces, swaps
    source: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime]
