"""Bookings at the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sparecap.bootstrap import Platform
from sparecap.domain.bookings import Event
from sparecap.domain.clock import FixedClock
from sparecap.services.bookings import (
    BookingIn,
    booking_events,
    create_booking,
    get_booking,
    list_bookings,
    reschedule_booking,
    run_due_timers,
    transition_booking,
)
from sparecap.services.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from tests.support.market import Party, bays_spec, charger_spec, make_resource, party

# Tuesday 2026-03-03 10:00 Shanghai = 02:00 UTC; the test clock stands at Monday 00:00 UTC.
TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def market(platform: Platform) -> dict[str, Party | int]:
    provider = party(platform, "Provider", "provider")
    return {
        "provider": provider,
        "demander": party(platform, "Demander", "demander"),
        "other": party(platform, "Other demander", "demander"),
        "operator": party(platform, "Operator", "operator"),
        "auditor": party(platform, "Auditor", "auditor"),
        "chargers": make_resource(platform, provider, charger_spec()),
        "bays": make_resource(platform, provider, bays_spec(capacity=3)),
        "cnc": make_resource(
            platform,
            provider,
            charger_spec(
                name="Request-only",
                instant_book=False,
                units=[{"name": "m1"}],
                rules={"slot_minutes": 60, "min_duration_minutes": 60, "buffer_after_minutes": 60},
            ),
        ),
    }


def book(  # type: ignore[no-untyped-def]
    platform: Platform, who: Party, resource: int, start: datetime = TEN, hours: float = 1, **kw
):
    with platform.db.write() as s:
        request = BookingIn(resource_id=resource, start=start, end=start + hours * HOUR, **kw)  # type: ignore[arg-type]
        b = create_booking(s, ctx=platform.ctx, principal=who.principal, request=request)
        return b.id, b.status, b.unit_id


def act(platform: Platform, who: Party, booking_id: int, event: Event) -> str:
    with platform.db.write() as s:
        return transition_booking(
            s, ctx=platform.ctx, principal=who.principal, booking_id=booking_id, event=event
        ).status


def test_instant_book_confirms_and_prices_by_time(platform: Platform, market: dict) -> None:
    booking_id, status, _ = book(platform, market["demander"], market["chargers"], hours=1.5)
    assert status == "confirmed"
    with platform.db.read() as s:
        b = get_booking(s, principal=market["demander"].principal, booking_id=booking_id)
        assert (b.price_minor, b.currency) == (6000, "CNY")
        assert [e.event for e in booking_events(s, booking_id=booking_id)] == ["hold", "book"]


def test_an_exclusive_resource_fills_its_units_then_refuses(
    platform: Platform, market: dict
) -> None:
    units = {book(platform, market["demander"], market["chargers"])[2] for _ in range(2)}
    assert len(units) == 2
    with pytest.raises(ConflictError) as caught:
        book(platform, market["other"], market["chargers"])
    assert caught.value.code == "capacity_conflict"
    assert caught.value.details["conflicts"] == [
        {"start": TEN.isoformat(), "end": (TEN + HOUR).isoformat()}
    ]


def test_touching_bookings_do_not_overlap(platform: Platform, market: dict) -> None:
    first = book(platform, market["demander"], market["chargers"], unit_id=None)
    again = book(platform, market["other"], market["chargers"], start=TEN + HOUR)
    assert first[2] == again[2]  # the same unit: [10:00, 11:00) and [11:00, 12:00) touch only


def test_buffers_block_the_unit_after_a_booking(platform: Platform, market: dict) -> None:
    book(platform, market["demander"], market["cnc"])
    with pytest.raises(ConflictError):
        book(platform, market["other"], market["cnc"], start=TEN + HOUR)  # inside the buffer
    book(platform, market["other"], market["cnc"], start=TEN + 2 * HOUR)


def test_pooled_capacity_takes_exactly_its_limit(platform: Platform, market: dict) -> None:
    book(platform, market["demander"], market["bays"], quantity=2)
    book(platform, market["other"], market["bays"], quantity=1)
    with pytest.raises(ConflictError) as caught:
        book(platform, market["other"], market["bays"], quantity=1)
    assert caught.value.details["conflicts"]  # the full slots are named
    # A later window is untouched.
    book(platform, market["other"], market["bays"], start=TEN + 2 * HOUR, quantity=3)


def test_cancelling_frees_pooled_capacity(platform: Platform, market: dict) -> None:
    booking_id, *_ = book(platform, market["demander"], market["bays"], quantity=3)
    act(platform, market["demander"], booking_id, Event.CANCEL)
    book(platform, market["other"], market["bays"], quantity=3)


def test_request_to_book_waits_for_the_provider(platform: Platform, market: dict) -> None:
    booking_id, status, _ = book(platform, market["demander"], market["cnc"])
    assert status == "requested"
    with pytest.raises(ConflictError) as caught:
        act(platform, market["demander"], booking_id, Event.ACCEPT)
    assert caught.value.code == "forbidden_transition"
    assert act(platform, market["provider"], booking_id, Event.ACCEPT) == "confirmed"


def test_strangers_cannot_see_or_move_a_booking(platform: Platform, market: dict) -> None:
    booking_id, *_ = book(platform, market["demander"], market["chargers"])
    with pytest.raises(NotFoundError):
        act(platform, market["other"], booking_id, Event.CANCEL)
    with platform.db.read() as s:
        assert list_bookings(s, principal=market["other"].principal) == []
        assert len(list_bookings(s, principal=market["provider"].principal)) == 1
        assert len(list_bookings(s, principal=market["auditor"].principal)) == 1
    with pytest.raises(ForbiddenError):
        act(platform, market["auditor"], booking_id, Event.CANCEL)


def test_operator_override_is_an_audited_transition(platform: Platform, market: dict) -> None:
    booking_id, *_ = book(platform, market["demander"], market["chargers"])
    with platform.db.write() as s:
        transition_booking(
            s,
            ctx=platform.ctx,
            principal=market["operator"].principal,
            booking_id=booking_id,
            event=Event.CANCEL,
            reason="fraud hold",
        )
    with platform.db.read() as s:
        last = booking_events(s, booking_id=booking_id)[-1]
    assert (last.event, last.actor_role, last.override, last.reason) == (
        "cancel",
        "operator",
        True,
        "fraud hold",
    )


def test_rules_are_enforced_with_their_codes(platform: Platform, market: dict) -> None:
    night = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: closed
    with pytest.raises(InvalidInputError) as caught:
        book(platform, market["demander"], market["chargers"], start=night)
    assert caught.value.code == "outside_availability"
    with pytest.raises(InvalidInputError) as caught:
        book(platform, market["demander"], market["chargers"], start=TEN + timedelta(minutes=7))
    assert caught.value.code == "misaligned"


def test_reschedule_and_extend_recheck_capacity(
    platform: Platform, market: dict, clock: FixedClock
) -> None:
    a, *_ = book(platform, market["demander"], market["cnc"])
    act(platform, market["provider"], a, Event.ACCEPT)
    b, *_ = book(platform, market["other"], market["cnc"], start=TEN + 3 * HOUR)
    with platform.db.write() as s, pytest.raises(ConflictError):
        # 10:00-13:00 plus the hour of buffer would run into b at 13:00.
        reschedule_booking(
            s,
            ctx=platform.ctx,
            principal=market["demander"].principal,
            booking_id=a,
            start=TEN,
            end=TEN + 3 * HOUR,
        )
    with platform.db.write() as s:
        moved = reschedule_booking(
            s,
            ctx=platform.ctx,
            principal=market["demander"].principal,
            booking_id=a,
            start=TEN,
            end=TEN + 2 * HOUR,
        )
        assert (moved.end_at, moved.price_minor) == (TEN + 2 * HOUR, 8000)
    clock.set(TEN + timedelta(minutes=5))
    assert act(platform, market["demander"], a, Event.START) == "in_use"
    with platform.db.write() as s, pytest.raises(ConflictError) as caught:
        reschedule_booking(
            s,
            ctx=platform.ctx,
            principal=market["demander"].principal,
            booking_id=a,
            start=TEN + HOUR,
            end=TEN + 2 * HOUR,
        )
    assert caught.value.code == "already_started"
    del b


def test_timers_expire_holds_and_requests_and_mark_no_shows(
    platform: Platform, market: dict, clock: FixedClock
) -> None:
    held, *_ = book(platform, market["demander"], market["chargers"], hold=True)
    requested, *_ = book(platform, market["demander"], market["cnc"], start=TEN + 5 * HOUR)
    confirmed, *_ = book(platform, market["other"], market["chargers"], start=TEN + 2 * HOUR)
    with platform.db.write() as s:
        assert run_due_timers(s, ctx=platform.ctx) == 0
    clock.advance(timedelta(minutes=11))  # past the 10 minute hold
    with platform.db.write() as s:
        assert run_due_timers(s, ctx=platform.ctx) == 1
    # Past the provider's 24 h to answer the request, and the no-show grace of `confirmed`.
    clock.set(TEN + 2 * HOUR + timedelta(minutes=31))
    with platform.db.write() as s:
        assert run_due_timers(s, ctx=platform.ctx) == 2
    with platform.db.read() as s:
        status = {
            i: get_booking(s, principal=market["operator"].principal, booking_id=i).status
            for i in (held, requested, confirmed)
        }
    assert status == {held: "expired", requested: "expired", confirmed: "no_show"}


def test_the_database_itself_refuses_an_overlap_written_behind_the_services(
    platform: Platform, market: dict
) -> None:
    """An operator's raw SQL edit is a write path too: the constraint or trigger stops it."""
    booking_id, _, unit = book(platform, market["demander"], market["chargers"])
    other, _, other_unit = book(platform, market["other"], market["chargers"], start=TEN + 2 * HOUR)
    overlap = r"(?i)booking_overlap|bookings_no_overlap|exclusion"
    with pytest.raises(Exception, match=overlap), platform.db.write() as s:
        s.execute(
            text(
                "UPDATE bookings SET unit_id = :u, block_start = :s, block_end = :e, "
                "start_at = :s, end_at = :e WHERE id = :id"
            ),
            {
                "u": unit,
                "s": TEN.replace(tzinfo=None) if platform.db.is_sqlite else TEN,
                "e": (TEN + HOUR).replace(tzinfo=None) if platform.db.is_sqlite else TEN + HOUR,
                "id": other,
            },
        )
    del booking_id, other_unit


def test_the_capacity_check_constraint_refuses_overfilling_a_pooled_slot(
    platform: Platform, market: dict
) -> None:
    book(platform, market["demander"], market["bays"], quantity=3)
    with pytest.raises(Exception, match="capacity_slot_within_limit"), platform.db.write() as s:
        s.execute(text("UPDATE capacity_slots SET used = used + 1"))
