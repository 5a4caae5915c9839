"""An in-memory append-only Merkle tree keeping every complete subtree hash (tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sparecap.domain.ledger.merkle import HASH_SIZE, leaf_hash, node_hash
from sparecap.domain.ledger.proofs import (
    NodeID,
    ProofRequestError,
    consistency_proof,
    inclusion_proof,
    tree_root,
)


class MemoryTree:
    """Keeps, per level, the hashes of all complete aligned subtrees, packed 32 bytes apiece.

    That is the data a tlog-tiles log stores (c2sp.org/tlog-tiles, "Merkle Tree"): with it any
    root or proof needs O(log n) lookups. Appending costs amortised O(1) hashes. Packing into one
    bytearray per level keeps a million-leaf tree near 64 MB instead of two million objects.
    """

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]

    @property
    def size(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append a leaf by its hash; returns its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
        index = self.size
        self._levels[0] += leaf
        # Every time the new leaf completes a subtree (its index is odd at that level), hash the
        # pair into the level above: the same carry as incrementing a binary counter.
        level, i, acc = 0, index, leaf
        while i & 1:
            left = self._hash_at(level, i - 1)
            acc = node_hash(left, acc)
            level, i = level + 1, i >> 1
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += acc
        return index

    def append(self, data: bytes) -> int:
        """Append a leaf by its entry data (hashed per RFC 9162 §2.1.1); returns its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def extend(self, entries: Iterable[bytes]) -> None:
        for data in entries:
            self.append(data)

    def _hash_at(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def subtree_hashes(self, nodes: Sequence[NodeID]) -> Sequence[bytes]:
        out: list[bytes] = []
        for node in nodes:
            if node.level < 0 or node.index < 0 or node.end > self.size:
                raise ProofRequestError(
                    f"subtree {node} is not complete in a tree of size {self.size}"
                )
            out.append(self._hash_at(node.level, node.index))
        return out

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ProofRequestError(f"tree size {size} is outside 0..{self.size}")

    def root(self, size: int | None = None) -> bytes:
        """The root of the first `size` leaves (default: all of them)."""
        size = self.size if size is None else size
        self._check_size(size)
        return tree_root(self, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        self._check_size(size)
        return inclusion_proof(self, index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        size2 = self.size if size2 is None else size2
        self._check_size(size2)
        return consistency_proof(self, size1, size2)
