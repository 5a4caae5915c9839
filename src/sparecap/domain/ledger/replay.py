"""Replaying the log: recompute its tree and booking states, and name the first divergence.

The replay folds entries one at a time and keeps only the log's right edge, the next pending
checkpoint and one small state per booking, so it runs in memory that does not grow with the log.
Every check reports the entry it concerns; the first failing check stops the replay, because
after a divergence nothing later in the log can be trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from sparecap.domain.bookings import Event, Status, Transition, transition_for
from sparecap.domain.ledger.entries import append_leaf, frontier_root
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import leaf_hash

BOOKING_EVENT = "booking.event"
# The creation step of a booking (services/bookings.create_booking): it has no source state, so
# the state machine's transition table does not list it.
HOLD = "hold"
HOLD_ACTORS = frozenset({"demander", "operator"})
# What a transition other than a reschedule may never change, and what nothing ever changes.
_FIXED_FOREVER = ("unit", "quantity", "currency")
_FIXED_UNLESS_RESCHEDULED = ("start", "end", "price_minor")


class Check(StrEnum):
    """Which check found the divergence, in the order they run for each entry."""

    SEQUENCE = "sequence"  # a missing, repeated or out-of-order sequence number
    PAYLOAD = "payload"  # payload vs its leaf hash, its columns, its JSON
    SUBTREE = "subtree"  # a stored complete-subtree hash vs the recomputed one
    CHECKPOINT = "checkpoint"  # a signed tree head: signature, row, root at its size
    TRANSITION = "transition"  # a booking event the state machine cannot produce
    STATE = "state"  # the stored size and right edge vs the replayed ones
    BOOKING = "booking"  # a bookings row vs the state the log leaves it in


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first place where the stored data and the replay disagree.

    `expected` is what the replay recomputes from the entries; `found` is what is stored.
    `seq` is the entry the divergence is pinned to, or None when no entry concerns it.
    """

    seq: int | None
    check: Check
    what: str
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One ledger row as stored, with the stored hashes of the subtrees it completes."""

    seq: int
    kind: str
    subject: str
    payload: str
    leaf_hash: bytes
    subtrees: Mapping[tuple[int, int], bytes]  # (level, index) -> hash


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: str


@dataclass(frozen=True, slots=True)
class SignedHead:
    """What a checkpoint's verified note says: its tree size and root."""

    size: int
    root_hash: bytes


# Verifies a signed checkpoint note and returns what it signs; raises LedgerError if it does not.
CheckpointOpener = Callable[[str], SignedHead]


@dataclass(frozen=True, slots=True)
class StoredState:
    """The log's stored size and right edge, which the next append builds on."""

    size: int
    frontier: Sequence[bytes]


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


@dataclass(frozen=True, slots=True)
class ReplayReport:
    divergence: Divergence | None
    entries: int  # entries replayed before the first divergence (all of them when ok)
    booking_events: int
    checkpoints: int  # checkpoints whose root (and signature, given an opener) agreed
    root: bytes  # root of the replayed entries
    latest_checkpoint: SignedHead | None
    bookings: Mapping[int, ReplayedBooking]

    @property
    def ok(self) -> bool:
        return self.divergence is None


_Problem = tuple[str, str, str]  # what, expected, found


class _MalformedError(Exception):
    """A booking event whose data cannot be read."""


@dataclass(frozen=True, slots=True)
class _BookingEvent:
    booking: int
    event: str
    source: str | None
    actor: str
    facts: BookingFacts


def replay(
    entries: Iterable[StoredEntry],
    checkpoints: Iterable[StoredCheckpoint],
    *,
    open_checkpoint: CheckpointOpener | None = None,
    state: StoredState | None = None,
) -> ReplayReport:
    """Replay `entries` (in stored seq order) against `checkpoints` (in size order).

    Both are consumed lazily, so callers can stream them; the replay stops reading at the first
    divergence. Without `open_checkpoint` signatures go unchecked but roots are still compared.
    """
    replayer = _Replayer(checkpoints, open_checkpoint)
    divergence = replayer.reach_checkpoints()
    stream = iter(entries)
    while divergence is None and (entry := next(stream, None)) is not None:
        divergence = replayer.add(entry)
    if divergence is None:
        divergence = replayer.finish(state)
    return replayer.report(divergence)


