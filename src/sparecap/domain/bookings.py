"""The booking state machine: states, transitions, who may trigger them, and their timers.

One declarative table drives every state change. Services look transitions up here; nothing else
decides whether a booking may move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    HELD = "held"
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    IN_USE = "in_use"
    COMPLETED = "completed"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


# States that occupy capacity. The database constraints (exclusion constraint, trigger, slot
# counters) are written against exactly this set; migrations repeat it in SQL.
BLOCKING: frozenset[Status] = frozenset(
    {Status.HELD, Status.REQUESTED, Status.CONFIRMED, Status.IN_USE}
)
FINAL: frozenset[Status] = frozenset(set(Status) - BLOCKING)


class Actor(StrEnum):
    DEMANDER = "demander"  # the booking's own demander
    PROVIDER = "provider"  # the resource's own provider
    OPERATOR = "operator"
    SYSTEM = "system"  # the scheduler firing a timer


class Event(StrEnum):
    SUBMIT = "submit"  # checkout a hold on a request-to-book resource
    BOOK = "book"  # checkout a hold on an instant-book resource
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"
    NO_SHOW = "no_show"
    RESCHEDULE = "reschedule"  # move or extend; stays in its state, re-checks capacity


class Guard(StrEnum):
    INSTANT_BOOK = "instant_book"
    REQUEST_TO_BOOK = "request_to_book"


@dataclass(frozen=True, slots=True)
class Transition:
    event: Event
    sources: frozenset[Status]
    target: Status | None  # None: the booking keeps its state
    actors: frozenset[Actor]
    guard: Guard | None = None


def _t(
    event: Event,
    sources: set[Status],
    target: Status | None,
    actors: set[Actor],
    guard: Guard | None = None,
) -> Transition:
    return Transition(event, frozenset(sources), target, frozenset(actors), guard)


D, P, OP, S = Actor.DEMANDER, Actor.PROVIDER, Actor.OPERATOR, Actor.SYSTEM

TRANSITIONS: tuple[Transition, ...] = (
    _t(Event.SUBMIT, {Status.HELD}, Status.REQUESTED, {D, OP}, Guard.REQUEST_TO_BOOK),
    _t(Event.BOOK, {Status.HELD}, Status.CONFIRMED, {D, OP}, Guard.INSTANT_BOOK),
    _t(Event.ACCEPT, {Status.REQUESTED}, Status.CONFIRMED, {P, OP}),
    _t(Event.DECLINE, {Status.REQUESTED}, Status.DECLINED, {P, OP}),
    _t(Event.EXPIRE, {Status.HELD, Status.REQUESTED}, Status.EXPIRED, {S, OP}),
    _t(Event.START, {Status.CONFIRMED}, Status.IN_USE, {D, P, OP}),
    _t(Event.COMPLETE, {Status.IN_USE}, Status.COMPLETED, {P, OP, S}),
    _t(
        Event.CANCEL,
        {Status.HELD, Status.REQUESTED, Status.CONFIRMED},
        Status.CANCELLED,
        {D, P, OP},
    ),
    _t(Event.NO_SHOW, {Status.CONFIRMED}, Status.NO_SHOW, {P, OP, S}),
    _t(
        Event.RESCHEDULE,
        {Status.HELD, Status.REQUESTED, Status.CONFIRMED, Status.IN_USE},
        None,
        {D, OP},
    ),
)

_BY_EVENT: dict[Event, Transition] = {t.event: t for t in TRANSITIONS}


@dataclass(frozen=True, slots=True)
class TimerPolicy:
    """How long the platform waits before it moves a booking on by itself."""

    hold_ttl: timedelta = timedelta(minutes=10)
    accept_within: timedelta = timedelta(hours=24)
    no_show_grace: timedelta = timedelta(minutes=30)
    auto_complete_after: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Timer:
    due_at: datetime
    event: Event


def timer_for(
    status: Status, *, start: datetime, end: datetime, entered_at: datetime, policy: TimerPolicy
) -> Timer | None:
    """The timer armed on entering `status`; None for states that wait for people only."""
    match status:
        case Status.HELD:
            return Timer(entered_at + policy.hold_ttl, Event.EXPIRE)
        case Status.REQUESTED:
            # A request must not outlive the slot it asks for.
            return Timer(min(entered_at + policy.accept_within, start), Event.EXPIRE)
        case Status.CONFIRMED:
            return Timer(start + policy.no_show_grace, Event.NO_SHOW)
        case Status.IN_USE:
            return Timer(end + policy.auto_complete_after, Event.COMPLETE)
        case _:
            return None


class TransitionError(Exception):
    """A transition the state machine does not allow."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def transition_for(event: Event) -> Transition:
    return _BY_EVENT[event]


def resolve(event: Event, status: Status, actor: Actor, *, instant_book: bool) -> Transition:
    """The transition for `event` from `status` by `actor`, or TransitionError saying why not."""
    transition = _BY_EVENT[event]
    if status not in transition.sources:
        allowed = ", ".join(sorted(transition.sources))
        raise TransitionError(
            "invalid_transition",
            f"cannot {event} a booking that is {status}; allowed from: {allowed}",
        )
    if actor not in transition.actors:
        raise TransitionError("forbidden_transition", f"a {actor} may not {event} this booking")
    if transition.guard is Guard.INSTANT_BOOK and not instant_book:
        raise TransitionError(
            "request_to_book_only", "this resource takes requests; submit the hold instead"
        )
    if transition.guard is Guard.REQUEST_TO_BOOK and instant_book:
        raise TransitionError("instant_book_only", "this resource is instant-book; book the hold")
    return transition


def checkout_event(instant_book: bool) -> Event:
    return Event.BOOK if instant_book else Event.SUBMIT
