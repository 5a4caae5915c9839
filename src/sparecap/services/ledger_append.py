"""Appending to the verifiable log inside the caller's transaction, with batched writes.

An append computes everything at once (the leaf, the subtrees it completes, the new right edge),
so it can return the entry's sequence number, but its rows wait in `session.info` and reach the
database in one executemany per table: when the transaction or a savepoint commits, or just
before the session runs any other statement (so reads in the same transaction see them, as
autoflush would). The ORM is not involved: an object per entry and per subtree hash cost ten
times more than the hashing, and these rows are written once and never change.

Savepoints are honoured: rolling one back drops the entries appended inside it, and restores
the rows it had written, so "no change without its entry" holds for partial rollbacks too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from sparecap.db.bulk import insert_rows
from sparecap.db.models import LedgerEntry, LedgerNode, LedgerState
from sparecap.domain.ledger.entries import entry_leaf, push_leaf

ENTRY_VERSION = 1
_BUFFER_KEY = "sparecap.ledger_buffer"
_HOOKED_KEY = "sparecap.ledger_hooks"
_ENTRIES = cast(Table, LedgerEntry.__table__)
_NODES = cast(Table, LedgerNode.__table__)
_STATE = cast(Table, LedgerState.__table__)
_ENTRY_COLUMNS = ("seq", "kind", "subject", "payload", "leaf_hash", "created_at")
_NODE_COLUMNS = ("level", "index", "hash")


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One entry for `append_entries`: the same fields `append_entry` takes."""

    kind: str
    subject: str
    at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Mark:
    """The buffer as a savepoint found it, to go back to if the savepoint rolls back."""

    size: int
    frontier: tuple[bytes, ...]
    entries: int
    nodes: int
    written_entries: int
    written_nodes: int


class _Buffer:
    """This transaction's view of the log's head and its rows, written and not yet written.

    Rows stay listed after they are written only while a savepoint is open, since rolling that
    savepoint back un-writes them.
    """

    def __init__(self, size: int, frontier: list[bytes]) -> None:
        self.size = size
        self.frontier = frontier
        self.entries: list[tuple[Any, ...]] = []  # rows of _ENTRY_COLUMNS
        self.nodes: list[tuple[int, int, bytes]] = []  # rows of _NODE_COLUMNS
        self.written_entries = 0
        self.written_nodes = 0
        self.marks: dict[SessionTransaction, _Mark] = {}
        self.committing = False  # the outermost commit has begun: write each append at once
        # Entries of one transaction mostly share its instant; formatting it costs 2-3 µs.
        self._last_at: tuple[datetime, str] | None = None

    def add(self, kind: str, subject: str, at: datetime, data: Mapping[str, Any]) -> int:
        payload, leaf = entry_leaf(
            {
                "v": ENTRY_VERSION,
                "kind": kind,
                "subject": subject,
                "at": self._iso(at),
                "data": dict(data),
            }
        )
        seq = self.size
        push_leaf(self.frontier, seq, leaf, self.nodes)
        self.entries.append((seq, kind, subject, payload.decode(), leaf, at))
        self.size = seq + 1
        return seq

    def _iso(self, at: datetime) -> str:
        if self._last_at is None or self._last_at[0] is not at:
            self._last_at = (at, at.isoformat())
        return self._last_at[1]

    @property
    def unwritten(self) -> bool:
        return self.written_entries < len(self.entries)

    def mark(self) -> _Mark:
        return _Mark(
            self.size,
            tuple(self.frontier),
            len(self.entries),
            len(self.nodes),
            self.written_entries,
            self.written_nodes,
        )

    def restore(self, mark: _Mark) -> None:
        # The database went back to the savepoint too, so what was written then is all that is.
        self.size, self.frontier = mark.size, list(mark.frontier)
        del self.entries[mark.entries :], self.nodes[mark.nodes :]
        self.written_entries, self.written_nodes = mark.written_entries, mark.written_nodes


