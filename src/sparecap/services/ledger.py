"""The verifiable ledger: appending entries in the caller's transaction, signing checkpoints,
and reading receipts, consistency proofs and evidence bundles."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, event, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from sparecap.db.models import LedgerCheckpoint, LedgerEntry, LedgerNode, LedgerState
from sparecap.domain.ledger.checkpoint import Checkpoint, sign_checkpoint
from sparecap.domain.ledger.entries import append_leaf, entry_leaf, frontier_root
from sparecap.domain.ledger.note import NoteSigner
from sparecap.domain.ledger.proofs import (
    NodeID,
    ProofRequestError,
    consistency_proof,
    inclusion_proof,
)
from sparecap.services.errors import ConflictError, InvalidInputError, NotFoundError

ENTRY_VERSION = 1
_STATE_KEY = "sparecap.ledger_state"


def append_entry(
    session: Session, *, kind: str, subject: str, at: datetime, data: Mapping[str, Any]
) -> int:
    """Add an entry to the log inside the caller's transaction; returns its sequence number.

    The change and its entry commit or roll back together. The state row is locked first, so on
    PostgreSQL appends queue in order and sequence numbers have no gaps.
    """
    state = _locked_state(session)
    entry = {
        "v": ENTRY_VERSION,
        "kind": kind,
        "subject": subject,
        "at": at.isoformat(),
        "data": dict(data),
    }
    payload, leaf = entry_leaf(entry)
    seq = state.size
    frontier, nodes = append_leaf([bytes.fromhex(h) for h in state.frontier], seq, leaf)
    session.add(
        LedgerEntry(
            seq=seq,
            kind=kind,
            subject=subject,
            payload=payload.decode(),
            leaf_hash=leaf,
            created_at=at,
        )
    )
    session.add_all(LedgerNode(level=n.level, index=n.index, hash=n.hash) for n in nodes)
    state.size = seq + 1
    state.frontier = [h.hex() for h in frontier]
    return seq


def _locked_state(session: Session) -> LedgerState:
    """The state row, locked once per transaction (later appends in it reuse the lock)."""
    state = session.info.get(_STATE_KEY)
    if state is None:
        state = session.scalar(select(LedgerState).where(LedgerState.id == 1).with_for_update())
        assert state is not None, "migration 0002 creates the ledger state row"
        session.info[_STATE_KEY] = state
        # A savepoint rolled back, or the transaction ended: the cached row may be stale.
        event.listen(session, "after_soft_rollback", _forget_state, once=True)
        event.listen(session, "after_transaction_end", _forget_state, once=True)
    return state


def _forget_state(session: Session, *_args: object) -> None:
    session.info.pop(_STATE_KEY, None)


def sign_latest(
    session: Session, *, signer: NoteSigner, origin: str, at: datetime
) -> LedgerCheckpoint:
    """Sign the current tree head unless it is signed already; returns the newest checkpoint."""
    state = session.get(LedgerState, 1)
    assert state is not None
    existing = session.get(LedgerCheckpoint, state.size)
    if existing is not None:
        return existing
    root = frontier_root([bytes.fromhex(h) for h in state.frontier])
    note = sign_checkpoint(Checkpoint(origin, state.size, root), [signer])
    checkpoint = LedgerCheckpoint(size=state.size, root_hash=root, note=note, created_at=at)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def latest_checkpoint(session: Session) -> LedgerCheckpoint:
    checkpoint = session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    )
    if checkpoint is None:
        raise NotFoundError("no checkpoint signed yet", code="no_checkpoint")
    return checkpoint


class _NodeReader:
    """Complete-subtree hashes from ledger_nodes, fetched in one query per proof."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def subtree_hashes(self, nodes: Sequence[NodeID]) -> Sequence[bytes]:
        if not nodes:
            return []
        pairs = [(n.level, n.index) for n in nodes]
        match: ColumnElement[bool]
        if self._session.get_bind().dialect.name == "postgresql":
            # One cached statement whatever the proof's length (an expanding tuple IN).
            match = tuple_(LedgerNode.level, LedgerNode.index).in_(pairs)
        else:
            # SQLite plans a tuple IN as a scan but an OR of key lookups as index probes.
            match = or_(*(and_(LedgerNode.level == lv, LedgerNode.index == ix) for lv, ix in pairs))
        rows = self._session.execute(
            select(LedgerNode.level, LedgerNode.index, LedgerNode.hash).where(match)
        )
        found = {(level, index): h for level, index, h in rows}
        return [found[(n.level, n.index)] for n in nodes]


def _b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def receipt(
    session: Session, *, seq: int, checkpoint: LedgerCheckpoint | None = None
) -> dict[str, Any]:
    """An entry with its inclusion proof in a signed checkpoint: verifiable offline."""
    entry = session.get(LedgerEntry, seq)
    if entry is None:
        raise NotFoundError(f"ledger entry {seq} not found", code="unknown_entry")
    checkpoint = checkpoint or latest_checkpoint(session)
    if seq >= checkpoint.size:
        raise ConflictError(
            f"entry {seq} is not in a signed checkpoint yet (size {checkpoint.size}); retry soon",
            code="not_yet_checkpointed",
        )
    proof = inclusion_proof(_NodeReader(session), seq, checkpoint.size)
    return {
        "seq": seq,
        "payload": entry.payload,
        "checkpoint": checkpoint.note,
        "inclusion_proof": _b64(proof),
    }


def consistency(session: Session, *, first: int, second: int) -> dict[str, Any]:
    state = session.get(LedgerState, 1)
    assert state is not None
    if not 0 < first <= second <= state.size:
        raise InvalidInputError(
            f"need 0 < first <= second <= {state.size}", code="invalid_tree_sizes"
        )
    try:
        proof = consistency_proof(_NodeReader(session), first, second)
    except ProofRequestError as exc:
        raise InvalidInputError(str(exc), code="invalid_tree_sizes") from exc
    return {"first": first, "second": second, "proof": _b64(proof)}


def evidence_bundle(
    session: Session, *, seqs: Sequence[int], origin: str, vkey: str
) -> dict[str, Any]:
    """Entries, their inclusion proofs and the checkpoint that covers them, in one document."""
    checkpoint = latest_checkpoint(session)
    return {
        "format": "sparecap-evidence/v1",
        "origin": origin,
        "verifier_key": vkey,
        "checkpoint": checkpoint.note,
        "entries": [
            _without_checkpoint(receipt(session, seq=s, checkpoint=checkpoint)) for s in seqs
        ],
    }


def _without_checkpoint(item: dict[str, Any]) -> dict[str, Any]:
    # The bundle carries its checkpoint once, at the top.
    return {k: v for k, v in item.items() if k != "checkpoint"}


def entries_about(session: Session, *, subject: str) -> list[int]:
    """Sequence numbers of the entries about one subject ("booking:42"), in log order."""
    query = select(LedgerEntry.seq).where(LedgerEntry.subject == subject).order_by(LedgerEntry.seq)
    return list(session.scalars(query))
