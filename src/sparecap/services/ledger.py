"""The verifiable ledger: signing checkpoints and reading receipts, consistency proofs and
evidence bundles. Appending (in the caller's transaction) lives in ledger_append and is
re-exported here, where the other use cases have always imported it from."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.ledger import read_subtree_hashes
from sparecap.db.models import LedgerCheckpoint, LedgerEntry, LedgerState
from sparecap.domain.ledger.checkpoint import Checkpoint, sign_checkpoint
from sparecap.domain.ledger.entries import frontier_root
from sparecap.domain.ledger.note import NoteSigner
from sparecap.domain.ledger.proofs import (
    NodeID,
    ProofRequestError,
    consistency_proof,
    inclusion_proof,
)
from sparecap.services.errors import ConflictError, InvalidInputError, NotFoundError
from sparecap.services.ledger_append import (
    NewEntry,
    append_entries,
    append_entry,
    write_pending,
)

__all__ = ["NewEntry", "append_entries", "append_entry", "write_pending"]


def sign_latest(
    session: Session, *, signer: NoteSigner, origin: str, at: datetime
) -> LedgerCheckpoint:
    """Sign the current tree head unless it is signed already; returns the newest checkpoint."""
    write_pending(session)
    size, frontier = session.execute(
        select(LedgerState.size, LedgerState.frontier).where(LedgerState.id == 1)
    ).one()
    existing = session.get(LedgerCheckpoint, size)
    if existing is not None:
        return existing
    root = frontier_root([bytes.fromhex(h) for h in frontier])
    note = sign_checkpoint(Checkpoint(origin, size, root), [signer])
    checkpoint = LedgerCheckpoint(size=size, root_hash=root, note=note, created_at=at)
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
        keys = [(n.level, n.index) for n in nodes]
        found = read_subtree_hashes(self._session.connection(), keys)
        return [found[key] for key in keys]


def inclusion_proof_at(session: Session, *, seq: int, size: int) -> list[bytes]:
    """The audit path of entry `seq` in the tree of the first `size` entries (one query)."""
    return inclusion_proof(_NodeReader(session), seq, size)


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
    proof = inclusion_proof_at(session, seq=seq, size=checkpoint.size)
    return {
        "seq": seq,
        "payload": entry.payload,
        "checkpoint": checkpoint.note,
        "inclusion_proof": _b64(proof),
    }


def consistency(session: Session, *, first: int, second: int) -> dict[str, Any]:
    proof = consistency_hashes(session, first=first, second=second)
    return {"first": first, "second": second, "proof": _b64(proof)}


def consistency_hashes(session: Session, *, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]): the tree of `first` entries is a prefix of that of `second`."""
    state = session.get(LedgerState, 1)
    assert state is not None
    if not 0 < first <= second <= state.size:
        raise InvalidInputError(
            f"need 0 < first <= second <= {state.size}", code="invalid_tree_sizes"
        )
    try:
        return consistency_proof(_NodeReader(session), first, second)
    except ProofRequestError as exc:
        raise InvalidInputError(str(exc), code="invalid_tree_sizes") from exc


def evidence_bundle(
    session: Session,
    *,
    seqs: Sequence[int],
    origin: str,
    vkey: str,
    checkpoint: LedgerCheckpoint | None = None,
) -> dict[str, Any]:
    """Entries, their inclusion proofs and the checkpoint that covers them, in one document.

    Without `checkpoint`, the newest one.
    """
    checkpoint = checkpoint or latest_checkpoint(session)
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