def append_entry(
    session: Session, *, kind: str, subject: str, at: datetime, data: Mapping[str, Any]
) -> int:
    """Add an entry to the log inside the caller's transaction; returns its sequence number.

    The change and its entry commit or roll back together. The state row is locked at the first
    append of a transaction, so on PostgreSQL appends queue in order and sequence numbers have
    no gaps.
    """
    buffer = _buffer(session)
    seq = buffer.add(kind, subject, at, data)
    _write_if_committing(session, buffer)
    return seq


def append_entries(session: Session, entries: Sequence[NewEntry]) -> list[int]:
    """Add several entries in order (one buffer lookup); returns their sequence numbers."""
    buffer = _buffer(session)
    seqs = [buffer.add(e.kind, e.subject, e.at, e.data) for e in entries]
    _write_if_committing(session, buffer)
    return seqs


def _write_if_committing(session: Session, buffer: _Buffer) -> None:
    if buffer.committing:
        # Appended from a flush hook during the final commit: our before_commit has already run.
        write_pending(session)


def write_pending(session: Session) -> None:
    """Write the entries appended so far in this transaction (a no-op when there are none)."""
    buffer: _Buffer | None = session.info.get(_BUFFER_KEY)
    if buffer is None:
        return
    if buffer.unwritten:
        connection = session.connection()
        insert_rows(connection, _ENTRIES, _ENTRY_COLUMNS, buffer.entries[buffer.written_entries :])
        insert_rows(connection, _NODES, _NODE_COLUMNS, buffer.nodes[buffer.written_nodes :])
        connection.execute(
            update(_STATE)
            .where(_STATE.c.id == 1)
            .values(size=buffer.size, frontier=[h.hex() for h in buffer.frontier])
        )
        buffer.written_entries, buffer.written_nodes = len(buffer.entries), len(buffer.nodes)
    if not session.in_nested_transaction():
        # No savepoint is left that could un-write them: the rows need not be kept.
        buffer.entries.clear()
        buffer.nodes.clear()
        buffer.written_entries = buffer.written_nodes = 0
        buffer.marks.clear()


def _buffer(session: Session) -> _Buffer:
    buffer: _Buffer | None = session.info.get(_BUFFER_KEY)
    if buffer is None:
        _hook(session)
        size, frontier = session.execute(
            select(_STATE.c.size, _STATE.c.frontier).where(_STATE.c.id == 1).with_for_update()
        ).one()
        buffer = _Buffer(size, [bytes.fromhex(h) for h in frontier])
        session.info[_BUFFER_KEY] = buffer
    return buffer


def _hook(session: Session) -> None:
    """Listen to this session's transactions (once per session; sessions are short-lived)."""
    if session.info.get(_HOOKED_KEY):
        return
    session.info[_HOOKED_KEY] = True
    event.listen(session, "do_orm_execute", _before_statement)
    event.listen(session, "before_commit", _before_commit)
    event.listen(session, "after_transaction_create", _savepoint_started)
    event.listen(session, "after_soft_rollback", _rolled_back)
    event.listen(session, "after_transaction_end", _transaction_ended)


def _before_statement(state: ORMExecuteState) -> None:
    buffer: _Buffer | None = state.session.info.get(_BUFFER_KEY)
    if buffer is not None and buffer.unwritten:
        write_pending(state.session)


def _before_commit(session: Session) -> None:
    write_pending(session)
    buffer: _Buffer | None = session.info.get(_BUFFER_KEY)
    if buffer is not None and not session.in_nested_transaction():
        buffer.committing = True


def _savepoint_started(session: Session, transaction: SessionTransaction) -> None:
    buffer: _Buffer | None = session.info.get(_BUFFER_KEY)
    if buffer is not None and transaction.nested:
        buffer.marks[transaction] = buffer.mark()


def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    buffer: _Buffer | None = session.info.get(_BUFFER_KEY)
    if buffer is None or not transaction.nested:
        return
    mark = buffer.marks.pop(transaction, None)
    if mark is not None:
        buffer.restore(mark)
    else:
        # The buffer began inside this savepoint, and so did the state row's lock on
        # PostgreSQL, which the rollback released: start afresh at the next append.
        del session.info[_BUFFER_KEY]


def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_BUFFER_KEY, None)
