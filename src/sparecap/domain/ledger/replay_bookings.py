"""The booking replay: booking events on the log, folded through the booking state machine.

Plugged into the log replay (replay.py) for entries of kind "booking.event": it checks that each
event is a move the state machine allows from the state the booking was in, and leaves the state
each booking ends in, which the audit compares with the bookings table (`compare_booking`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sparecap.domain.bookings import Event, Status, Transition, transition_for
from sparecap.domain.ledger.replay import Check, Divergence

BOOKING_EVENT = "booking.event"
# The creation step of a booking (services/bookings.create_booking): it has no source state, so
# the state machine's transition table does not list it.
HOLD = "hold"
HOLD_ACTORS = frozenset({"demander", "operator"})
# What a transition other than a reschedule may never change, and what nothing ever changes.
_FIXED_FOREVER = ("unit", "quantity", "currency")
_FIXED_UNLESS_RESCHEDULED = ("start", "end", "price_minor")
_Problem = tuple[str, str, str]  # what, expected, found


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What the log says about a booking and the bookings table must agree with."""

    status: str
    unit: int
    start: datetime
    end: datetime
    quantity: int
    price_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class ReplayedBooking:
    facts: BookingFacts
    last_seq: int  # the last entry about the booking


class _MalformedError(Exception):
    """A booking event whose data cannot be read."""


@dataclass(frozen=True, slots=True)
class _BookingEvent:
    booking: int
    event: str
    source: str | None
    actor: str
    facts: BookingFacts


class BookingReplay:
    """The state the log leaves each booking in, and how many booking events made it."""

    kinds = frozenset({BOOKING_EVENT})

    def __init__(self) -> None:
        self.bookings: dict[int, ReplayedBooking] = {}
        self.events = 0

    def fold(self, seq: int, body: Mapping[str, Any]) -> Divergence | None:
        try:
            event = _parse_booking_event(body)
        except _MalformedError as exc:
            return Divergence(seq, Check.TRANSITION, f"unreadable booking event: {exc}", "", "")
        problem = _check_transition(self.bookings.get(event.booking), event)
        if problem is None and body.get("subject") != f"booking:{event.booking}":
            problem = "filed under another subject", f"booking:{event.booking}", body["subject"]
        if problem is not None:
            what, expected, found = problem
            return Divergence(
                seq, Check.TRANSITION, f"booking {event.booking}: {what}", expected, found
            )
        self.bookings[event.booking] = ReplayedBooking(event.facts, seq)
        self.events += 1
        return None


def _parse_booking_event(body: Mapping[str, Any]) -> _BookingEvent:
    data = body.get("data")
    if not isinstance(data, dict):
        raise _MalformedError("no data object")
    facts = BookingFacts(
        status=_text(data, "to"),
        unit=_integer(data, "unit"),
        start=_instant(data, "start"),
        end=_instant(data, "end"),
        quantity=_integer(data, "quantity"),
        price_minor=_integer(data, "price_minor"),
        currency=_text(data, "currency"),
    )
    source = data.get("from")
    if source is not None and not isinstance(source, str):
        raise _MalformedError("'from' is neither a status nor null")
    booking, event = _integer(data, "booking"), _text(data, "event")
    return _BookingEvent(booking, event, source, _text(data, "actor_role"), facts)


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise _MalformedError(f"{name!r} is missing or not text")
    return value


def _integer(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _MalformedError(f"{name!r} is missing or not an integer")
    return value


def _instant(data: Mapping[str, Any], name: str) -> datetime:
    try:
        value = datetime.fromisoformat(_text(data, name))
    except ValueError as exc:
        raise _MalformedError(f"{name!r} is not an ISO 8601 instant") from exc
    if value.tzinfo is None:
        raise _MalformedError(f"{name!r} has no time zone")
    return value


def _check_transition(current: ReplayedBooking | None, event: _BookingEvent) -> _Problem | None:
    """Why the state machine could not have produced `event`, or None if it could."""
    if event.event == HOLD:
        return _check_hold(current, event)
    if current is None:
        return f"{event.event} of a booking no hold entry created", "a hold first", event.event
    try:
        transition = transition_for(Event(event.event))
    except ValueError:
        return "unknown event", "an event of the state machine", event.event
    return _check_move(current.facts, event, transition) or _check_unchanged(current.facts, event)


def _check_move(
    before: BookingFacts, event: _BookingEvent, transition: Transition
) -> _Problem | None:
    status = before.status
    if event.source != status:
        what = f"{event.event} from a state the booking was not in"
        return what, f"from {status}", f"from {event.source}"
    if Status(status) not in transition.sources:
        allowed = ", ".join(sorted(transition.sources))
        return f"{event.event} is not allowed from {status}", f"from {allowed}", f"from {status}"
    target = transition.target.value if transition.target else status
    if event.facts.status != target:
        what = f"{event.event} from {status} leads elsewhere"
        return what, f"to {target}", f"to {event.facts.status}"
    if event.actor not in transition.actors:
        allowed = ", ".join(sorted(transition.actors))
        return f"a {event.actor} may not {event.event}", f"one of {allowed}", event.actor
    return None


def _check_hold(current: ReplayedBooking | None, event: _BookingEvent) -> _Problem | None:
    if current is not None:
        return "held a second time", "one hold", f"another hold after entry {current.last_seq}"
    if event.source is not None or event.facts.status != Status.HELD:
        what = "a hold goes from nothing to held"
        return what, "None -> held", f"{event.source} -> {event.facts.status}"
    if event.actor not in HOLD_ACTORS:
        return f"a {event.actor} may not hold", "demander or operator", event.actor
    return None


def _check_unchanged(before: BookingFacts, event: _BookingEvent) -> _Problem | None:
    fixed: tuple[str, ...] = _FIXED_FOREVER
    if event.event != Event.RESCHEDULE:
        fixed += _FIXED_UNLESS_RESCHEDULED
    for name in fixed:
        old, new = getattr(before, name), getattr(event.facts, name)
        if old != new:
            return f"{event.event} changed its {name}", _show(old), _show(new)
    return None


def _show(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def compare_booking(
    booking_id: int, replayed: ReplayedBooking | None, row: BookingFacts | None
) -> Divergence | None:
    """The first field where a bookings row differs from the state the log leaves it in."""
    if replayed is None:
        what = f"booking {booking_id} is in the bookings table but no log entry is about it"
        return Divergence(None, Check.BOOKING, what, "no booking", "a bookings row")
    seq = replayed.last_seq
    if row is None:
        what = (
            f"booking {booking_id} is on the log (last entry {seq}) but not in the bookings table"
        )
        return Divergence(seq, Check.BOOKING, what, "a bookings row", "no row")
    for field in fields(BookingFacts):
        logged, stored = getattr(replayed.facts, field.name), getattr(row, field.name)
        if logged != stored:
            what = (
                f"booking {booking_id}: its {field.name} in the bookings table differs from the "
                f"log, whose last entry about it is {seq}"
            )
            return Divergence(seq, Check.BOOKING, what, _show(logged), _show(stored))
    return None
