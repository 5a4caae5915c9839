"""Payments: paying for a booking, topping up a wallet, paying out, and provider callbacks.

A provider call sits inside the use case's transaction: the provider is asked with a reference
derived from our payment id, so if the process dies after the provider said yes but before the
commit, the retry asks again under the same reference and the provider answers the same
(idempotent at the provider), and the journal is written once, with the commit.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sparecap.db.models import Booking
from sparecap.db.money import BookingTerms, Payment, PaymentEvent
from sparecap.domain.bookings import BLOCKING, Actor, Status
from sparecap.domain.journal import (
    AccountRef,
    check_amount,
    clearing,
    payout_pending,
    transfer,
    wallet,
)
from sparecap.domain.money import MAX_MINOR, Money, MoneyError
from sparecap.gateways.payments import (
    EventType,
    Outcome,
    PaymentProvider,
    ProviderResult,
    ProviderTimeoutError,
    WebhookSignatureError,
)
from sparecap.services.context import ServiceContext
from sparecap.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
)
from sparecap.services.escrow import capture, close_unfulfilled, fund_escrow
from sparecap.services.journal import Draft, post_entry
from sparecap.services.principals import Principal, Role


class PayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(default="wallet", description="'wallet' or a payment provider's name")
    instrument: str = Field(default="", max_length=80, description="card token; sandbox:*")


class AmountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_minor: int = Field(description="positive, in minor units", le=MAX_MINOR)
    currency: str = Field(min_length=3, max_length=3)
    provider: str = Field(default="sandbox")
    instrument: str = Field(default="", max_length=80, description="card token or bank account")


def _money(body: AmountIn) -> Money:
    try:
        return check_amount(Money(body.amount_minor, body.currency))
    except MoneyError as exc:
        raise InvalidInputError(str(exc), code="invalid_amount") from exc


def _provider(ctx: ServiceContext, name: str) -> PaymentProvider:
    provider = ctx.payments.get(name)
    if provider is None:
        known = ", ".join(sorted(ctx.payments))
        raise InvalidInputError(
            f"unknown payment provider {name!r}; known: {known}", code="unknown_provider"
        )
    return provider


def _new_payment(
    session: Session, ctx: ServiceContext, *, participant_id: int, purpose: str, provider: str,
    amount: Money, instrument: str, booking_id: int | None = None,
) -> Payment:  # fmt: skip
    now = ctx.clock.now()
    payment = Payment(
        participant_id=participant_id, booking_id=booking_id, purpose=purpose, provider=provider,
        instrument=instrument, amount_minor=amount.minor, currency=amount.currency,
        status="pending", refunded_minor=0, failure="", created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(payment)
    session.flush()
    return payment


def _ask(payment: Payment, call: ProviderResult | None) -> Outcome:
    """Record a provider's answer on the payment; None stands for a timeout."""
    if call is None:
        payment.failure = "provider timed out; waiting for its callback"
        return Outcome.PENDING
    payment.provider_ref = call.provider_ref
    if call.outcome is Outcome.DECLINED:
        payment.status, payment.failure = "declined", call.message
    return call.outcome


def _authorize(provider: PaymentProvider, payment: Payment) -> ProviderResult | None:
    amount = Money(payment.amount_minor, payment.currency)
    try:
        return provider.authorize(
            reference=f"payment:{payment.id}", amount=amount, instrument=payment.instrument
        )
    except ProviderTimeoutError:
        return None


def pay_booking(
    session: Session, *, ctx: ServiceContext, principal: Principal, booking_id: int, body: PayIn
) -> Payment:
    """Pay a booking's quoted total and deposit, from the wallet or through a provider.

    Wallet money moves into escrow at once. A card is authorised now and captured when the
    booking is confirmed (at once if it already is); the escrow fills on capture.
    """
    terms = _terms_for_payment(session, principal, booking_id)
    amount = Money(terms.total_minor + terms.deposit_minor, terms.currency)
    if amount.minor <= 0:
        raise ConflictError("this booking costs nothing", code="nothing_to_pay")
    booking = terms_booking(session, terms)
    provider_name = body.method
    if provider_name != "wallet":
        _provider(ctx, provider_name)
    payment = _new_payment(
        session, ctx, participant_id=booking.demander_id, purpose="booking",
        provider=provider_name, amount=amount, instrument=body.instrument, booking_id=booking_id,
    )  # fmt: skip
    terms.payment_id, terms.payment = payment.id, payment
    if provider_name == "wallet":
        fund_escrow(session, ctx=ctx, terms=terms, payment=payment)
        return payment
    outcome = _ask(payment, _authorize(_provider(ctx, provider_name), payment))
    if outcome is Outcome.APPROVED:
        _authorized(session, ctx, terms, payment)
    elif outcome is Outcome.DECLINED:
        terms.payment_id, terms.payment = None, None
    return payment


