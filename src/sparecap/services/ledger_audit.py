"""Ledger audit: replay the whole stored log and check the bookings table and the journal's
account balances against it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sparecap.db.models import Booking, LedgerCheckpoint, LedgerEntry, LedgerNode, LedgerState
from sparecap.domain.ledger.checkpoint import open_checkpoint
from sparecap.domain.ledger.note import NoteVerifier
from sparecap.domain.ledger.replay import (
    CheckpointOpener,
    Divergence,
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
from sparecap.domain.ledger.replay_journal import JournalReplay, compare_balances
from sparecap.services.journal import public_balances

# Rows read per query: large enough that round trips do not dominate, small enough that a batch
# of payloads (a few hundred bytes each) stays well under a megabyte.
BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class LedgerAudit:
    """The outcome: the first divergence, or how much was checked and found in agreement."""

    divergence: Divergence | None
    entries: int  # entries replayed (up to the divergence, when there is one)
    bookings: int  # bookings rows that agree with the log
    differing_bookings: int
    accounts: int  # journal accounts whose balance agrees with the log (0 without a salt)
    root: bytes  # root over the replayed entries
    checkpoint: SignedHead | None  # the largest checkpoint whose root and signature agreed

    @property
    def ok(self) -> bool:
        return self.divergence is None


def audit_ledger(
    session: Session,
    *,
    verifiers: Sequence[NoteVerifier],
    origin: str,
    salt: bytes | None = None,
    batch_size: int = BATCH_SIZE,
) -> LedgerAudit:
    """Replay every entry from the database and compare the outcome with the bookings table.

    Call it on a fresh session: it first pins one snapshot, so entries appended while it runs
    cannot make the log and the bookings table seem to disagree. Without `verifiers` checkpoint
    signatures go unchecked (their roots still are). Memory holds one batch, the tree's right
    edge and one small state per booking. With the pseudonym `salt`, account balances are
    compared too (the log names people's accounts by pseudonym only).
    """
    if session.get_bind().dialect.name == "postgresql":
        # Read-only, so REPEATABLE READ never fails to serialise; SQLite's WAL readers already
        # see one snapshot from their first read.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    opener = _opener(verifiers, origin) if verifiers else None
    bookings, journal = BookingReplay(), JournalReplay()
    report = replay(
        _entries(session, batch_size),
        _checkpoints(session, batch_size),
        open_checkpoint=opener,
        state=_state(session),
        replays=[bookings, journal],
    )
    divergence, agreeing, differing = report.divergence, 0, 0
    if divergence is None:
        divergence, agreeing, differing = _compare_bookings(session, bookings.bookings, batch_size)
    accounts = 0
    if divergence is None and salt is not None:
        stored = public_balances(session, salt=salt)
        divergence = compare_balances(journal.balances, stored)
        accounts = len(stored) if divergence is None else 0
    return LedgerAudit(
        divergence=divergence,
        entries=report.entries,
        bookings=agreeing,
        differing_bookings=differing,
        accounts=accounts,
        root=report.root,
        checkpoint=report.latest_checkpoint,
    )


def _opener(verifiers: Sequence[NoteVerifier], origin: str) -> CheckpointOpener:
    def open_signed(note: str) -> SignedHead:
        checkpoint = open_checkpoint(note, verifiers, origin=origin)
        return SignedHead(checkpoint.size, checkpoint.root_hash)

    return open_signed


def _state(session: Session) -> StoredState | None:
    state = session.get(LedgerState, 1)
    if state is None:
        return None
    return StoredState(state.size, [bytes.fromhex(h) for h in state.frontier])


def _entries(session: Session, batch_size: int) -> Iterator[StoredEntry]:
    """Entries in seq order, a batch per query (keyset pages on the primary key)."""
    columns = (LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.subject, LedgerEntry.payload)
    query = select(*columns, LedgerEntry.leaf_hash).order_by(LedgerEntry.seq).limit(batch_size)
    page = query
    while rows := session.execute(page).all():
        subtrees = _subtrees_completed(session, rows[0].seq, rows[-1].seq)
        for seq, kind, subject, payload, leaf in rows:
            yield StoredEntry(seq, kind, subject, payload, bytes(leaf), subtrees.get(seq, {}))
        page = query.where(LedgerEntry.seq > rows[-1].seq)


def _subtrees_completed(
    session: Session, first: int, last: int
) -> Mapping[int, dict[tuple[int, int], bytes]]:
    """Stored subtree hashes, grouped by the entry that completes them, for entries first..last.

    Subtree (level, index) covers entries [index << level, (index + 1) << level), so the entry
    that completes it is ((index + 1) << level) - 1; one index range per level selects them.
    """
    ranges = []
    for level in range((last + 1).bit_length()):
        low = -(-(first + 1) >> level) - 1  # ceil((first + 1) / 2**level) - 1
        high = ((last + 1) >> level) - 1
        if low <= high:
            ranges.append(and_(LedgerNode.level == level, LedgerNode.index.between(low, high)))
    grouped: defaultdict[int, dict[tuple[int, int], bytes]] = defaultdict(dict)
    if not ranges:
        return grouped
    rows = session.execute(
        select(LedgerNode.level, LedgerNode.index, LedgerNode.hash).where(or_(*ranges))
    )
    for level, index, digest in rows:
        grouped[((index + 1) << level) - 1][(level, index)] = bytes(digest)
    return grouped


def _checkpoints(session: Session, batch_size: int) -> Iterator[StoredCheckpoint]:
    columns = (LedgerCheckpoint.size, LedgerCheckpoint.root_hash, LedgerCheckpoint.note)
    query = select(*columns).order_by(LedgerCheckpoint.size).limit(batch_size)
    page = query
    while rows := session.execute(page).all():
        for size, root, note in rows:
            yield StoredCheckpoint(size, bytes(root), note)
        page = query.where(LedgerCheckpoint.size > rows[-1].size)


def _compare_bookings(
    session: Session, replayed: Mapping[int, ReplayedBooking], batch_size: int
) -> tuple[Divergence | None, int, int]:
    """The earliest-pinned differing booking, and how many rows agree and differ.

    Every row is read, so the one reported is the one whose last entry comes first in the log,
    not merely the lowest booking id.
    """
    first: Divergence | None = None
    agreeing = differing = 0
    unseen = set(replayed)
    for booking_id, row in _booking_rows(session, batch_size):
        unseen.discard(booking_id)
        divergence = compare_booking(booking_id, replayed.get(booking_id), row)
        if divergence is None:
            agreeing += 1
            continue
        differing += 1
        first = _earlier(first, divergence)
    for booking_id in sorted(unseen):
        differing += 1
        first = _earlier(first, compare_booking(booking_id, replayed[booking_id], None))
    return first, agreeing, differing


def _earlier(current: Divergence | None, new: Divergence | None) -> Divergence | None:
    """The divergence pinned to the earlier entry; one pinned to no entry comes last."""
    if current is None or new is None:
        return current or new
    if new.seq is not None and (current.seq is None or new.seq < current.seq):
        return new
    return current


def _booking_rows(session: Session, batch_size: int) -> Iterator[tuple[int, BookingFacts]]:
    columns = (
        Booking.id,
        Booking.status,
        Booking.unit_id,
        Booking.start_at,
        Booking.end_at,
        Booking.quantity,
        Booking.price_minor,
        Booking.currency,
    )
    query = select(*columns).order_by(Booking.id).limit(batch_size)
    page = query
    while rows := session.execute(page).all():
        for booking_id, status, unit, start, end, quantity, price, currency in rows:
            yield booking_id, BookingFacts(status, unit, start, end, quantity, price, currency)
        page = query.where(Booking.id > rows[-1].id)
