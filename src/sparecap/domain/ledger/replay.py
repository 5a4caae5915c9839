"""Replaying the log: recompute its tree, hand each entry to its feature's replay, and name the
first divergence.

The replay folds entries one at a time and keeps only the log's right edge and the next pending
checkpoint; each feature's replay (bookings in replay_bookings.py; money and others beside it)
keeps its own small state per subject, so the whole runs in memory that does not grow with the
log. Every check reports the entry it concerns; the first failing check stops the replay,
because after a divergence nothing later in the log can be trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from sparecap.domain.ledger.entries import append_leaf, frontier_root
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import leaf_hash


class Check(StrEnum):
    """Which check found the divergence, in the order they run for each entry."""

    SEQUENCE = "sequence"  # a missing, repeated or out-of-order sequence number
    PAYLOAD = "payload"  # payload vs its leaf hash, its columns, its JSON
    SUBTREE = "subtree"  # a stored complete-subtree hash vs the recomputed one
    CHECKPOINT = "checkpoint"  # a signed tree head: signature, row, root at its size
    TRANSITION = "transition"  # an entry its feature's rules cannot produce
    STATE = "state"  # the stored size and right edge vs the replayed ones
    BOOKING = "booking"  # a bookings row vs the state the log leaves it in
    BALANCE = "balance"  # an account's balance in the journal vs the one the log adds up to


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


class EntryReplay(Protocol):
    """A feature's replay: folds the entries of its kinds, in log order, into the state it later
    compares with its tables; returns the divergence an entry shows, if any."""

    @property
    def kinds(self) -> frozenset[str]: ...

    def fold(self, seq: int, body: Mapping[str, Any]) -> Divergence | None: ...


_R = TypeVar("_R", bound=EntryReplay)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    divergence: Divergence | None
    entries: int  # entries replayed before the first divergence (all of them when ok)
    checkpoints: int  # checkpoints whose root (and signature, given an opener) agreed
    root: bytes  # root of the replayed entries
    latest_checkpoint: SignedHead | None
    replays: tuple[EntryReplay, ...]

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def replay_of(self, kind: type[_R]) -> _R:
        """The feature replay of this type that took part, with its folded state."""
        for candidate in self.replays:
            if isinstance(candidate, kind):
                return candidate
        raise LookupError(f"no {kind.__name__} took part in this replay")


_Problem = tuple[str, str, str]  # what, expected, found


def replay(
    entries: Iterable[StoredEntry],
    checkpoints: Iterable[StoredCheckpoint],
    *,
    open_checkpoint: CheckpointOpener | None = None,
    state: StoredState | None = None,
    replays: Sequence[EntryReplay] = (),
) -> ReplayReport:
    """Replay `entries` (in stored seq order) against `checkpoints` (in size order), handing each
    entry whose kind one of `replays` claims to that feature's replay.

    Both are consumed lazily, so callers can stream them; the replay stops reading at the first
    divergence. Without `open_checkpoint` signatures go unchecked but roots are still compared.
    """
    replayer = _Replayer(checkpoints, open_checkpoint, replays)
    divergence = replayer.reach_checkpoints()
    stream = iter(entries)
    while divergence is None and (entry := next(stream, None)) is not None:
        divergence = replayer.add(entry)
    if divergence is None:
        divergence = replayer.finish(state)
    return replayer.report(divergence)


class _Replayer:
    """The fold: right edge, size and pending checkpoint; features fold their own state."""

    def __init__(
        self,
        checkpoints: Iterable[StoredCheckpoint],
        opener: CheckpointOpener | None,
        replays: Sequence[EntryReplay],
    ) -> None:
        self.size = 0
        self.frontier: list[bytes] = []
        self.replays = tuple(replays)
        self._by_kind: dict[str, EntryReplay] = {}
        for feature in self.replays:
            for kind in feature.kinds:
                if self._by_kind.setdefault(kind, feature) is not feature:
                    raise ValueError(f"two replays claim entries of kind {kind!r}")
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
        feature = self._by_kind.get(entry.kind)
        if divergence is None and feature is not None:
            divergence = feature.fold(entry.seq, json.loads(entry.payload))
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
            checkpoints=self.checkpoints,
            root=frontier_root(self.frontier),
            latest_checkpoint=self.latest,
            replays=self.replays,
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
