"""The demo's money: one charging session paid from a wallet, released and paid out, and one
parking booking paid by card and cancelled late, refunded by its own policy."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sparecap.db.models import Booking
from sparecap.domain.bookings import Event
from sparecap.services.bookings import transition_booking
from sparecap.services.context import ServiceContext
from sparecap.services.participants import get_participant, principal_of
from sparecap.services.payments import AmountIn, PayIn, pay_booking, request_payout, top_up
from sparecap.services.principals import Principal
from sparecap.services.resources import get_resource
from sparecap.services.settlement import settle_due
from sparecap.services.terms import PolicyIn, TariffIn, TermsIn, set_terms

# Shenzhen's public DC chargers price by time of day; a night rate and a day rate stand for
# that here (illustrative, not a published tariff).
CHARGER_TARIFF = {
    "elements": [
        {
            "components": [{"dimension": "time", "price_minor": 3000}],
            "restrictions": {"start_time": "23:00", "end_time": "07:00"},
        },
        {"components": [{"dimension": "time", "price_minor": 4500, "step": 300}]},
    ],
    "min_price_minor": 500,
}


def set_demo_terms(session: Session, *, ctx: ServiceContext, charger_id: int) -> None:
    """The chargers' own tariff, and no dispute window so the demo can release at once."""
    owner = _principal(session, get_resource(session, resource_id=charger_id).provider_id)
    terms = TermsIn(tariff=TariffIn.model_validate(CHARGER_TARIFF), policy=PolicyIn(dispute_days=0))
    set_terms(session, ctx=ctx, principal=owner, resource_id=charger_id, terms=terms)


def seed_money(session: Session, *, ctx: ServiceContext, booking_ids: list[int]) -> list[str]:
    """Walk two demo bookings through the money flow; returns what happened, line by line."""
    parking, charging = (session.get(Booking, booking_ids[i]) for i in (3, 4))
    assert parking is not None and charging is not None
    provider_of = {b.id: _principal(session, b.resource.provider_id) for b in (parking, charging)}
    driver = _principal(session, charging.demander_id)
    story = []
    top = top_up(
        session, ctx=ctx, principal=driver, body=AmountIn(amount_minor=50_000, currency="CNY")
    )
    story.append(f"driver tops up wallet: {top.amount_minor / 100:.2f} CNY ({top.status})")
    paid = pay_booking(session, ctx=ctx, principal=driver, booking_id=charging.id, body=PayIn())
    story.append(
        f"charging booking {charging.id} paid from the wallet into escrow:"
        f" {paid.amount_minor / 100:.2f} CNY"
    )
    for event in (Event.START, Event.COMPLETE):
        transition_booking(
            session,
            ctx=ctx,
            principal=provider_of[charging.id],
            booking_id=charging.id,
            event=event,
        )
    story.append(f"escrow released to the provider: {settle_due(session, ctx=ctx)} booking(s)")
    out = request_payout(
        session,
        ctx=ctx,
        principal=provider_of[charging.id],
        body=AmountIn(amount_minor=paid.amount_minor, currency="CNY", instrument="bank:demo"),
    )
    story.append(f"provider paid out {out.amount_minor / 100:.2f} CNY ({out.status})")
    card = pay_booking(
        session,
        ctx=ctx,
        principal=driver,
        booking_id=parking.id,
        body=PayIn(method="sandbox", instrument="sandbox:ok"),
    )
    transition_booking(
        session, ctx=ctx, principal=driver, booking_id=parking.id, event=Event.CANCEL
    )
    story.append(
        f"parking booking {parking.id} paid by card ({card.amount_minor / 100:.2f} CNY),"
        f" cancelled: refunded {card.refunded_minor / 100:.2f} CNY by its policy"
    )
    return story


def _principal(session: Session, participant_id: int) -> Principal:
    return principal_of(get_participant(session, participant_id=participant_id))
