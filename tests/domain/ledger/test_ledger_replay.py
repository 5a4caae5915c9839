"""Replaying a log: a clean log agrees, and every kind of tampering is pinned to its first entry."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from sparecap.domain.ledger.entries import append_leaf, entry_leaf, frontier_root
from sparecap.domain.ledger.merkle import leaf_hash, root_from_leaf_hashes
from sparecap.domain.ledger.note import Ed25519NoteSigner
from sparecap.domain.ledger.replay import (
    Check,
    CheckpointOpener,
    ReplayReport,
    SignedHead,
    StoredCheckpoint,
    StoredEntry,
    StoredState,
    replay,
)
from sparecap.domain.ledger.replay_bookings import (
    BookingFacts,
    BookingReplay,
    ReplayedBooking,
    compare_booking,
)

ORIGIN = "test.example/log"
SIGNER = Ed25519NoteSigner(ORIGIN, bytes(range(32)))
TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def opener(signer: Ed25519NoteSigner = SIGNER) -> CheckpointOpener:
    def open_signed(note: str) -> SignedHead:
        checkpoint = open_checkpoint(note, [signer.verifier()], origin=ORIGIN)
        return SignedHead(checkpoint.size, checkpoint.root_hash)

    return open_signed


class Log:
    """An in-memory log built the way services/ledger.append_entry builds the stored one."""

    def __init__(self) -> None:
        self.rows: list[StoredEntry] = []  # without their subtrees, which `stored` attaches
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.frontier: list[bytes] = []
        self.checkpoints: list[StoredCheckpoint] = []

    def append(self, kind: str, subject: str, data: dict[str, Any]) -> int:
        entry = {"v": 1, "kind": kind, "subject": subject, "at": TEN.isoformat(), "data": data}
        payload, leaf = entry_leaf(entry)
        seq = len(self.rows)
        self.frontier, nodes = append_leaf(self.frontier, seq, leaf)
        self.nodes.update(((n.level, n.index), n.hash) for n in nodes)
        self.rows.append(StoredEntry(seq, kind, subject, payload.decode(), leaf, {}))
        return seq

    def event(self, booking: int, event: str, source: str | None, target: str, **data: Any) -> int:
        return self.append(
            "booking.event",
            f"booking:{booking}",
            event_data(booking, event, source, target, **data),
        )

    def sign(self) -> None:
        size, root = len(self.rows), frontier_root(self.frontier)
        note = sign_checkpoint(Checkpoint(ORIGIN, size, root), [SIGNER])
        self.checkpoints.append(StoredCheckpoint(size, root, note))

    def stored(self) -> list[StoredEntry]:
        by_end: dict[int, dict[tuple[int, int], bytes]] = {}
        for (level, index), digest in self.nodes.items():
            by_end.setdefault(((index + 1) << level) - 1, {})[(level, index)] = digest
        return [edit(row, subtrees=by_end.get(row.seq, {})) for row in self.rows]

    def state(self) -> StoredState:
        return StoredState(len(self.rows), list(self.frontier))

    def replay(self, entries: list[StoredEntry] | None = None, **kwargs: Any) -> ReplayReport:
        kwargs.setdefault("open_checkpoint", opener())
        kwargs.setdefault("state", self.state())
        kwargs.setdefault("replays", [BookingReplay()])
        return replay(self.stored() if entries is None else entries, self.checkpoints, **kwargs)


def event_data(
    booking: int,
    event: str,
    source: str | None,
    target: str,
    *,
    start: datetime = TEN,
    hours: int = 1,
    unit: int = 1,
    price: int = 4000,
    actor: str = "demander",
) -> dict[str, Any]:
    end = start + timedelta(hours=hours)
    return {
        "booking": booking, "resource": 1, "unit": unit, "event": event, "from": source,
        "to": target, "start": start.isoformat(), "end": end.isoformat(),
        "quantity": 1, "price_minor": price, "currency": "CNY", "actor_role": actor,
        "actor": "a" * 32, "demander": "d" * 32, "reason_hash": None,
    }  # fmt: skip


def clean_log() -> Log:
    """Three bookings (one cancelled, one rescheduled), another kind of entry, two checkpoints."""
    log = Log()
    log.event(1, "hold", None, "held")
    log.event(1, "book", "held", "confirmed")
    log.event(2, "hold", None, "held", start=TEN + timedelta(hours=2))
    log.sign()  # size 3: in the middle of a subtree
    log.event(2, "book", "held", "confirmed", start=TEN + timedelta(hours=2))
    log.append("evidence.record", "evidence:1", {"digest": "00" * 32})
    log.event(2, "cancel", "confirmed", "cancelled", start=TEN + timedelta(hours=2))
    log.event(3, "hold", None, "held", unit=2)
    log.event(3, "book", "held", "confirmed", unit=2)
    moved = TEN + timedelta(hours=4)
    log.event(3, "reschedule", "confirmed", "confirmed", unit=2, start=moved, hours=2, price=8000)
    log.sign()
    return log


def test_a_clean_log_replays_to_its_roots_and_booking_states() -> None:
    log = clean_log()
    report = log.replay()
    assert report.ok, report.divergence
    bookings = report.replay_of(BookingReplay)
    assert report.entries == 9 and bookings.events == 8 and report.checkpoints == 2
    assert report.root == root_from_leaf_hashes([row.leaf_hash for row in log.rows])
    assert report.latest_checkpoint == SignedHead(9, report.root)
    states = {b: (r.facts.status, r.last_seq) for b, r in bookings.bookings.items()}
    assert states == {1: ("confirmed", 1), 2: ("cancelled", 5), 3: ("confirmed", 8)}
    moved = bookings.bookings[3].facts
    assert (moved.start, moved.end, moved.price_minor) == (
        TEN + timedelta(hours=4), TEN + timedelta(hours=6), 8000,
    )  # fmt: skip


def test_an_empty_log_agrees_with_a_checkpoint_of_the_empty_tree() -> None:
    log = Log()
    log.sign()
    report = log.replay()
    assert report.ok and report.entries == 0 and report.checkpoints == 1


def edit(entry: StoredEntry, **changes: Any) -> StoredEntry:
    return dataclasses.replace(entry, **changes)


def test_an_edited_payload_is_pinned_to_its_entry() -> None:
    log = clean_log()
    entries = log.stored()
    entries[5] = edit(entries[5], payload=entries[5].payload.replace("confirmed", "held"))
    d = log.replay(entries).divergence
    assert d is not None and (d.seq, d.check) == (5, Check.PAYLOAD)
    assert "does not hash to the stored leaf hash" in d.what
    assert d.found == entries[5].leaf_hash.hex()


def test_a_payload_edited_with_its_leaf_hash_disagrees_with_the_stored_tree() -> None:
    log = clean_log()
    entries = log.stored()
    forged = entries[4].payload.replace("00", "11")
    entries[4] = edit(entries[4], payload=forged, leaf_hash=leaf_hash(forged.encode()))
    d = log.replay(entries).divergence
    assert d is not None and (d.seq, d.check) == (4, Check.SUBTREE)
    assert "different leaf at position 4" in d.what


def test_a_missing_entry_is_named_before_anything_wrong_after_it() -> None:
    log = clean_log()
    entries = log.stored()
    entries[6] = edit(entries[6], payload="{}")  # a later edit must not hide the gap
    del entries[2]
    d = log.replay(entries).divergence
    assert d is not None and (d.seq, d.check) == (2, Check.SEQUENCE)
    assert d.what == "entry 2 is missing: the next stored entry is 3"


def test_a_repeated_or_reordered_sequence_number_is_named() -> None:
    log = clean_log()
    entries = log.stored()
    d = log.replay([*entries[:4], entries[3], *entries[4:]]).divergence
    assert d is not None and (d.seq, d.check) == (3, Check.SEQUENCE) and "comes again" in d.what
    d = log.replay([*entries[:2], entries[3], entries[2], *entries[4:]]).divergence
    assert d is not None and (d.seq, d.check) == (2, Check.SEQUENCE) and "missing" in d.what


def test_two_entries_swapped_in_place_are_caught_at_the_first() -> None:
    log = clean_log()
    entries = log.stored()
    # Swapping the seq columns of two rows: each keeps its own payload and leaf hash.
    entries[2], entries[6] = (
        edit(entries[6], seq=2, subtrees=entries[2].subtrees),
        edit(entries[2], seq=6, subtrees=entries[6].subtrees),
    )
    d = log.replay(entries).divergence
    assert d is not None and (d.seq, d.check) == (2, Check.SUBTREE)


@pytest.mark.parametrize("missing", [False, True])
def test_an_edited_or_missing_subtree_hash_is_pinned_to_the_entry_completing_it(
    missing: bool,
) -> None:
    log = clean_log()
    if missing:
        del log.nodes[(1, 1)]
    else:
        log.nodes[(1, 1)] = b"\x07" * 32
    d = log.replay().divergence
    assert d is not None and (d.seq, d.check) == (3, Check.SUBTREE)
    assert "subtree level 1 index 1 (entries 2..3)" in d.what
    assert ("is missing" in d.what) is missing


def signed(checkpoint: StoredCheckpoint, signer: Ed25519NoteSigner = SIGNER) -> StoredCheckpoint:
    """The same row with its note signed again over the row's own size and root."""
    body = Checkpoint(ORIGIN, checkpoint.size, checkpoint.root_hash)
    return dataclasses.replace(checkpoint, note=sign_checkpoint(body, [signer]))


