"""Each participant's inbox: notices of what others, or the platform, did to its deals.

A notice is written in the same transaction as the change it tells of, so none is lost and
none tells of a change that rolled back. Nobody is told of their own act. The inbox is the
platform's own channel; pushing notices out (e-mail, SMS, a webhook) would read from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from sparecap.db.bulk import insert_rows
from sparecap.db.demands import Demand, Quote
from sparecap.db.models import Booking
from sparecap.db.notifications import Notification
from sparecap.domain.bookings import Actor, Status
from sparecap.domain.demands import DemandEvent
from sparecap.services.context import ServiceContext
from sparecap.services.errors import NotFoundError
from sparecap.services.principals import Principal

_TABLE = cast(Table, Notification.__table__)
_COLUMNS = ("participant_id", "kind", "subject", "data", "created_at")
# What the demand's own events tell its demander; the others are the demander's own acts, or
# told another way (a round's hold is told with its booking: see held_for).
DEMAND_NOTICES = {
    DemandEvent.EXPIRE: "demand.expired",
    DemandEvent.REOPEN: "demand.reopened",
    DemandEvent.LAPSE_PART: "demand.reopened",
    DemandEvent.WITHDRAW: "demand.withdrawn",  # by an operator
    DemandEvent.CLOSE: "demand.closed",  # by an operator
}
QUOTE_NOTICES = {
    "offer": "quote.offered",
    "counter": "quote.countered",
    "accept": "quote.accepted",
    "decline": "quote.declined",
    "withdraw": "quote.withdrawn",
    "expire": "quote.expired",
}


@dataclass(frozen=True, slots=True)
class Notice:
    participant_id: int
    kind: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)


def notify(session: Session, ctx: ServiceContext, notices: Iterable[Notice]) -> None:
    """Write the notices, all in one statement (a round tells thousands of demanders)."""
    now = ctx.clock.now()
    rows = [(n.participant_id, n.kind, n.subject, n.data, now) for n in notices]
    insert_rows(session.connection(), _TABLE, _COLUMNS, rows)


def booking_changed(
    session: Session,
    ctx: ServiceContext,
    booking: Booking,
    *,
    source: Status,
    actor: Actor,
    by: int | None,
) -> None:
    """Tell the booking's other side (both, after an operator) of a transition. A hold that
    expires concerns only its demander: the provider never saw it."""
    provider, demander = booking.resource.provider_id, booking.demander_id
    told = {
        Actor.DEMANDER: {provider},
        Actor.PROVIDER: {demander},
        Actor.OPERATOR: {demander, provider},
        Actor.SYSTEM: {demander} if source is Status.HELD else {demander, provider},
    }[actor] - {by}
    data = {
        "booking": booking.id,
        "resource": booking.resource_id,
        "source": source.value,
        "target": booking.status,
        "actor": actor.value,
    }
    subject = f"booking:{booking.id}"
    notify(session, ctx, (Notice(p, "booking.changed", subject, data) for p in sorted(told)))


def held_for(session: Session, ctx: ServiceContext, held: Iterable[tuple[Demand, Booking]]) -> None:
    """Tell each demander that a round held capacity for its demand, and until when."""
    notify(session, ctx, (_held(demand, booking) for demand, booking in held))


def _held(demand: Demand, booking: Booking) -> Notice:
    data = {
        "demand": demand.id,
        "booking": booking.id,
        "start": booking.start_at.isoformat(),
        "end": booking.end_at.isoformat(),
        # A hold always has its expiry timer; its start is the latest it could mean.
        "expires": (booking.timer_due_at or booking.start_at).isoformat(),
    }
    return Notice(demand.demander_id, "match.held", f"demand:{demand.id}", data)


def demand_changed(
    session: Session, ctx: ServiceContext, demand: Demand, event: DemandEvent, **extra: Any
) -> None:
    """Tell a demander what the platform or an operator did to its demand (expired it,
    reopened it, withdrew or closed it)."""
    kind = DEMAND_NOTICES.get(event)
    if kind is None:
        return
    data: dict[str, Any] = {"demand": demand.id, "status": demand.status}
    if event is DemandEvent.EXPIRE:
        data["cause"] = "unconfirmed_holds" if "unconfirmed_holds" in extra else "deadline"
    elif event in (DemandEvent.REOPEN, DemandEvent.LAPSE_PART):
        data["lapsed"] = extra.get("lapsed")
        data["booking"] = extra.get("booking")
    notify(session, ctx, [Notice(demand.demander_id, kind, f"demand:{demand.id}", data)])


def quote_changed(
    session: Session,
    ctx: ServiceContext,
    quote: Quote,
    demand: Demand,
    event: str,
    *,
    by: int | None,
) -> None:
    """Tell the quote's other side (both, after an operator or the platform) of its event."""
    kind = QUOTE_NOTICES.get(event)
    if kind is None:  # "countered": the parent's side of a counter, told by the counter itself
        return
    data = {
        "quote": quote.id,
        "parent": quote.parent_id,
        "demand": demand.id,
        "booking": quote.booking_id,
        "status": quote.status,
    }
    told = {demand.demander_id, quote.provider_id} - {by}
    subject = f"quote:{quote.id}"
    notify(session, ctx, (Notice(p, kind, subject, data) for p in sorted(told)))


def list_notifications(
    session: Session, *, principal: Principal, unread: bool = False, limit: int, offset: int = 0
) -> list[Notification]:
    """The caller's own notices, newest first."""
    query = select(Notification).where(Notification.participant_id == principal.participant_id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def read_notifications(
    session: Session,
    *,
    ctx: ServiceContext,
    principal: Principal,
    notification_id: int | None = None,
    up_to: int | None = None,
) -> int:
    """Mark one of the caller's notices read (notification_id), or all of them up to an id
    (up_to; all if None). Reading again changes nothing. Returns how many were unread."""
    mine = Notification.participant_id == principal.participant_id
    if notification_id is not None:
        found = select(Notification.id).where(mine, Notification.id == notification_id)
        if session.scalar(found) is None:
            raise NotFoundError(
                f"notification {notification_id} not found", code="unknown_notification"
            )
        chosen = Notification.id == notification_id
    else:
        chosen = Notification.id <= up_to if up_to is not None else Notification.id.is_not(None)
    result = session.execute(
        update(Notification)
        .where(mine, chosen, Notification.read_at.is_(None))
        .values(read_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
