"""Hypothesis properties of Merkle proofs against a naive RFC 9162 §2.1 recursion."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProofError,
    InclusionProofError,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from sparecap.domain.ledger.proofs import (
    CallableReader,
    NodeID,
    ProofRequestError,
    consistency_plan,
    inclusion_plan,
    inclusion_proof,
)

# A fixed tree big enough to reach level 10, shared by the properties so each example only
# picks sizes and indices; leaf data differs per leaf so every hash in it is distinct.
BIG = 1100
BIG_LEAVES = [leaf_hash(b"entry-%d" % i) for i in range(BIG)]
BIG_TREE = MemoryTree()
for _h in BIG_LEAVES:
    BIG_TREE.append_leaf_hash(_h)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(begin: int, end: int) -> bytes:
    """MTH(D[begin:end]) by the RFC's recursive definition, over BIG_LEAVES."""
    n = end - begin
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return BIG_LEAVES[begin]
    k = _split(n)
    return node_hash(ref_mth(begin, begin + k), ref_mth(begin + k, end))


def ref_path(m: int, begin: int, end: int) -> list[bytes]:
    """PATH(m, D[begin:end]), RFC 9162 §2.1.3.1, written as the recursion reads."""
    n = end - begin
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*ref_path(m, begin, begin + k), ref_mth(begin + k, end)]
    return [*ref_path(m - k, begin + k, end), ref_mth(begin, begin + k)]


def ref_subproof(m: int, begin: int, end: int, whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[begin:end], b), RFC 9162 §2.1.4.1."""
    n = end - begin
    if m == n:
        return [] if whole else [ref_mth(begin, end)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, begin, begin + k, whole), ref_mth(begin + k, end)]
    return [*ref_subproof(m - k, begin + k, end, False), ref_mth(begin, begin + k)]


def flip_bit(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


sizes = st.integers(min_value=1, max_value=BIG)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return size, draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(sizes)
    return draw(st.integers(min_value=1, max_value=size2)), size2


@given(size_and_index())
def test_inclusion_proof_matches_rfc_recursion_and_verifies(case: tuple[int, int]) -> None:
    size, index = case
    proof = BIG_TREE.inclusion_proof(index, size)
    assert proof == ref_path(index, 0, size)
    assert BIG_TREE.root(size) == ref_mth(0, size)
    verify_inclusion(BIG_LEAVES[index], index, size, proof, BIG_TREE.root(size))


@given(size_and_index(), st.integers(min_value=0), st.sampled_from(["leaf", "proof", "root"]))
def test_flipped_bit_breaks_inclusion_proof(case: tuple[int, int], bit: int, where: str) -> None:
    size, index = case
    leaf, proof, root = (
        BIG_LEAVES[index],
        BIG_TREE.inclusion_proof(index, size),
        BIG_TREE.root(size),
    )
    if where == "leaf" or (where == "proof" and not proof):
        leaf = flip_bit(leaf, bit)
    elif where == "proof":
        at = bit % len(proof)
        proof[at] = flip_bit(proof[at], bit // len(proof))
    else:
        root = flip_bit(root, bit)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf, index, size, proof, root)


@given(size_and_index(), st.integers(min_value=1, max_value=BIG))
def test_inclusion_proof_fails_for_another_index(case: tuple[int, int], shift: int) -> None:
    size, index = case
    other = (index + shift) % size
    proof = BIG_TREE.inclusion_proof(index, size)
    if other != index:
        with pytest.raises(InclusionProofError):
            verify_inclusion(BIG_LEAVES[index], other, size, proof, BIG_TREE.root(size))


@given(two_sizes())
def test_consistency_proof_between_any_two_sizes_verifies(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = BIG_TREE.consistency_proof(size1, size2)
    assert proof == ref_subproof(size1, 0, size2, True)
    verify_consistency(size1, size2, BIG_TREE.root(size1), BIG_TREE.root(size2), proof)


@given(two_sizes(), st.integers(min_value=0), st.sampled_from(["proof", "root1", "root2"]))
def test_flipped_bit_breaks_consistency_proof(case: tuple[int, int], bit: int, where: str) -> None:
    size1, size2 = case
    if size1 == size2 and where == "proof":
        size1 -= 1  # equal sizes have an empty proof, so there is nothing to flip
    if size1 == 0:
        return
    root1, root2 = BIG_TREE.root(size1), BIG_TREE.root(size2)
    proof = BIG_TREE.consistency_proof(size1, size2)
    if where == "proof":
        at = bit % len(proof)
        proof[at] = flip_bit(proof[at], bit // len(proof))
    elif where == "root1":
        root1 = flip_bit(root1, bit)
    else:
        root2 = flip_bit(root2, bit)
    with pytest.raises(ConsistencyProofError):
        verify_consistency(size1, size2, root1, root2, proof)


@settings(max_examples=50)
@given(st.lists(st.binary(max_size=16), min_size=1, max_size=70), st.data())
def test_proofs_over_arbitrary_entries(entries: list[bytes], data: st.DataObject) -> None:
    tree = MemoryTree()
    tree.extend(entries)
    hashes = [leaf_hash(e) for e in entries]
    assert tree.root() == root_from_leaf_hashes(hashes)
    index = data.draw(st.integers(0, len(entries) - 1))
    verify_inclusion(hashes[index], index, tree.size, tree.inclusion_proof(index), tree.root())
    size1 = data.draw(st.integers(1, len(entries)))
    proof = tree.consistency_proof(size1)
    verify_consistency(size1, tree.size, tree.root(size1), tree.root(), proof)


@given(size_and_index())
def test_plans_touch_logarithmically_many_subtrees(case: tuple[int, int]) -> None:
    size, index = case
    depth = (size - 1).bit_length()
    # Each proof hash is one complete subtree, except one right-edge hash of at most depth parts.
    assert sum(len(g) for g in inclusion_plan(index, size)) <= 2 * depth + 1
    assert sum(len(g) for g in consistency_plan(max(1, index), size)) <= 2 * depth + 2


def test_callable_reader_gives_the_same_proof() -> None:
    calls: list[NodeID] = []

    def hash_of(node: NodeID) -> bytes:
        calls.append(node)
        return BIG_TREE.subtree_hashes([node])[0]

    proof = inclusion_proof(CallableReader(hash_of), 777, 1000)
    assert proof == BIG_TREE.inclusion_proof(777, 1000)
    assert 0 < len(calls) <= 2 * 10 + 1


def test_generation_refuses_out_of_range_requests() -> None:
    with pytest.raises(ProofRequestError, match="outside a tree of size 10"):
        BIG_TREE.inclusion_proof(10, 10)
    with pytest.raises(ProofRequestError, match="0 < size1 <= size2"):
        BIG_TREE.consistency_proof(0, 10)
    with pytest.raises(ProofRequestError, match="0 < size1 <= size2"):
        BIG_TREE.consistency_proof(11, 10)
    with pytest.raises(ProofRequestError, match=r"outside 0\.\.1100"):
        BIG_TREE.root(BIG + 1)
    with pytest.raises(ProofRequestError, match="not complete"):
        BIG_TREE.subtree_hashes([NodeID(11, 0)])


def test_empty_tree_root_is_hash_of_empty_string() -> None:
    assert MemoryTree().root() == EMPTY_ROOT == root_from_leaf_hashes([])
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
