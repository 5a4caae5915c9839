"""What the end of a booking does to the match it was made for.

A round's match is a hold in the demander's name, and a negotiated one a booking the provider
may still decline. When such a booking ends unserved (the hold expired unconfirmed, the
provider declined, either side cancelled), the match no longer gives the demand anything: it
is marked lapsed and its quantity goes back to the demand, which the next round tries again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.demands import Demand, Match
from sparecap.db.models import Booking
from sparecap.domain.bookings import Status
from sparecap.services.context import ServiceContext
from sparecap.services.demands import release_matched

UNSERVED: frozenset[Status] = frozenset({Status.EXPIRED, Status.DECLINED, Status.CANCELLED})


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
    release_matched(session, ctx, demand, match.quantity, match=match.id, lapsed=target.value)