def test_a_checkpoint_over_another_root_is_caught_at_its_size() -> None:
    log = clean_log()
    wrong = b"\x01" * 32
    log.checkpoints[0] = signed(dataclasses.replace(log.checkpoints[0], root_hash=wrong))
    d = log.replay().divergence
    assert d is not None and (d.seq, d.check) == (2, Check.CHECKPOINT)
    assert "disagrees with the one signed in checkpoint 3" in d.what
    assert d.found == wrong.hex()


def test_a_checkpoint_signed_by_another_key_fails_only_when_signatures_are_checked() -> None:
    log = clean_log()
    log.checkpoints[1] = signed(log.checkpoints[1], Ed25519NoteSigner(ORIGIN, b"\x09" * 32))
    d = log.replay().divergence
    assert d is not None and (d.seq, d.check) == (8, Check.CHECKPOINT)
    assert "checkpoint 9 does not verify" in d.what
    assert log.replay(open_checkpoint=None).ok


def test_a_checkpoint_row_that_disagrees_with_its_note_is_caught() -> None:
    log = clean_log()
    log.checkpoints[0] = dataclasses.replace(log.checkpoints[0], root_hash=b"\x02" * 32)
    d = log.replay().divergence
    assert d is not None and (d.seq, d.check) == (2, Check.CHECKPOINT)
    assert "disagrees with its signed note" in d.what


