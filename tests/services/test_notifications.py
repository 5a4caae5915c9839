"""The inbox: each side hears of what the other side, or the platform, did to its deal, and
never of its own acts; a refused change tells nobody."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import expire_demands_once, match_round_once
from sparecap.db.notifications import Notification
from sparecap.domain.bookings import Event
from sparecap.domain.demands import DemandEvent
from sparecap.domain.notices import render
from sparecap.services.bookings import run_due_timers, transition_booking
from sparecap.services.demands import change_demand
from sparecap.services.errors import ConflictError, NotFoundError
from sparecap.services.negotiation import CounterIn, accept_quote, counter_quote
from sparecap.services.notifications import list_notifications, read_notifications
from sparecap.services.rounds import WeightsIn, instant_match
from tests.services.test_demands import HOUR, TEN, market, post, quote_on
from tests.support.market import Party

__all__ = ["market"]  # the fixture, shared with the demand tests


def inbox(platform: Platform, who: Party, *, unread: bool = False) -> list[Notification]:
    with platform.db.read() as s:
        found = list_notifications(s, principal=who.principal, unread=unread, limit=100)
        s.expunge_all()
        return found


def kinds(platform: Platform, who: Party) -> list[str]:
    return [n.kind for n in reversed(inbox(platform, who))]  # oldest first


def test_a_round_hold_is_told_to_its_demander_with_its_deadline(
    platform: Platform, market: dict
) -> None:
    demand_id = post(platform, market["demander"])
    assert match_round_once(platform) == 1
    (held,) = inbox(platform, market["demander"])
    assert (held.kind, held.subject, held.data["demand"]) == (
        "match.held",
        f"demand:{demand_id}",
        demand_id,
    )
    text = render(held.kind, held.data)
    booking = held.data["booking"]
    assert text["en"] == (
        f"A matching round held capacity for your demand {demand_id}: booking {booking}, "
        "2026-03-03 02:00 UTC to 2026-03-03 03:00 UTC. "
        f"Confirm it before {held.data['expires'][:10]} {held.data['expires'][11:16]} UTC, "
        "or the hold lapses."
    )
    assert text["zh-CN"].startswith(f"撮合已为您的需求 {demand_id} 暂留产能：预订 {booking}")
    assert inbox(platform, market["provider"]) == []  # a hold is not yet the provider's business
    # Unconfirmed, the hold lapses: the demander hears of the booking and of the demand; the
    # provider, who never saw the hold, hears nothing.
    platform.ctx.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    with platform.db.write() as s:
        assert run_due_timers(s, ctx=platform.ctx) == 1
    assert kinds(platform, market["demander"]) == [
        "match.held",
        "booking.changed",
        "demand.reopened",
    ]
    changed, reopened = inbox(platform, market["demander"])[1::-1]
    assert render(changed.kind, changed.data)["en"].endswith(
        "went from held to expired, by the platform."
    )
    assert render(reopened.kind, reopened.data)["zh-CN"] == (
        f"您的需求 {demand_id} 已重新开放：其预订 {booking} 以“已过期”结束，"
        "后续撮合将重新寻找产能。"
    )
    assert inbox(platform, market["provider"]) == []


def test_an_instant_match_is_its_callers_answer_not_a_notice(
    platform: Platform, market: dict
) -> None:
    demand_id = post(platform, market["demander"])
    with platform.db.write() as s:
        instant_match(s, ctx=platform.ctx, principal=market["demander"].principal,
                      demand_id=demand_id, weights=WeightsIn())  # fmt: skip
    assert inbox(platform, market["demander"]) == []


def test_negotiation_tells_the_other_side_each_step(platform: Platform, market: dict) -> None:
    demander, provider = market["demander"], market["provider"]
    demand_id = post(platform, demander)
    quote_id = quote_on(platform, market, demand_id)
    assert (kinds(platform, demander), kinds(platform, provider)) == (["quote.offered"], [])
    with platform.db.write() as s:
        counter = counter_quote(s, ctx=platform.ctx, principal=demander.principal,
                                quote_id=quote_id, spec=CounterIn(price_minor=3000))  # fmt: skip
        counter_id = counter.id
    (countered,) = inbox(platform, provider)
    assert countered.kind == "quote.countered"
    assert render(countered.kind, countered.data)["en"] == (
        f"Your quote {quote_id} on demand {demand_id} was answered with the counter-offer "
        f"{counter_id}."
    )
    # A refused step tells nobody: the demander may not accept its own counter.
    with platform.db.write() as s, pytest.raises(ConflictError):
        accept_quote(s, ctx=platform.ctx, principal=demander.principal, quote_id=counter_id)
    assert kinds(platform, provider) == ["quote.countered"]
    with platform.db.write() as s:
        quote, _ = accept_quote(s, ctx=platform.ctx, principal=provider.principal,
                                quote_id=counter_id)  # fmt: skip
        booking_id = quote.booking_id
    assert kinds(platform, demander) == ["quote.offered", "quote.accepted"]
    accepted = inbox(platform, demander)[0]
    assert render(accepted.kind, accepted.data)["zh-CN"] == (
        f"需求 {demand_id} 的报价 {counter_id} 已被接受：预订 {booking_id}。"
    )
    # The demander cancels the booking: the provider hears of it, the demander does not.
    with platform.db.write() as s:
        transition_booking(s, ctx=platform.ctx, principal=demander.principal,
                           booking_id=booking_id, event=Event.CANCEL)  # fmt: skip
    cancelled = inbox(platform, provider)[0]
    assert (cancelled.kind, cancelled.data["actor"], cancelled.data["target"]) == (
        "booking.changed", "demander", "cancelled",
    )  # fmt: skip
    assert render(cancelled.kind, cancelled.data)["zh-CN"].endswith(
        "已由需求方从“已确认”变为“已取消”。"
    )
    assert "booking.changed" not in kinds(platform, demander)


def test_a_demand_past_its_deadline_is_told_expired(platform: Platform, market: dict) -> None:
    demand_id = post(platform, market["demander"], deadline=TEN + 2 * HOUR)
    quote_on_later = quote_on(platform, market, demand_id)
    platform.ctx.clock.set(TEN + 3 * HOUR)  # type: ignore[attr-defined]
    assert expire_demands_once(platform) == 1
    expired = inbox(platform, market["demander"])
    assert [n.kind for n in expired] == ["quote.expired", "demand.expired", "quote.offered"]
    assert render("demand.expired", expired[1].data)["en"] == (
        f"Your demand {demand_id} expired: its deadline passed."
    )
    # The quote's provider hears its quote expired with the demand.
    (told,) = inbox(platform, market["provider"])
    assert (told.kind, told.data["quote"]) == ("quote.expired", quote_on_later)


def test_reading_marks_only_the_callers_own_notices(platform: Platform, market: dict) -> None:
    demander, other = market["demander"], market["other"]
    for _ in range(3):
        post(platform, demander)
    post(platform, other)
    match_round_once(platform)
    mine = inbox(platform, demander)
    assert len(mine) == 3 and len(inbox(platform, other)) == 1
    with platform.db.write() as s, pytest.raises(NotFoundError) as stranger:
        read_notifications(s, ctx=platform.ctx, principal=other.principal,
                           notification_id=mine[0].id)  # fmt: skip
    assert stranger.value.code == "unknown_notification"
    with platform.db.write() as s:
        assert read_notifications(s, ctx=platform.ctx, principal=demander.principal,
                                  notification_id=mine[0].id) == 1  # fmt: skip
        assert read_notifications(s, ctx=platform.ctx, principal=demander.principal,
                                  notification_id=mine[0].id) == 0  # fmt: skip
    assert [n.id for n in inbox(platform, demander, unread=True)] == [n.id for n in mine[1:]]
    with platform.db.write() as s:
        assert read_notifications(s, ctx=platform.ctx, principal=demander.principal,
                                  up_to=mine[2].id) == 1  # fmt: skip
        assert read_notifications(s, ctx=platform.ctx, principal=demander.principal) == 1
    assert inbox(platform, demander, unread=True) == []
    assert len(inbox(platform, other, unread=True)) == 1


def test_an_operators_change_is_told_to_both_sides_and_not_to_the_operator(
    platform: Platform, market: dict
) -> None:
    post(platform, market["demander"])
    match_round_once(platform)
    (held,) = inbox(platform, market["demander"])
    with platform.db.write() as s:
        transition_booking(s, ctx=platform.ctx, principal=market["operator"].principal,
                           booking_id=held.data["booking"], event=Event.CANCEL)  # fmt: skip
        told = s.scalars(select(Notification.participant_id).where(
            Notification.kind == "booking.changed")).all()  # fmt: skip
    assert sorted(told) == sorted([market["demander"].id, market["provider"].id])
    with platform.db.read() as s:  # the hold, the cancel twice, the demand reopened
        assert s.scalar(select(func.count()).select_from(Notification)) == 4


def test_an_operator_withdrawing_a_demand_tells_its_demander(
    platform: Platform, market: dict
) -> None:
    demander = market["demander"]
    theirs, mine = post(platform, demander), post(platform, demander)
    for who, demand_id in ((market["operator"], theirs), (demander, mine)):
        with platform.db.write() as s:
            change_demand(s, ctx=platform.ctx, principal=who.principal, demand_id=demand_id,
                          event=DemandEvent.WITHDRAW)  # fmt: skip
    (told,) = inbox(platform, demander)  # not of its own withdrawal
    assert (told.kind, told.data["demand"]) == ("demand.withdrawn", theirs)
    assert render(told.kind, told.data)["zh-CN"] == f"您的需求 {theirs} 已被运营方撤回。"
