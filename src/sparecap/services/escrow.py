"""Escrow: a booking's money follows the booking.

Paid money waits in the booking's escrow account. Confirmation captures an authorised card
payment into it; cancellation, decline, expiry and no-show refund it by the booking's own
policy; completion starts the dispute window, and when that passes without an open dispute the
escrow is released: the provider's net to its wallet, commission and fees to the platform,
tax to the tax account, and anything not earned back to the payer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload

from sparecap.db.bulk import insert_many
from sparecap.db.models import Booking
from sparecap.db.money import BookingTerms, Dispute, Payment, Settlement
from sparecap.domain.bookings import Actor, Status
from sparecap.domain.journal import (
    PLATFORM_REVENUE,
    TAXES,
    AccountRef,
    Line,
    clearing,
    deposit,
    escrow,
    spread,
    wallet,
)
from sparecap.domain.money import Money
from sparecap.domain.policies import cancellation_fee, no_show_fee
from sparecap.domain.quotes import Shares
from sparecap.gateways.payments import Outcome
from sparecap.services.context import ServiceContext
from sparecap.services.errors import ConflictError
from sparecap.services.journal import Draft, post_entries, post_entry
from sparecap.services.terms import policy_of

# What closing an unfulfilled booking is called in the journal and in its settlement row.
CLOSING_KIND: dict[Status, str] = {
    Status.CANCELLED: "cancellation",
    Status.NO_SHOW: "no_show",
    Status.DECLINED: "refund",
    Status.EXPIRED: "refund",
}


def payer_account(payment: Payment) -> AccountRef:
    """Where money paid by `payment` came from, and where its refunds go back to."""
    if payment.provider == "wallet":
        return wallet(payment.participant_id)
    return clearing(payment.provider)


def fund_escrow(
    session: Session, *, ctx: ServiceContext, terms: BookingTerms, payment: Payment
) -> None:
    """Move a captured payment into the booking's escrow (and its deposit beside it)."""
    currency = terms.currency
    price = payment.amount_minor - terms.deposit_minor
    parts = [(escrow(terms.booking_id), Money(price, currency))]
    if terms.deposit_minor:
        parts.append((deposit(terms.booking_id), Money(terms.deposit_minor, currency)))
    draft = Draft(
        "escrow.fund", spread(payer_account(payment), parts), terms.booking_id, payment.id
    )
    post_entry(session, draft=draft, at=ctx.clock.now(), salt=ctx.ledger_salt)
    payment.status = "captured"
    payment.updated_at = ctx.clock.now()
    terms.money_status = "escrowed"


def capture(
    session: Session, *, ctx: ServiceContext, terms: BookingTerms, payment: Payment
) -> None:
    """Capture an authorised card payment; the provider may confirm later by callback."""
    assert payment.provider_ref is not None
    provider = ctx.payments[payment.provider]
    amount = Money(payment.amount_minor, payment.currency)
    result = provider.capture(provider_ref=payment.provider_ref, amount=amount)
    if result.outcome is Outcome.APPROVED:
        fund_escrow(session, ctx=ctx, terms=terms, payment=payment)
    else:
        payment.status = "capturing"
        payment.updated_at = ctx.clock.now()


def on_transition(
    session: Session, *, ctx: ServiceContext, booking: Booking, target: Status, actor: Actor
) -> None:
    """What a booking's state change does to its money. Called inside the transition's
    transaction, so the booking and its money never disagree."""
    terms = session.get(BookingTerms, booking.id, with_for_update=True)
    if terms is None:
        return  # made before money flow existed
    payment = terms.payment
    now = ctx.clock.now()
    if target is Status.CONFIRMED and terms.money_status == "authorized" and payment:
        capture(session, ctx=ctx, terms=terms, payment=payment)
    elif target is Status.COMPLETED:
        terms.completed_at = now
        terms.release_due_at = now + timedelta(days=policy_of(terms).dispute_days)
    elif target in CLOSING_KIND:
        close_unfulfilled(session, ctx=ctx, booking=booking, terms=terms, actor=actor)


def close_unfulfilled(
    session: Session, *, ctx: ServiceContext, booking: Booking, terms: BookingTerms, actor: Actor
) -> None:
    """Void an authorisation, or refund the escrow minus the fee the booking's policy keeps."""
    payment = terms.payment
    if terms.money_status == "authorized" and payment is not None:
        assert payment.provider_ref is not None
        ctx.payments[payment.provider].void(provider_ref=payment.provider_ref)
        payment.status = "voided"
        terms.money_status = "voided"
    elif terms.money_status == "escrowed":
        fee = _closing_fee(terms, booking, actor, ctx.clock.now())
        kept = quoted_shares(terms).part(fee)
        release = Release(terms, booking.resource.provider_id, kept, Money(0, terms.currency))
        settle_many(session, ctx=ctx, releases=[release], kind=CLOSING_KIND[Status(booking.status)])
        terms.money_status = "refunded"
    elif terms.money_status == "unpaid":
        terms.money_status = "voided"


