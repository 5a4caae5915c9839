"""The booking service's batch path for the matching engine, on SQLite and PostgreSQL.

hold_many must hold exactly what create_booking(hold=True) would hold one at a time: the same
rules, prices, timers, audit rows and ledger entries, and never a unit twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sparecap.bootstrap import Platform
from sparecap.db.models import Booking, LedgerEntry, Unit
from sparecap.db.money import BookingTerms
from sparecap.services.bookings import (
    BookingIn,
    HoldIn,
    booking_events,
    create_booking,
    hold_many,
)
from sparecap.services.capacity import CapacityConflictError
from sparecap.services.errors import InvalidInputError, NotFoundError
from tests.support.market import Party, bays_spec, charger_spec, make_resource, party

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
HOUR = timedelta(hours=1)


@pytest.fixture
def market(platform: Platform) -> dict[str, Party | int]:
    provider = party(platform, "Provider", "provider")
    return {
        "demander": party(platform, "Demander", "demander"),
        "other": party(platform, "Other demander", "demander"),
        "chargers": make_resource(platform, provider, charger_spec()),
        "bays": make_resource(platform, provider, bays_spec(capacity=2)),
    }


def units_of(platform: Platform, resource: int) -> list[int]:
    with platform.db.read() as s:
        return list(
            s.scalars(select(Unit.id).where(Unit.resource_id == resource).order_by(Unit.id))
        )


def hold(who: Party, resource: int, unit: int, start: datetime = TEN) -> HoldIn:
    return HoldIn(who.principal.participant_id, resource, unit, start, start + HOUR)


def test_a_batch_holds_what_single_holds_would(platform: Platform, market: dict) -> None:
    c1, c2 = units_of(platform, market["chargers"])
    (bay,) = units_of(platform, market["bays"])
    with platform.db.write() as s:
        single = create_booking(s, ctx=platform.ctx, principal=market["other"].principal,
                                request=BookingIn(resource_id=market["chargers"], unit_id=c2,
                                                  start=TEN + 3 * HOUR, end=TEN + 4 * HOUR,
                                                  hold=True))  # fmt: skip
        expected = (single.status, single.price_minor, single.timer_due_at - single.created_at)
        results = hold_many(s, ctx=platform.ctx, holds=[
            hold(market["demander"], market["chargers"], c1),
            hold(market["demander"], market["chargers"], c2),
            hold(market["demander"], market["bays"], bay),  # pooled: the one-at-a-time path
            hold(market["demander"], market["chargers"], c1, start=TEN - 6 * HOUR),  # closed
            hold(market["demander"], market["chargers"], 10**6),  # not a unit of the resource
        ])  # fmt: skip
        *booked, closed, stranger = results
        assert all(isinstance(b, Booking) for b in booked)
        assert isinstance(closed, InvalidInputError) and closed.code == "outside_availability"
        assert isinstance(stranger, NotFoundError)
        for b in booked:
            assert isinstance(b, Booking)
            assert (b.status, b.price_minor, b.timer_due_at - b.created_at) == expected
            assert [e.event for e in booking_events(s, booking_id=b.id)] == ["hold"]
            terms = s.get(BookingTerms, b.id)
            assert terms is not None and terms.total_minor > 0
        ids = [b.id for b in booked if isinstance(b, Booking)]
    with platform.db.read() as s:
        logged = s.scalars(select(LedgerEntry.subject).where(LedgerEntry.kind == "booking.event"))
        assert {f"booking:{i}" for i in ids} <= set(logged)


def test_a_unit_asked_twice_in_one_batch_is_held_once(platform: Platform, market: dict) -> None:
    c1, c2 = units_of(platform, market["chargers"])
    with platform.db.write() as s:
        results = hold_many(s, ctx=platform.ctx, holds=[
            hold(market["demander"], market["chargers"], c1),
            hold(market["other"], market["chargers"], c1, start=TEN + HOUR / 2),  # overlaps
            hold(market["other"], market["chargers"], c2),
        ])  # fmt: skip
        first, clash, third = results
        assert isinstance(first, Booking) and isinstance(third, Booking)
        assert isinstance(clash, CapacityConflictError) and clash.code == "capacity_conflict"
    with platform.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 2


def test_a_unit_booked_before_the_batch_is_refused(platform: Platform, market: dict) -> None:
    c1, c2 = units_of(platform, market["chargers"])
    with platform.db.write() as s:
        create_booking(s, ctx=platform.ctx, principal=market["other"].principal,
                       request=BookingIn(resource_id=market["chargers"], unit_id=c1, start=TEN,
                                         end=TEN + HOUR))  # fmt: skip
    with platform.db.write() as s:
        taken, free = hold_many(s, ctx=platform.ctx, holds=[
            hold(market["demander"], market["chargers"], c1, start=TEN + HOUR / 2),
            hold(market["demander"], market["chargers"], c2),
        ])  # fmt: skip
        assert isinstance(taken, CapacityConflictError)
        assert isinstance(free, Booking) and free.unit_id == c2


def test_each_resource_is_priced_on_its_own_terms(platform: Platform, market: dict) -> None:
    """A batch quotes resources with the same pricing once; any difference gets its own quote."""
    provider = party(platform, "Second provider", "provider")
    resources = [
        make_resource(platform, provider, charger_spec(name=name, **change))
        for name, change in [
            ("same", {}),
            ("dearer", {"price_minor": 5000}),
            ("daily", {"price_minor": 60000, "price_unit": "day"}),
            ("Hong Kong", {"timezone": "Asia/Hong_Kong"}),
        ]
    ]
    resources.append(market["chargers"])
    with platform.db.write() as s:
        batch = hold_many(s, ctx=platform.ctx, holds=[
            hold(market["demander"], r, units_of(platform, r)[0]) for r in resources
        ])  # fmt: skip
        for r, held in zip(resources, batch, strict=True):
            request = BookingIn(resource_id=r, unit_id=units_of(platform, r)[1], start=TEN,
                                end=TEN + HOUR, hold=True)  # fmt: skip
            alone = create_booking(s, ctx=platform.ctx, principal=market["other"].principal,
                                   request=request)  # fmt: skip
            assert isinstance(held, Booking)
            mine, theirs = s.get(BookingTerms, held.id), s.get(BookingTerms, alone.id)
            assert mine is not None and theirs is not None
            assert (held.price_minor, mine.quote) == (alone.price_minor, theirs.quote)
        prices = [b.price_minor for b in batch if isinstance(b, Booking)]
        assert prices == [4000, 5000, 2500, 4000, 4000]
