"""The demo's money: one charging session paid from a wallet, released and paid out, and one
parking booking paid by card and cancelled late, refunded by its own policy."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sparecap.db.models import Booking
from sparecap.domain.bookings import Event
from sparecap.domain.names import PAYMENT_STATUSES, Text, in_every_language
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


# What the demo tells of each step, in both languages (amounts in yuan, two decimals).
STORY: dict[str, Text] = {
    "top_up": {
        "en": "driver tops up wallet: {amount} CNY ({status})",
        "zh-CN": "司机为钱包充值：{amount} 元（{status}）",
    },
    "paid": {
        "en": "charging booking {booking} paid from the wallet into escrow: {amount} CNY",
        "zh-CN": "充电预订 {booking} 由钱包付款，资金进入托管：{amount} 元",
    },
    "released": {
        "en": "escrow released to the provider: {count} booking(s)",
        "zh-CN": "托管资金已释放给供应方：{count} 笔预订",
    },
    "payout": {
        "en": "provider paid out {amount} CNY ({status})",
        "zh-CN": "供应方提现 {amount} 元（{status}）",
    },
    "refunded": {
        "en": "parking booking {booking} paid by card ({amount} CNY), cancelled: refunded "
        "{refunded} CNY by its policy",
        "zh-CN": "停车预订 {booking} 以银行卡付款（{amount} 元）后取消：按其退订规则退款 "
        "{refunded} 元",
    },
}


def _yuan(minor: int) -> str:
    return f"{minor / 100:.2f}"


def _status(code: str) -> Text:
    """A payment status: its code in English (as the API shows it), its name in zh-CN."""
    return {"en": code, "zh-CN": PAYMENT_STATUSES[code]["zh-CN"]}


def set_demo_terms(session: Session, *, ctx: ServiceContext, charger_id: int) -> None:
    """The chargers' own tariff, and no dispute window so the demo can release at once."""
    owner = _principal(session, get_resource(session, resource_id=charger_id).provider_id)
    terms = TermsIn(tariff=TariffIn.model_validate(CHARGER_TARIFF), policy=PolicyIn(dispute_days=0))
    set_terms(session, ctx=ctx, principal=owner, resource_id=charger_id, terms=terms)


def seed_money(
    session: Session, *, ctx: ServiceContext, booking_ids: list[int]
) -> list[dict[str, str]]:
    """Walk two demo bookings through the money flow; returns what happened, line by line, in
    every language."""
    parking, charging = (session.get(Booking, booking_ids[i]) for i in (3, 4))
    assert parking is not None and charging is not None
    provider_of = {b.id: _principal(session, b.resource.provider_id) for b in (parking, charging)}
    driver = _principal(session, charging.demander_id)
    story = []
    top = top_up(
        session, ctx=ctx, principal=driver, body=AmountIn(amount_minor=50_000, currency="CNY")
    )
    story.append(in_every_language(STORY["top_up"], amount=_yuan(top.amount_minor),
                                   status=_status(top.status)))  # fmt: skip
    paid = pay_booking(session, ctx=ctx, principal=driver, booking_id=charging.id, body=PayIn())
    story.append(
        in_every_language(STORY["paid"], booking=charging.id, amount=_yuan(paid.amount_minor))
    )
    for event in (Event.START, Event.COMPLETE):
        transition_booking(
            session,
            ctx=ctx,
            principal=provider_of[charging.id],
            booking_id=charging.id,
            event=event,
        )
    story.append(in_every_language(STORY["released"], count=settle_due(session, ctx=ctx)))
    out = request_payout(
        session,
        ctx=ctx,
        principal=provider_of[charging.id],
        body=AmountIn(amount_minor=paid.amount_minor, currency="CNY", instrument="bank:demo"),
    )
    story.append(in_every_language(STORY["payout"], amount=_yuan(out.amount_minor),
                                   status=_status(out.status)))  # fmt: skip
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
    story.append(in_every_language(STORY["refunded"], booking=parking.id,
                                   amount=_yuan(card.amount_minor),
                                   refunded=_yuan(card.refunded_minor)))  # fmt: skip
    return story


def _principal(session: Session, participant_id: int) -> Principal:
    return principal_of(get_participant(session, participant_id=participant_id))