def _closing_fee(terms: BookingTerms, booking: Booking, actor: Actor, now: datetime) -> Money:
    policy = policy_of(terms)
    held = held_price(terms)
    if booking.status == Status.CANCELLED:
        return cancellation_fee(policy, paid=held, start=booking.start_at, now=now, actor=actor)
    if booking.status == Status.NO_SHOW:
        return no_show_fee(policy, paid=held)
    return Money(0, held.currency)


def held_price(terms: BookingTerms) -> Money:
    """What the escrow holds of the price: the payment less the deposit beside it."""
    assert terms.payment is not None
    return Money(terms.payment.amount_minor - terms.deposit_minor, terms.currency)


def quoted_shares(terms: BookingTerms) -> Shares:
    q, currency = terms.quote, terms.currency
    return Shares(
        provider=Money(q["provider_net_minor"], currency),
        commission=Money(q["provider_commission_minor"], currency),
        service_fee=Money(q["demander_fee_minor"], currency),
        tax=Money(q["tax_minor"], currency),
    )


@dataclass(frozen=True, slots=True)
class Release:
    """How one booking's escrow is divided."""

    terms: BookingTerms
    provider_id: int
    kept: Shares  # of the price: what is earned
    deposit_claim: Money  # of the deposit: what goes to the provider

    @property
    def payment(self) -> Payment:
        assert self.terms.payment is not None
        return self.terms.payment

    @property
    def refund(self) -> Money:
        held = held_price(self.terms)
        return (
            held
            - self.kept.total
            + Money(self.terms.deposit_minor, held.currency)
            - self.deposit_claim
        )


def settle_many(
    session: Session, *, ctx: ServiceContext, releases: list[Release], kind: str
) -> None:
    """Post one entry per booking, refund card payers at their provider, and record each
    settlement; in the caller's transaction."""
    now = ctx.clock.now()
    refunds = [release.refund for release in releases]
    for release, refund in zip(releases, refunds, strict=True):
        _refund_at_provider(ctx, release, refund)
        if refund.minor:
            release.payment.refunded_minor += refund.minor
    drafts = [
        _release_draft(release, refund, kind)
        for release, refund in zip(releases, refunds, strict=True)
    ]
    entry_ids = post_entries(session, drafts=drafts, at=now, salt=ctx.ledger_salt)
    # Settlement rows are written once and never change: written in bulk (COPY on PostgreSQL),
    # not as an ORM object each (a batch of 5,000 spent a second in the unit of work).
    insert_many(
        session,
        Settlement,
        [
            {
                "booking_id": release.terms.booking_id,
                "entry_id": entry_id,
                "kind": kind,
                "currency": release.terms.currency,
                "provider_minor": release.kept.provider.minor + release.deposit_claim.minor,
                "commission_minor": release.kept.commission.minor,
                "service_fee_minor": release.kept.service_fee.minor,
                "tax_minor": release.kept.tax.minor,
                "refund_minor": refund.minor,
                "created_at": now,
            }
            for release, refund, entry_id in zip(releases, refunds, entry_ids, strict=True)
        ],
    )


def _release_draft(release: Release, refund: Money, kind: str) -> Draft:
    terms, kept = release.terms, release.kept
    booking_id, currency = terms.booking_id, terms.currency
    held = held_price(terms)
    lines: list[Line] = [Line(escrow(booking_id), Money(-held.minor, currency))]
    if terms.deposit_minor:
        lines.append(Line(deposit(booking_id), Money(-terms.deposit_minor, currency)))
    parts = [
        (wallet(release.provider_id), kept.provider + release.deposit_claim),
        (PLATFORM_REVENUE, kept.platform),
        (TAXES, kept.tax),
        (payer_account(release.payment), refund),
    ]
    lines += [Line(account, amount) for account, amount in parts if amount.minor]
    return Draft(kind, lines, booking_id, release.payment.id)


def _refund_at_provider(ctx: ServiceContext, release: Release, amount: Money) -> None:
    payment = release.payment
    if amount.minor <= 0 or payment.provider == "wallet":
        return
    assert payment.provider_ref is not None
    result = ctx.payments[payment.provider].refund(
        provider_ref=payment.provider_ref,
        amount=amount,
        reference=f"refund:{release.terms.booking_id}",
    )
    if result.outcome is Outcome.DECLINED:
        raise ConflictError(
            f"the provider refused the refund: {result.message}", code="refund_declined"
        )


def due_for_release(session: Session, *, now: datetime, limit: int) -> list[BookingTerms]:
    """Escrowed bookings whose dispute window has passed with no dispute open."""
    open_disputes = select(Dispute.booking_id).where(Dispute.status == "open")
    query = (
        select(BookingTerms)
        .where(
            BookingTerms.money_status == "escrowed",
            BookingTerms.release_due_at <= now,
            BookingTerms.booking_id.not_in(open_disputes),
        )
        .order_by(BookingTerms.release_due_at, BookingTerms.booking_id)
        .limit(limit)
        # Payments in one query, not one per booking; the terms snapshot only where metered
        # usage reprices a booking (it is the larger part of the row).
        .options(selectinload(BookingTerms.payment), defer(BookingTerms.terms))
    )
    return list(session.scalars(query))
