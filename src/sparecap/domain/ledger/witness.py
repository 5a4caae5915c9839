"""Witness checks: a new checkpoint must extend the last one seen (no rollback, no fork)."""

from __future__ import annotations

from collections.abc import Sequence

from sparecap.domain.ledger.checkpoint import Checkpoint, OriginMismatchError, open_checkpoint
from sparecap.domain.ledger.cosignature import CosignatureSigner, add_cosignature
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import EMPTY_ROOT, ConsistencyProofError, verify_consistency
from sparecap.domain.ledger.note import NoteVerifier


class RollbackError(LedgerError):
    """A checkpoint smaller than one already seen: the log would have to have shrunk."""


class ForkError(LedgerError):
    """Two checkpoints of one size with different roots: the log showed two histories."""


def check_update(previous: Checkpoint | None, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Accept `new` only if it is provably an append-only extension of `previous`.

    `proof` is the consistency proof from previous.size to new.size (RFC 9162 §2.1.4). This is
    the check a witness makes before cosigning (c2sp.org/tlog-cosignature: "the consistent tree
    head with the largest size the cosigner has observed").
    """
    _check_empty_tree(new)
    if previous is None:
        return
    _check_empty_tree(previous)
    if new.origin != previous.origin:
        raise OriginMismatchError(
            f"checkpoint origin {new.origin!r} is not the log last seen, {previous.origin!r}"
        )
    if new.size < previous.size:
        raise RollbackError(
            f"rollback: {new.origin} checkpoint has size {new.size}, "
            f"smaller than the size {previous.size} already seen"
        )
    if new.size == previous.size:
        if new.root_hash != previous.root_hash:
            raise ForkError(
                f"fork: {new.origin} has two checkpoints of size {new.size} with different roots "
                f"{previous.root_hash.hex()} and {new.root_hash.hex()}"
            )
        if proof:
            raise ConsistencyProofError(
                f"checkpoint repeats size {new.size}; expected an empty proof, got {len(proof)}"
            )
        return
    if previous.size == 0:
        # Every tree extends the empty tree; RFC 9162 defines no proof for it, so none is taken.
        if proof:
            raise ConsistencyProofError(
                f"growth from the empty tree needs no proof, got {len(proof)} hashes"
            )
        return
    try:
        verify_consistency(previous.size, new.size, previous.root_hash, new.root_hash, proof)
    except ConsistencyProofError as exc:
        raise ConsistencyProofError(
            f"{new.origin} checkpoint {new.size} is not proven to extend checkpoint "
            f"{previous.size} (a fork, or a bad proof): {exc}"
        ) from exc


def _check_empty_tree(checkpoint: Checkpoint) -> None:
    # RFC 9162 §2.1.1: MTH({}) = SHA-256(); a size-0 checkpoint with any other root is a lie that
    # no consistency proof could ever expose, so it is refused outright.
    if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        raise ForkError(
            f"{checkpoint.origin} checkpoint of size 0 has root {checkpoint.root_hash.hex()}, "
            f"not the empty-tree hash {EMPTY_ROOT.hex()}"
        )


def witness_checkpoint(
    *,
    previous: Checkpoint | None,
    signed_checkpoint: str,
    proof: Sequence[bytes],
    log_verifiers: Sequence[NoteVerifier],
    origin: str,
    cosigner: CosignatureSigner,
    timestamp: int,
) -> tuple[Checkpoint, str]:
    """Verify the log's signature and the update, then cosign.

    Returns the checkpoint to remember as the new "last seen" state and the note with the
    witness's cosignature appended. Raises before signing anything if any check fails.
    """
    new = open_checkpoint(signed_checkpoint, log_verifiers, origin=origin)
    check_update(previous, new, proof)
    return new, add_cosignature(signed_checkpoint, cosigner, timestamp=timestamp)