def test_a_checkpoint_beyond_the_stored_log_names_the_first_missing_entry() -> None:
    log = clean_log()
    d = log.replay(log.stored()[:7]).divergence
    assert d is not None and (d.seq, d.check) == (7, Check.CHECKPOINT)
    assert d.what == "checkpoint 9 signs 9 entries but only 7 are stored"


def test_a_stored_state_that_disagrees_is_named() -> None:
    log = clean_log()
    d = log.replay(state=StoredState(10, log.frontier)).divergence
    assert d is not None and (d.seq, d.check) == (9, Check.STATE)
    d = log.replay(state=StoredState(9, [b"\x03" * 32])).divergence
    assert d is not None and (d.seq, d.check) == (8, Check.STATE)
    assert "right edge" in d.what


# (event, from, to, changed data) after hold and book, and what the replay says about it.
IMPOSSIBLE = {
    "wrong-source": (
        ("cancel", "held", "cancelled", {}),
        "cancel from a state the booking was not in",
    ),
    "not-allowed": (
        ("accept", "confirmed", "confirmed", {}),
        "accept is not allowed from confirmed",
    ),
    "wrong-target": (
        ("no_show", "confirmed", "completed", {}),
        "no_show from confirmed leads elsewhere",
    ),
    "wrong-actor": (
        ("cancel", "confirmed", "cancelled", {"actor": "system"}),
        "a system may not cancel",
    ),
    "changed-price": (
        ("cancel", "confirmed", "cancelled", {"price": 1}),
        "cancel changed its price_minor",
    ),
    "moved-unit": (
        ("reschedule", "confirmed", "confirmed", {"unit": 9}),
        "reschedule changed its unit",
    ),
    "second-hold": (("hold", None, "held", {}), "held a second time"),
    "unknown-event": (("teleport", "confirmed", "confirmed", {}), "unknown event"),
}


