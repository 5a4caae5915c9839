"""Settlement: releasing escrow once the dispute window has passed, disputes that pause it,
and metered usage that sets the final price."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sparecap.db.bulk import one_of, update_rows
from sparecap.db.models import Booking, Resource
from sparecap.db.money import BookingTerms, Dispute, UsageRecord
from sparecap.domain.availability import Interval
from sparecap.domain.bookings import Status
from sparecap.domain.ledger.entries import pseudonym
from sparecap.domain.money import MAX_MINOR, Money
from sparecap.domain.quotes import Shares
from sparecap.domain.tariffs import Dimension
from sparecap.services.context import ServiceContext
from sparecap.services.errors import ConflictError, InvalidInputError, NotFoundError
from sparecap.services.escrow import (
    Release,
    due_for_release,
    held_price,
    quoted_shares,
    settle_many,
)
from sparecap.services.gc_pause import gc_paused
from sparecap.services.ledger import append_entry
from sparecap.services.principals import Principal, Role
from sparecap.services.terms import UsageIn, price_booking

# Batches are written in one transaction each; this many keeps one transaction's memory small.
SETTLE_BATCH = 5_000


@gc_paused()
def settle_due(session: Session, *, ctx: ServiceContext, limit: int = SETTLE_BATCH) -> int:
    """Release up to `limit` escrows that are due; returns how many were settled."""
    due = due_for_release(session, now=ctx.clock.now(), limit=limit)
    if not due:
        return 0
    ids = [terms.booking_id for terms in due]
    providers: dict[int, int] = dict(
        session.execute(
            select(Booking.id, Resource.provider_id)
            .join(Resource, Resource.id == Booking.resource_id)
            .where(one_of(session, Booking.id, ids))
        ).all()
    )
    usage = _usage_of(session, ids)
    # Whole bookings only where metered usage reprices them: most settle on their quote.
    metered = {
        b.id: b
        for b in session.scalars(select(Booking).where(one_of(session, Booking.id, list(usage))))
    } if usage else {}  # fmt: skip
    disputes = _resolved_disputes(session, ids)
    releases = []
    for terms in due:
        booking_id = terms.booking_id
        earned = _final_shares(metered.get(booking_id), terms, usage.get(booking_id))
        refund, claim = disputes.get(booking_id, (0, 0))
        if refund:
            earned = earned.part(Money(max(earned.total.minor - refund, 0), terms.currency))
        claim_money = Money(min(claim, terms.deposit_minor), terms.currency)
        releases.append(Release(terms, providers[booking_id], earned, claim_money))
    settle_many(session, ctx=ctx, releases=releases, kind="release")
    update_rows(session, due, {"money_status": "released"}, key="booking_id")
    return len(releases)


def _final_shares(
    booking: Booking | None, terms: BookingTerms, usage: dict[str, int] | None
) -> Shares:
    """What the booking earned: its quote, or its price on measured usage; never more than
    the escrow holds (the amount paid up front is the most a demander can be charged)."""
    held = held_price(terms)
    if usage:
        assert booking is not None
        seconds = usage.get(Dimension.TIME.value)
        metered = UsageIn(
            energy_wh=usage.get(Dimension.ENERGY.value, 0),
            pieces=usage.get(Dimension.PIECES.value, 0),
            swaps=usage.get(Dimension.SWAPS.value, 0),
        )
        window = Interval(booking.start_at, booking.end_at)
        offer = price_booking(
            booking.resource, terms.terms, window, booking.quantity, usage=metered, seconds=seconds
        )
        shares = offer.shares
    else:
        shares = quoted_shares(terms)
    return shares if shares.total.minor <= held.minor else shares.part(held)


def _usage_of(session: Session, booking_ids: list[int]) -> dict[int, dict[str, int]]:
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    query = select(UsageRecord.booking_id, UsageRecord.dimension, UsageRecord.quantity).where(
        one_of(session, UsageRecord.booking_id, booking_ids)
    )
    for booking_id, dimension, quantity in session.execute(query):
        totals[booking_id][dimension] += quantity
    return totals


def _resolved_disputes(session: Session, booking_ids: list[int]) -> dict[int, tuple[int, int]]:
    query = select(Dispute).where(
        one_of(session, Dispute.booking_id, booking_ids), Dispute.status == "resolved"
    )
    found: dict[int, tuple[int, int]] = {}
    for dispute in session.scalars(query):
        refund, claim = found.get(dispute.booking_id, (0, 0))
        found[dispute.booking_id] = (
            refund + dispute.refund_minor,
            claim + dispute.deposit_claim_minor,
        )
    return found


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: Dimension
    quantity: int = Field(ge=0, le=10**12, description="seconds, Wh, pieces or swaps")
    external_id: str = Field(min_length=1, max_length=80, description="the reading's own id")
    source: str = Field(default="provider", max_length=80)


def record_usage(
    session: Session, *, ctx: ServiceContext, principal: Principal, booking_id: int, body: ReadingIn
) -> UsageRecord:
    """A metered reading for a booking in use or completed and not yet settled. The same
    reading sent twice is stored once; a different reading under the same id is refused."""
    booking, terms = _booking_with_terms(session, principal, booking_id, provider_side=True)
    if Status(booking.status) not in {
        Status.IN_USE,
        Status.COMPLETED,
    } or terms.money_status not in {
        "escrowed",
        "authorized",
        "unpaid",
    }:
        raise ConflictError(
            "usage is recorded while in use, before settlement", code="not_metering"
        )
    existing = session.scalar(
        select(UsageRecord).where(
            UsageRecord.booking_id == booking_id, UsageRecord.external_id == body.external_id
        )
    )
    if existing is not None:
        if (existing.dimension, existing.quantity) != (body.dimension.value, body.quantity):
            raise ConflictError("another reading has this id", code="usage_id_reused")
        return existing
    now = ctx.clock.now()
    record = UsageRecord(
        booking_id=booking_id, dimension=body.dimension.value, quantity=body.quantity,
        source=body.source, external_id=body.external_id, recorded_at=now,
    )  # fmt: skip
    session.add(record)
    append_entry(
        session, kind="usage.recorded", subject=f"booking:{booking_id}", at=now,
        data={"booking": booking_id, "dimension": body.dimension.value, "quantity": body.quantity},
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            "this reading is being recorded already", code="usage_id_reused"
        ) from exc
    return record


def _booking_with_terms(
    session: Session, principal: Principal, booking_id: int, *, provider_side: bool
) -> tuple[Booking, BookingTerms]:
    booking = session.get(Booking, booking_id)
    terms = session.get(BookingTerms, booking_id, with_for_update=True)
    if booking is None or terms is None:
        raise NotFoundError(f"booking {booking_id} not found", code="unknown_booking")
    parties = (
        {booking.resource.provider_id}
        if provider_side
        else {
            booking.resource.provider_id,
            booking.demander_id,
        }
    )
    if principal.participant_id not in parties and not principal.is_operator:
        raise NotFoundError(f"booking {booking_id} not found", code="unknown_booking")
    return booking, terms


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_minor: int = Field(
        default=0, ge=0, le=MAX_MINOR, description="of the price, to the payer"
    )
    deposit_claim_minor: int = Field(default=0, ge=0, le=MAX_MINOR, description="to the provider")
    resolution: str = Field(min_length=1, max_length=500)


def open_dispute(
    session: Session, *, ctx: ServiceContext, principal: Principal, booking_id: int, body: DisputeIn
) -> Dispute:
    """Either party disputes a completed booking within its window; release waits for it."""
    _, terms = _booking_with_terms(session, principal, booking_id, provider_side=False)
    now = ctx.clock.now()
    if (
        terms.money_status != "escrowed"
        or terms.release_due_at is None
        or now >= terms.release_due_at
    ):
        raise ConflictError(
            "only a completed booking inside its dispute window", code="not_disputable"
        )
    if session.scalar(
        select(Dispute.id).where(Dispute.booking_id == booking_id, Dispute.status == "open")
    ):
        raise ConflictError("a dispute is open already", code="dispute_open")
    dispute = Dispute(
        booking_id=booking_id, opened_by=principal.participant_id, reason=body.reason,
        status="open", refund_minor=0, deposit_claim_minor=0, resolution="", opened_at=now,
    )  # fmt: skip
    session.add(dispute)
    session.flush()
    _log_dispute(session, ctx, dispute, "dispute.opened")
    return dispute


def resolve_dispute(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    dispute_id: int,
    body: ResolutionIn,
) -> Dispute:
    """An operator decides: a refund of part of the price, a claim on the deposit, or neither.
    The escrow is released by the next settlement run."""
    principal.require(Role.OPERATOR)
    dispute = session.get(Dispute, dispute_id, with_for_update=True)
    if dispute is None:
        raise NotFoundError(f"dispute {dispute_id} not found", code="unknown_dispute")
    if dispute.status != "open":
        raise ConflictError("this dispute is resolved already", code="dispute_resolved")
    terms = session.get(BookingTerms, dispute.booking_id, with_for_update=True)
    assert terms is not None
    if (
        body.refund_minor > held_price(terms).minor
        or body.deposit_claim_minor > terms.deposit_minor
    ):
        raise InvalidInputError("refund or claim exceeds what is held", code="invalid_amount")
    now = ctx.clock.now()
    dispute.status, dispute.resolution, dispute.resolved_at = "resolved", body.resolution, now
    dispute.refund_minor, dispute.deposit_claim_minor = body.refund_minor, body.deposit_claim_minor
    terms.release_due_at = now
    _log_dispute(session, ctx, dispute, "dispute.resolved")
    return dispute


def _log_dispute(session: Session, ctx: ServiceContext, dispute: Dispute, kind: str) -> None:
    append_entry(
        session, kind=kind, subject=f"booking:{dispute.booking_id}", at=ctx.clock.now(),
        data={
            "dispute": dispute.id, "booking": dispute.booking_id,
            "opened_by": pseudonym(ctx.ledger_salt, "participant", dispute.opened_by),
            "refund_minor": dispute.refund_minor,
            "deposit_claim_minor": dispute.deposit_claim_minor,
        },
    )  # fmt: skip
