"""The booking state machine table."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.bookings import (
    BLOCKING,
    FINAL,
    TRANSITIONS,
    Actor,
    Event,
    Status,
    TimerPolicy,
    TransitionError,
    resolve,
    timer_for,
)


def test_the_happy_paths() -> None:
    assert (
        resolve(Event.BOOK, Status.HELD, Actor.DEMANDER, instant_book=True).target
        is Status.CONFIRMED
    )
    assert (
        resolve(Event.SUBMIT, Status.HELD, Actor.DEMANDER, instant_book=False).target
        is Status.REQUESTED
    )
    assert (
        resolve(Event.ACCEPT, Status.REQUESTED, Actor.PROVIDER, instant_book=False).target
        is Status.CONFIRMED
    )
    assert (
        resolve(Event.START, Status.CONFIRMED, Actor.DEMANDER, instant_book=True).target
        is Status.IN_USE
    )
    assert (
        resolve(Event.COMPLETE, Status.IN_USE, Actor.PROVIDER, instant_book=True).target
        is Status.COMPLETED
    )


@pytest.mark.parametrize(
    ("event", "status", "actor", "code"),
    [
        (Event.ACCEPT, Status.REQUESTED, Actor.DEMANDER, "forbidden_transition"),
        (Event.EXPIRE, Status.HELD, Actor.DEMANDER, "forbidden_transition"),
        (Event.CANCEL, Status.COMPLETED, Actor.OPERATOR, "invalid_transition"),
        (Event.BOOK, Status.HELD, Actor.DEMANDER, "request_to_book_only"),
    ],
)
def test_refusals_name_their_reason(event: Event, status: Status, actor: Actor, code: str) -> None:
    with pytest.raises(TransitionError) as caught:
        resolve(event, status, actor, instant_book=False)
    assert caught.value.code == code


def test_submit_is_refused_on_instant_book_resources() -> None:
    with pytest.raises(TransitionError) as caught:
        resolve(Event.SUBMIT, Status.HELD, Actor.DEMANDER, instant_book=True)
    assert caught.value.code == "instant_book_only"


@given(st.sampled_from(list(Event)), st.sampled_from(sorted(FINAL)), st.sampled_from(list(Actor)))
def test_final_states_never_move(event: Event, status: Status, actor: Actor) -> None:
    with pytest.raises(TransitionError):
        resolve(event, status, actor, instant_book=True)


def test_every_target_and_source_is_a_known_state_and_operators_can_override_people() -> None:
    for t in TRANSITIONS:
        assert t.sources <= set(Status)
        if Actor.DEMANDER in t.actors or Actor.PROVIDER in t.actors:
            assert Actor.OPERATOR in t.actors, t.event
    assert set(Status) == BLOCKING | FINAL and not BLOCKING & FINAL


def test_timers_armed_per_state() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    start, end = now + timedelta(hours=2), now + timedelta(hours=3)
    policy = TimerPolicy()
    kw = {"start": start, "end": end, "entered_at": now, "policy": policy}
    assert timer_for(Status.HELD, **kw).event is Event.EXPIRE  # type: ignore[union-attr, arg-type]
    requested = timer_for(Status.REQUESTED, **kw)  # type: ignore[arg-type]
    assert requested is not None and requested.due_at == start  # never outlives the slot
    confirmed = timer_for(Status.CONFIRMED, **kw)  # type: ignore[arg-type]
    assert confirmed is not None and confirmed.due_at == start + policy.no_show_grace
    assert timer_for(Status.COMPLETED, **kw) is None  # type: ignore[arg-type]