@pytest.mark.parametrize(("step", "message"), IMPOSSIBLE.values(), ids=IMPOSSIBLE.keys())
def test_an_impossible_transition_is_named(
    step: tuple[str, str | None, str, dict[str, Any]], message: str
) -> None:
    event, source, target, data = step
    log = Log()
    log.event(1, "hold", None, "held")
    log.event(1, "book", "held", "confirmed")
    log.event(1, event, source, target, **data)
    d = log.replay().divergence
    assert d is not None and (d.seq, d.check) == (2, Check.TRANSITION)
    assert d.what == f"booking 1: {message}"


def test_events_of_an_unknown_booking_and_unreadable_events_are_named() -> None:
    log = Log()
    log.event(4, "book", "held", "confirmed")
    d = log.replay().divergence
    assert d is not None and (d.seq, d.check) == (0, Check.TRANSITION)
    assert d.what == "booking 4: book of a booking no hold entry created"
    log = Log()
    log.append("booking.event", "booking:1", {"booking": 1, "event": "hold"})
    d = log.replay().divergence
    assert d is not None and d.what == "unreadable booking event: 'to' is missing or not text"


def facts(**changes: Any) -> BookingFacts:
    base = BookingFacts("confirmed", 1, TEN, TEN + timedelta(hours=1), 1, 4000, "CNY")
    return dataclasses.replace(base, **changes)


def test_a_bookings_row_is_compared_field_by_field_with_the_replayed_state() -> None:
    replayed = ReplayedBooking(facts(), last_seq=7)
    assert compare_booking(1, replayed, facts()) is None
    d = compare_booking(1, replayed, facts(status="cancelled"))
    assert d is not None and (d.seq, d.check, d.expected, d.found) == (
        7, Check.BOOKING, "confirmed", "cancelled",
    )  # fmt: skip
    assert "booking 1: its status in the bookings table differs" in d.what
    d = compare_booking(1, replayed, facts(end=TEN + timedelta(hours=2)))
    assert d is not None and d.found == "2026-03-03T04:00:00+00:00"
    d = compare_booking(1, replayed, None)
    assert d is not None and d.seq == 7 and "not in the bookings table" in d.what
    d = compare_booking(2, None, facts())
    assert d is not None and d.seq is None and "no log entry is about it" in d.what


@settings(max_examples=60, deadline=None)
@given(
    payloads=st.lists(st.integers(0, 10**6), min_size=2, max_size=40, unique=True),
    data=st.data(),
)
def test_any_single_edit_or_swap_is_pinned_to_the_first_entry_it_touches(
    payloads: list[int], data: st.DataObject
) -> None:
    log = Log()
    for n in payloads:
        log.append("note", "n", {"n": n})
    assert log.replay().root == root_from_leaf_hashes([row.leaf_hash for row in log.rows])
    entries = log.stored()
    i = data.draw(st.integers(0, len(entries) - 1))
    edited = list(entries)
    edited[i] = edit(entries[i], payload=json.dumps({"kind": "note", "subject": "n"}))
    d = log.replay(edited).divergence
    assert d is not None and (d.seq, d.check) == (i, Check.PAYLOAD)
    j = data.draw(st.integers(0, len(entries) - 1).filter(lambda j: j != i))
    swapped = list(entries)
    # The stored subtree hashes stay where they are: they belong to positions, not rows.
    swapped[i] = edit(entries[j], seq=i, subtrees=entries[i].subtrees)
    swapped[j] = edit(entries[i], seq=j, subtrees=entries[j].subtrees)
    d = log.replay(swapped).divergence
    assert d is not None and (d.seq, d.check) == (min(i, j), Check.SUBTREE)
