"""Platform-wide counts for the status page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sparecap.db.models import Booking, Participant, Resource, Unit


def platform_counts(session: Session) -> dict[str, object]:
    rows = session.execute(select(Booking.status, func.count()).group_by(Booking.status))
    by_status: dict[str, int] = {status: count for status, count in rows}
    return {
        "participants": session.scalar(select(func.count()).select_from(Participant)) or 0,
        "resources": session.scalar(select(func.count()).select_from(Resource)) or 0,
        "units": session.scalar(select(func.count()).select_from(Unit)) or 0,
        "bookings": sum(by_status.values()),
        "bookings_by_status": by_status,
    }
