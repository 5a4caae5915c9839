"""Storage-independent generation of roots, inclusion proofs and consistency proofs (RFC 9162 §2.1).

A store only has to answer "what is the hash of this complete, aligned subtree?" (the hashes a
tlog-tiles log keeps). The functions here work out which O(log n) subtrees a root or proof needs,
fetch them in one batch from a `SubtreeHashReader`, and fold the right edge of the tree, which is
not a complete subtree, from its complete parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import EMPTY_ROOT, node_hash


class ProofRequestError(LedgerError):
    """A request for a root or proof that the tree cannot answer (index or size out of range)."""


@dataclass(frozen=True, slots=True)
class NodeID:
    """A complete subtree: leaves [index * 2**level, (index + 1) * 2**level); level 0 is a leaf."""

    level: int
    index: int

    @property
    def begin(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


class SubtreeHashReader(Protocol):
    """Returns the hash of each complete subtree asked for, in order (level 0: leaf hashes)."""

    def subtree_hashes(self, nodes: Sequence[NodeID]) -> Sequence[bytes]: ...


class CallableReader:
    """Adapts a one-at-a-time `hash_of(node)` function to the batch reader protocol."""

    def __init__(self, hash_of: Callable[[NodeID], bytes]) -> None:
        self._hash_of = hash_of

    def subtree_hashes(self, nodes: Sequence[NodeID]) -> Sequence[bytes]:
        return [self._hash_of(node) for node in nodes]


def range_nodes(begin: int, count: int) -> list[NodeID]:
    """The complete subtrees, left to right, whose fold is MTH(D[begin:begin+count]).

    Valid for the ranges RFC 6962 trees are built from: `begin` is a multiple of the smallest
    power of two >= count. RFC 9162 §2.1.1 splits at the largest power of two below the size, so
    the complete parts are the set bits of `count` from the highest down.
    """
    nodes: list[NodeID] = []
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            nodes.append(NodeID(level, begin >> level))
            begin += 1 << level
    return nodes


def fold_range(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of `range_nodes` into the range's Merkle tree hash (right fold)."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = node_hash(left, acc)
    return acc


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect(begin: int, size: int) -> list[NodeID]:
    level = size.bit_length() - 1
    return [NodeID(level, begin >> level)]


def inclusion_plan(index: int, size: int) -> list[list[NodeID]]:
    """Which subtrees make up each hash of PATH(index, D[size]), RFC 9162 §2.1.3.1, leaf-side first.

    Each entry is folded with `fold_range` into one proof hash. Only the first step to the left
    of the right edge yields more than one subtree, so the plan holds O(log n) nodes in total.
    """
    if not 0 <= index < size:
        raise ProofRequestError(f"leaf index {index} is outside a tree of size {size}")
    plan: list[list[NodeID]] = []
    begin, m, n = 0, index, size
    while n > 1:
        k = _split(n)
        if m < k:
            plan.append(range_nodes(begin + k, n - k))  # PATH(m, D[0:k]) : MTH(D[k:n])
            n = k
        else:
            plan.append(_perfect(begin, k))  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            begin, m, n = begin + k, m - k, n - k
    plan.reverse()  # the recursion emits the sibling nearest the leaf first
    return plan


def consistency_plan(size1: int, size2: int) -> list[list[NodeID]]:
    """Which subtrees make up each hash of PROOF(size1, D[size2]), RFC 9162 §2.1.4.1.

    Defined for 0 < size1 <= size2; equal sizes give the empty proof.
    """
    if not 0 < size1 <= size2:
        raise ProofRequestError(
            f"a consistency proof needs 0 < size1 <= size2, got size1 {size1}, size2 {size2}"
        )
    plan: list[list[NodeID]] = []
    begin, m, n, whole = 0, size1, size2, True
    while m != n:
        k = _split(n)
        if m <= k:
            plan.append(range_nodes(begin + k, n - k))  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            n = k
        else:
            plan.append(_perfect(begin, k))  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            begin, m, n, whole = begin + k, m - k, n - k, False
    if not whole:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old tree's last subtree is part of the proof
        # unless it is the whole old tree, which the verifier already holds (b = true).
        plan.append(range_nodes(begin, n))
    plan.reverse()
    return plan


def _resolve(reader: SubtreeHashReader, plan: Sequence[Sequence[NodeID]]) -> list[bytes]:
    """Fetch every node of a plan in one batch and fold each entry into one hash."""
    flat = [node for group in plan for node in group]
    hashes = list(reader.subtree_hashes(flat))
    if len(hashes) != len(flat):
        raise ProofRequestError(f"reader returned {len(hashes)} hashes for {len(flat)} nodes")
    out: list[bytes] = []
    at = 0
    for group in plan:
        out.append(fold_range(hashes[at : at + len(group)]))
        at += len(group)
    return out


def tree_root(reader: SubtreeHashReader, size: int) -> bytes:
    """MTH(D[0:size]) from at most log2(size) + 1 complete subtrees."""
    if size < 0:
        raise ProofRequestError(f"tree size must be non-negative, got {size}")
    return _resolve(reader, [range_nodes(0, size)])[0]


def inclusion_proof(reader: SubtreeHashReader, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]): the audit path of leaf `index` in the tree of `size` leaves."""
    return _resolve(reader, inclusion_plan(index, size))


def consistency_proof(reader: SubtreeHashReader, size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[size2]): shows the tree of size1 leaves is a prefix of the one of size2."""
    return _resolve(reader, consistency_plan(size1, size2))
