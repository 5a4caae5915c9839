"""RFC 6962 / RFC 9162 Merkle tree hashing and verification of inclusion and consistency proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sparecap.domain.ledger.errors import LedgerError

# RFC 9162 §2.1.1: SHA-256, with one-byte domain separation so a leaf can never be confused with
# an interior node (second-preimage resistance).
HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# RFC 9162 §2.1.1: the hash of an empty list is the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()


class InclusionProofError(LedgerError):
    """An inclusion proof that does not prove the leaf is in the tree with the given root."""


class ConsistencyProofError(LedgerError):
    """A consistency proof that does not prove the smaller tree is a prefix of the larger one."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d), RFC 9162 §2.1.1."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), RFC 9162 §2.1.1."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a whole list of leaf hashes, RFC 9162 §2.1.1.

    Uses a stack of perfect subtrees, as an append-only log grows, so it runs in O(n) time and
    O(log n) memory instead of recursing on slices.
    """
    stack: list[tuple[int, bytes]] = []  # (subtree size, hash), sizes strictly decreasing
    for h in hashes:
        size, acc = 1, h
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            size, acc = left_size + size, node_hash(left, acc)
        stack.append((size, acc))
    if not stack:
        return EMPTY_ROOT
    # The right edge folds from the smallest subtree upwards: MTH = H(s1, H(s2, H(s3, ...))).
    acc = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        acc = node_hash(left, acc)
    return acc


def _check_hash(what: str, value: bytes, error: type[LedgerError]) -> None:
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_path(what: str, proof: Sequence[bytes], error: type[LedgerError]) -> None:
    # The message is built only on failure: formatting one per hash cost a fifth of a check.
    for i, p in enumerate(proof):
        if len(p) != HASH_SIZE:
            _check_hash(f"{what}[{i}]", p, error)


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that an inclusion proof implies for `leaf` (a leaf hash) at `index`.

    Follows RFC 9162 §2.1.3.2 step by step; raises InclusionProofError when the proof cannot
    belong to a tree of `size` (wrong length, index out of range, malformed hashes).
    """
    if size <= 0:
        raise InclusionProofError(f"no leaf can be included in a tree of size {size}")
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash("leaf hash", leaf, InclusionProofError)
    _check_path("inclusion proof", proof, InclusionProofError)
    # The path splits in two (RFC 9162 §2.1.3.2 unrolled, as transparency-dev's verifier
    # does): `inner` hashes below the level where the leaf's path meets the right edge, with a
    # side given by the index's bits, then `border` hashes of complete subtrees to its left.
    inner = (index ^ (size - 1)).bit_length()
    needed = inner + (index >> inner).bit_count()
    if len(proof) != needed:
        amount = "more" if len(proof) > needed else "fewer"
        raise InclusionProofError(
            f"inclusion proof has {len(proof)} hashes, {amount} than a tree of size {size} needs"
        )
    # Verifying is hashing-bound (goal: 50,000 proofs/s on one core): call hashlib directly.
    sha256, prefix, r = hashlib.sha256, NODE_PREFIX, leaf
    for level, p in enumerate(proof[:inner]):
        if index >> level & 1:
            r = sha256(prefix + p + r).digest()
        else:
            r = sha256(prefix + r + p).digest()
    for p in proof[inner:]:
        r = sha256(prefix + p + r).digest()
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf` (a leaf hash) sits at `index` in the tree of `size` with `root`."""
    computed = root_from_inclusion_proof(leaf, index, size, proof)
    if computed != root:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of tree size {size} gives root "
            f"{computed.hex()}, expected {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (size1, root1) is a prefix of the tree (size2, root2), RFC 9162 §2.1.4.2.

    A proof from the empty tree is refused: RFC 9162 §2.1.4 defines proofs for 0 < size1, and
    every tree extends the empty one, so such a "proof" would show nothing. Callers that start
    from an empty tree (a witness's first checkpoint) handle that case themselves.
    """
    if size1 < 0 or size2 < 0:
        raise ConsistencyProofError(f"tree sizes must be non-negative, got {size1} and {size2}")
    if size2 < size1:
        raise ConsistencyProofError(f"size1 {size1} is larger than size2 {size2}")
    if size1 == 0:
        raise ConsistencyProofError(
            "a consistency proof from the empty tree (size1 0) is undefined"
        )
    if size1 == size2:
        if proof:
            raise ConsistencyProofError(
                f"sizes are equal ({size1}) but the proof has {len(proof)} hashes, expected none"
            )
        if root1 != root2:
            raise ConsistencyProofError(f"sizes are equal ({size1}) but the roots differ")
        return
    if not proof:
        raise ConsistencyProofError(f"empty consistency proof from size {size1} to {size2}")
    _check_path("consistency proof", proof, ConsistencyProofError)
    fr, sr = _roots_from_consistency_proof(size1, size2, root1, proof)
    if fr != root1:
        raise ConsistencyProofError(
            f"consistency proof {size1}->{size2} gives old root {fr.hex()}, expected {root1.hex()}"
        )
    if sr != root2:
        raise ConsistencyProofError(
            f"consistency proof {size1}->{size2} gives new root {sr.hex()}, expected {root2.hex()}"
        )


def _roots_from_consistency_proof(
    size1: int, size2: int, root1: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Steps 2-7 of RFC 9162 §2.1.4.2 for 0 < size1 < size2 and a non-empty proof."""
    path = list(proof)
    # Step 2: when size1 is a power of two the old root is itself a node of the new tree, so the
    # proof leaves it out and the verifier supplies it.
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(
                f"consistency proof {size1}->{size2} has {len(proof)} hashes, more than needed"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofError(
            f"consistency proof {size1}->{size2} has {len(proof)} hashes, fewer than needed"
        )
    return fr, sr