def _terms_for_payment(session: Session, principal: Principal, booking_id: int) -> BookingTerms:
    terms = session.get(BookingTerms, booking_id, with_for_update=True)
    booking = session.get(Booking, booking_id)
    if terms is None or booking is None:
        raise NotFoundError(f"booking {booking_id} not found", code="unknown_booking")
    if booking.demander_id != principal.participant_id and not principal.is_operator:
        raise NotFoundError(f"booking {booking_id} not found", code="unknown_booking")
    if Status(booking.status) not in BLOCKING:
        raise ConflictError(
            f"a booking that is {booking.status} takes no payment", code="not_payable"
        )
    if terms.payment_id is not None:
        raise ConflictError("this booking is paid or a payment is pending", code="already_paid")
    return terms


def terms_booking(session: Session, terms: BookingTerms) -> Booking:
    booking = session.get(Booking, terms.booking_id)
    assert booking is not None
    return booking


def _authorized(
    session: Session, ctx: ServiceContext, terms: BookingTerms, payment: Payment
) -> None:
    """An authorisation came through: capture at once if the booking is confirmed or in use,
    void it if the booking ended meanwhile, otherwise wait for confirmation."""
    payment.status = "authorized"
    terms.money_status = "authorized"
    status = Status(terms_booking(session, terms).status)
    if status in {Status.CONFIRMED, Status.IN_USE, Status.COMPLETED}:
        capture(session, ctx=ctx, terms=terms, payment=payment)
    elif status not in BLOCKING:
        booking = terms_booking(session, terms)
        close_unfulfilled(session, ctx=ctx, booking=booking, terms=terms, actor=Actor.SYSTEM)


def top_up(
    session: Session, *, ctx: ServiceContext, principal: Principal, body: AmountIn
) -> Payment:
    """Put money into the caller's wallet through a provider."""
    principal.require(Role.DEMANDER, Role.PROVIDER, Role.OPERATOR)
    amount = _money(body)
    provider = _provider(ctx, body.provider)
    payment = _new_payment(
        session, ctx, participant_id=principal.participant_id, purpose="topup",
        provider=body.provider, amount=amount, instrument=body.instrument,
    )  # fmt: skip
    if _ask(payment, _authorize(provider, payment)) is Outcome.APPROVED:
        _credit_top_up(session, ctx, payment)
    return payment


def _move_payment(
    session: Session, ctx: ServiceContext, payment: Payment, kind: str, *,
    source: AccountRef, target: AccountRef,
) -> None:  # fmt: skip
    """Post the whole of `payment` from `source` to `target` as one journal entry."""
    lines = transfer(source, target, Money(payment.amount_minor, payment.currency))
    draft = Draft(kind, lines, payment_id=payment.id)
    post_entry(session, draft=draft, at=ctx.clock.now(), salt=ctx.ledger_salt)


def _credit_top_up(session: Session, ctx: ServiceContext, payment: Payment) -> None:
    who = payment.participant_id
    _move_payment(
        session, ctx, payment, "topup", source=clearing(payment.provider), target=wallet(who)
    )
    payment.status = "captured"


def request_payout(
    session: Session, *, ctx: ServiceContext, principal: Principal, body: AmountIn
) -> Payment:
    """Send wallet money to the caller's bank account. The wallet is debited first (so it
    cannot be spent twice); a failed payout puts it back."""
    if principal.roles == {Role.AUDITOR}:
        raise ForbiddenError("auditors read only", code="read_only")
    amount = _money(body)
    provider = _provider(ctx, body.provider)
    payment = _new_payment(
        session, ctx, participant_id=principal.participant_id, purpose="payout",
        provider=body.provider, amount=amount, instrument=body.instrument,
    )  # fmt: skip
    who = principal.participant_id
    _move_payment(
        session, ctx, payment, "payout.request", source=wallet(who), target=payout_pending(who)
    )
    try:
        result: ProviderResult | None = provider.payout(
            reference=f"payment:{payment.id}", amount=amount, destination=body.instrument
        )
    except ProviderTimeoutError:
        result = None
    outcome = _ask(payment, result)
    if outcome is Outcome.APPROVED:
        _payout_paid(session, ctx, payment)
    elif outcome is Outcome.DECLINED:
        _payout_failed(session, ctx, payment)
    return payment


