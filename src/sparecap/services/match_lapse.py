"""What the end of a booking does to the match it was made for.

A round's match is a hold in the demander's name, and a negotiated one a booking the provider
may still decline. When such a booking ends unserved (the hold expired unconfirmed, the
provider declined, either side cancelled), the match no longer gives the demand anything: it
is marked lapsed and its quantity goes back to the demand, which the next round tries again;
unless the demander has let MAX_UNCONFIRMED_HOLDS of its round holds lapse unconfirmed, in which
case the demand expires.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sparecap.db.demands import Demand, Match
from sparecap.db.models import Booking
from sparecap.domain.bookings import Status
from sparecap.domain.demands import LIVE, DemandActor, DemandEvent
from sparecap.services.context import ServiceContext
from sparecap.services.demands import apply_event, release_matched
from sparecap.services.quote_log import expire_unanswered_quotes

UNSERVED: frozenset[Status] = frozenset({Status.EXPIRED, Status.DECLINED, Status.CANCELLED})
# A demander who lets this many of a demand's round holds lapse unconfirmed is not answering:
# the demand expires rather than have every round hold capacity others could book.
MAX_UNCONFIRMED_HOLDS = 2


def on_booking_ended(
    session: Session, *, ctx: ServiceContext, booking: Booking, target: Status
) -> None:
    """Called in the booking's transition, so the booking, its match and the demand agree."""
    if target not in UNSERVED:
        return
    match = session.scalar(select(Match).where(Match.booking_id == booking.id))
    if match is None or match.lapsed is not None:
        return
    match.lapsed = target.value
    demand = session.get(Demand, match.demand_id, with_for_update=True)
    assert demand is not None  # a foreign key holds the match to it
    release_matched(
        session, ctx, demand, match.quantity,
        match=match.id, booking=booking.id, lapsed=target.value,
    )  # fmt: skip
    if target is Status.EXPIRED and match.round_id is not None:  # a round's hold, unconfirmed
        _give_up_when_unanswered(session, ctx, demand)


def _give_up_when_unanswered(session: Session, ctx: ServiceContext, demand: Demand) -> None:
    unconfirmed = session.scalar(
        select(func.count()).where(
            Match.demand_id == demand.id,
            Match.round_id.is_not(None),
            Match.lapsed == Status.EXPIRED.value,
        )
    )
    if unconfirmed and unconfirmed >= MAX_UNCONFIRMED_HOLDS and demand.status in LIVE:
        apply_event(session, ctx, demand, DemandEvent.EXPIRE, DemandActor.SYSTEM,
                    unconfirmed_holds=unconfirmed)  # fmt: skip
        expire_unanswered_quotes(session, ctx, [demand.id])
