"""Tamper detection: swapped leaves, forks, rollbacks and rewritten history are caught by name."""

from __future__ import annotations

import re

import pytest

from sparecap.domain.ledger.checkpoint import Checkpoint, OriginMismatchError, sign_checkpoint
from sparecap.domain.ledger.cosignature import CosignatureSigner, cosignature_timestamp
from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProofError,
    InclusionProofError,
    leaf_hash,
    verify_inclusion,
)
from sparecap.domain.ledger.note import Ed25519NoteSigner, NoteVerificationError, verify_note
from sparecap.domain.ledger.witness import (
    ForkError,
    RollbackError,
    check_update,
    witness_checkpoint,
)

ORIGIN = "ledger.sparecap.example/log"
LOG = Ed25519NoteSigner(ORIGIN, bytes(range(32)))
WITNESS = CosignatureSigner("witness.example/w1", bytes(range(5, 37)))
ENTRIES = [b"booking %d confirmed" % i for i in range(20)]


def _tree(entries: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    tree.extend(entries)
    return tree


def _checkpoint(tree: MemoryTree, size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, tree.root(size))


def test_honest_growth_is_accepted_at_every_step() -> None:
    tree = _tree(ENTRIES)
    previous: Checkpoint | None = None
    for size in [0, 1, 2, 3, 7, 8, 8, 13, 20]:
        new = _checkpoint(tree, size)
        proof = tree.consistency_proof(previous.size, size) if previous and previous.size else []
        check_update(previous, new, proof)
        previous = new


def test_swapped_leaf_fails_its_inclusion_proof() -> None:
    tree = _tree(ENTRIES)
    proof = tree.inclusion_proof(5)
    swapped = leaf_hash(ENTRIES[6])
    with pytest.raises(InclusionProofError, match="leaf 5 of tree size 20 gives root"):
        verify_inclusion(swapped, 5, tree.size, proof, tree.root())


def test_swapped_leaves_in_the_log_are_a_detected_fork() -> None:
    honest = _tree(ENTRIES)
    seen = _checkpoint(honest, 12)
    rewritten = ENTRIES.copy()
    rewritten[3], rewritten[4] = rewritten[4], rewritten[3]
    forged = _tree(rewritten)
    # Same size, other root: a fork, named as such.
    with pytest.raises(ForkError, match=r"fork: .* two checkpoints of size 12"):
        check_update(seen, _checkpoint(forged, 12), [])
    # Larger size: no consistency proof from the forged log can reach the honest checkpoint.
    with pytest.raises(ConsistencyProofError, match="not proven to extend checkpoint 12"):
        check_update(seen, _checkpoint(forged, 20), forged.consistency_proof(12, 20))


def test_fork_of_equal_size_is_detected() -> None:
    a = Checkpoint(ORIGIN, 10, _tree(ENTRIES[:10]).root())
    b = Checkpoint(ORIGIN, 10, _tree([*ENTRIES[:9], b"other"]).root())
    expected = re.escape(f"fork: {ORIGIN} has two checkpoints of size 10")
    with pytest.raises(ForkError, match=expected):
        check_update(a, b, [])


def test_rollback_is_detected() -> None:
    tree = _tree(ENTRIES)
    with pytest.raises(RollbackError, match=r"rollback: .* size 8, smaller than the size 10"):
        check_update(_checkpoint(tree, 10), _checkpoint(tree, 8), [])


def test_fake_empty_tree_is_refused() -> None:
    fake = Checkpoint(ORIGIN, 0, leaf_hash(b"x"))
    with pytest.raises(ForkError, match="size 0 has root"):
        check_update(None, fake, [])


def test_proof_shapes_for_trivial_updates() -> None:
    tree = _tree(ENTRIES)
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    with pytest.raises(ConsistencyProofError, match="needs no proof"):
        check_update(empty, _checkpoint(tree, 4), [EMPTY_ROOT])
    with pytest.raises(ConsistencyProofError, match="expected an empty proof"):
        check_update(_checkpoint(tree, 4), _checkpoint(tree, 4), [EMPTY_ROOT])
    with pytest.raises(OriginMismatchError, match="not the log last seen"):
        check_update(_checkpoint(tree, 4), Checkpoint("other.example/log", 5, tree.root(5)), [])


def test_witness_cosigns_only_verified_consistent_updates() -> None:
    tree = _tree(ENTRIES)
    first, cosigned = witness_checkpoint(
        previous=None,
        signed_checkpoint=sign_checkpoint(_checkpoint(tree, 8), [LOG]),
        proof=[],
        log_verifiers=[LOG.verifier()],
        origin=ORIGIN,
        cosigner=WITNESS,
        timestamp=1_700_000_000,
    )
    opened = verify_note(cosigned, [LOG.verifier(), WITNESS.verifier()])
    assert cosignature_timestamp(opened, WITNESS.verifier()) == 1_700_000_000
    second, _ = witness_checkpoint(
        previous=first,
        signed_checkpoint=sign_checkpoint(_checkpoint(tree, 20), [LOG]),
        proof=tree.consistency_proof(8, 20),
        log_verifiers=[LOG.verifier()],
        origin=ORIGIN,
        cosigner=WITNESS,
        timestamp=1_700_000_060,
    )
    assert second.size == 20
    with pytest.raises(RollbackError):
        witness_checkpoint(
            previous=second,
            signed_checkpoint=sign_checkpoint(_checkpoint(tree, 8), [LOG]),
            proof=[],
            log_verifiers=[LOG.verifier()],
            origin=ORIGIN,
            cosigner=WITNESS,
            timestamp=1_700_000_120,
        )
    impostor = Ed25519NoteSigner(ORIGIN, bytes(32))
    with pytest.raises(NoteVerificationError, match="no signature from a trusted key"):
        witness_checkpoint(
            previous=second,
            signed_checkpoint=sign_checkpoint(_checkpoint(tree, 20), [impostor]),
            proof=[],
            log_verifiers=[LOG.verifier()],
            origin=ORIGIN,
            cosigner=WITNESS,
            timestamp=1_700_000_180,
        )