class _Replayer:
    """The fold: right edge, size, pending checkpoint and per-booking state."""

    def __init__(
        self, checkpoints: Iterable[StoredCheckpoint], opener: CheckpointOpener | None
    ) -> None:
        self.size = 0
        self.frontier: list[bytes] = []
        self.bookings: dict[int, ReplayedBooking] = {}
        self.booking_events = 0
        self.checkpoints = 0
        self.latest: SignedHead | None = None
        self._opener = opener
        self._stream: Iterator[StoredCheckpoint] = iter(checkpoints)
        self._pending = next(self._stream, None)

    def add(self, entry: StoredEntry) -> Divergence | None:
        if problem := _check_sequence(entry, self.size):
            return Divergence(min(entry.seq, self.size), Check.SEQUENCE, *problem)
        if problem := _check_payload(entry):
            return Divergence(entry.seq, Check.PAYLOAD, *problem)
        divergence = self._append(entry) or self.reach_checkpoints()
        if divergence is None and entry.kind == BOOKING_EVENT:
            divergence = self._fold(entry.seq, json.loads(entry.payload))
        return divergence

    def _append(self, entry: StoredEntry) -> Divergence | None:
        self.frontier, nodes = append_leaf(self.frontier, self.size, entry.leaf_hash)
        self.size += 1
        for node in nodes:
            stored = entry.subtrees.get((node.level, node.index))
            if stored != node.hash:
                problem = _subtree_problem(entry.seq, node.level, node.index, node.hash, stored)
                return Divergence(entry.seq, Check.SUBTREE, *problem)
        return None

    def reach_checkpoints(self) -> Divergence | None:
        """Check every checkpoint signed at the current size (the table allows one per size)."""
        while self._pending is not None and self._pending.size <= self.size:
            checkpoint = self._pending
            if checkpoint.size < self.size:
                raise ValueError("checkpoints must be given in increasing size order")
            problem = self._check_checkpoint(checkpoint)
            if problem:
                seq = checkpoint.size - 1 if checkpoint.size else None
                return Divergence(seq, Check.CHECKPOINT, *problem)
            self.checkpoints += 1
            self.latest = SignedHead(checkpoint.size, checkpoint.root_hash)
            self._pending = next(self._stream, None)
        return None

    def _check_checkpoint(self, checkpoint: StoredCheckpoint) -> _Problem | None:
        if self._opener is not None and (problem := _check_signature(checkpoint, self._opener)):
            return problem
        root = frontier_root(self.frontier)
        if checkpoint.root_hash == root:
            return None
        what = (
            f"the root recomputed over entries 0..{checkpoint.size - 1} disagrees with the one "
            f"signed in checkpoint {checkpoint.size}"
        )
        return what, root.hex(), checkpoint.root_hash.hex()

    def _fold(self, seq: int, body: Mapping[str, Any]) -> Divergence | None:
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
        self.booking_events += 1
        return None

    def finish(self, state: StoredState | None) -> Divergence | None:
        """After the last entry: checkpoints beyond the log, and the stored size and edge."""
        if self._pending is not None:
            size = self._pending.size
            what = f"checkpoint {size} signs {size} entries but only {self.size} are stored"
            return Divergence(self.size, Check.CHECKPOINT, what, str(size), str(self.size))
        if state is None or not (problem := _check_state(state, self.size, self.frontier)):
            return None
        seq = min(state.size, self.size) if state.size != self.size else self.size - 1
        return Divergence(seq if seq >= 0 else None, Check.STATE, *problem)

    def report(self, divergence: Divergence | None) -> ReplayReport:
        return ReplayReport(
            divergence=divergence,
            entries=self.size,
            booking_events=self.booking_events,
            checkpoints=self.checkpoints,
            root=frontier_root(self.frontier),
            latest_checkpoint=self.latest,
            bookings=self.bookings,
        )


def _check_sequence(entry: StoredEntry, size: int) -> _Problem | None:
    # Runs before the payload checks: a gap means entry `size` is missing, which comes before
    # anything wrong with the entry at hand.
    if entry.seq > size:
        return (
            f"entry {size} is missing: the next stored entry is {entry.seq}",
            str(size),
            str(entry.seq),
        )
    if entry.seq < size:
        return (
            f"entry {entry.seq} comes again, or out of order, after entry {size - 1}",
            str(size),
            str(entry.seq),
        )
    return None


def _check_payload(entry: StoredEntry) -> _Problem | None:
    computed = leaf_hash(entry.payload.encode())
    if computed != entry.leaf_hash:
        what = "the payload does not hash to the stored leaf hash: payload or hash was edited"
        return what, computed.hex(), entry.leaf_hash.hex()
    try:
        body = json.loads(entry.payload)
    except json.JSONDecodeError as exc:
        return f"the payload is not JSON: {exc}", "a JSON object", entry.payload[:80]
    if not isinstance(body, dict):
        return "the payload is not a JSON object", "a JSON object", entry.payload[:80]
    # kind and subject are copied into columns for lookups; the hash covers only the payload.
    for column, value in (("kind", entry.kind), ("subject", entry.subject)):
        if body.get(column) != value:
            return f"the {column} column disagrees with the payload", str(body.get(column)), value
    return None


def _subtree_problem(
    seq: int, level: int, index: int, computed: bytes, stored: bytes | None
) -> _Problem:
    found = stored.hex() if stored is not None else "no stored hash"
    if level == 0:
        what = (
            f"the tree holds a different leaf at position {seq}: entries were reordered, "
            "or a payload and its leaf hash were edited together"
        )
    else:
        first, last = index << level, ((index + 1) << level) - 1
        what = (
            f"the stored hash of subtree level {level} index {index} (entries {first}..{last}) "
            + ("is missing" if stored is None else "disagrees with the one recomputed")
        )
    return what, computed.hex(), found


def _check_signature(checkpoint: StoredCheckpoint, opener: CheckpointOpener) -> _Problem | None:
    try:
        head = opener(checkpoint.note)
    except LedgerError as exc:
        what = f"checkpoint {checkpoint.size} does not verify: {exc}"
        return what, "a valid signature by the log's key", "none"
    if (head.size, head.root_hash) == (checkpoint.size, checkpoint.root_hash):
        return None
    what = f"checkpoint {checkpoint.size}: its size or root column disagrees with its signed note"
    return (
        what,
        f"{head.size} {head.root_hash.hex()}",
        f"{checkpoint.size} {checkpoint.root_hash.hex()}",
    )


def _check_state(state: StoredState, size: int, frontier: Sequence[bytes]) -> _Problem | None:
    if state.size != size:
        what = f"the ledger state counts {state.size} entries but {size} are stored"
        return what, str(size), str(state.size)
    if list(state.frontier) != list(frontier):
        what = "the stored right edge of the tree, which the next append builds on, disagrees"
        return what, " ".join(h.hex() for h in frontier), " ".join(h.hex() for h in state.frontier)
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