def _payout_paid(session: Session, ctx: ServiceContext, payment: Payment) -> None:
    pending, bank = payout_pending(payment.participant_id), clearing(payment.provider)
    _move_payment(session, ctx, payment, "payout.paid", source=pending, target=bank)
    payment.status = "paid"


def _payout_failed(session: Session, ctx: ServiceContext, payment: Payment) -> None:
    who = payment.participant_id
    _move_payment(
        session, ctx, payment, "payout.failed", source=payout_pending(who), target=wallet(who)
    )
    payment.status = "failed"


# A callback moves a payment forward only. One that arrives after a later one (a duplicate
# "authorized" after "captured") finds the payment past it and is recorded as stale.
_ACCEPTS: dict[EventType, frozenset[str]] = {
    EventType.AUTHORIZED: frozenset({"pending"}),
    EventType.DECLINED: frozenset({"pending"}),
    EventType.CAPTURED: frozenset({"pending", "authorized", "capturing"}),
    EventType.PAYOUT_PAID: frozenset({"pending"}),
    EventType.PAYOUT_FAILED: frozenset({"pending"}),
    EventType.REFUNDED: frozenset(),  # refunds are confirmed synchronously; kept for the record
}


def handle_callback(
    session: Session, *, ctx: ServiceContext, provider_name: str, body: bytes, signature: str
) -> PaymentEvent:
    """Apply a provider's signed callback once, whatever order callbacks arrive in."""
    provider = _provider(ctx, provider_name)
    try:
        event = provider.parse_webhook(body, signature)
    except WebhookSignatureError as exc:
        raise UnauthenticatedError(str(exc), code="bad_signature") from exc
    seen = session.scalar(
        select(PaymentEvent).where(
            PaymentEvent.provider == provider_name, PaymentEvent.event_id == event.event_id
        )
    )
    if seen is not None:
        return seen
    payment = _payment_by_reference(session, event.reference)
    outcome = "unknown_payment"
    if payment is not None:
        payment = session.get(Payment, payment.id, with_for_update=True)
        assert payment is not None
        outcome = _apply(session, ctx, payment, event.type, event.provider_ref)
    row = PaymentEvent(
        provider=provider_name, event_id=event.event_id, payment_id=payment.id if payment else None,
        type=event.type.value, outcome=outcome, received_at=ctx.clock.now(),
    )  # fmt: skip
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # the same callback, delivered twice at once
        raise ConflictError("callback already being processed", code="duplicate_callback") from exc
    return row


def _payment_by_reference(session: Session, reference: str) -> Payment | None:
    prefix, _, number = reference.partition(":")
    if prefix != "payment" or not number.isdigit():
        return None
    return session.get(Payment, int(number))


def _apply(
    session: Session, ctx: ServiceContext, payment: Payment, type_: EventType, ref: str
) -> str:
    if payment.status not in _ACCEPTS[type_]:
        return "ignored_stale"
    payment.provider_ref = payment.provider_ref or ref
    payment.updated_at = ctx.clock.now()
    terms = (
        session.get(BookingTerms, payment.booking_id, with_for_update=True)
        if payment.booking_id
        else None
    )
    match type_, payment.purpose:
        case EventType.DECLINED, _:
            payment.status = "declined"
            if terms is not None and terms.payment_id == payment.id:
                terms.payment_id, terms.payment = None, None
        case EventType.AUTHORIZED, "booking":
            assert terms is not None
            _authorized(session, ctx, terms, payment)
        case EventType.CAPTURED, "booking":
            assert terms is not None
            fund_escrow(session, ctx=ctx, terms=terms, payment=payment)
        case ((EventType.AUTHORIZED | EventType.CAPTURED), "topup"):
            _credit_top_up(session, ctx, payment)
        case EventType.PAYOUT_PAID, "payout":
            _payout_paid(session, ctx, payment)
        case EventType.PAYOUT_FAILED, "payout":
            _payout_failed(session, ctx, payment)
        case _:
            return "ignored_mismatch"
    return "applied"


def get_payment(session: Session, *, principal: Principal, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or not (
        principal.reads_everything or payment.participant_id == principal.participant_id
    ):
        raise NotFoundError(f"payment {payment_id} not found", code="unknown_payment")
    return payment
