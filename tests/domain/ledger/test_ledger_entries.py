"""The compact right edge agrees with the reference tree, leaf by leaf."""

from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.ledger.entries import append_leaf, canonical, frontier_root, pseudonym
from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import leaf_hash


@given(st.lists(st.binary(max_size=20), max_size=70))
def test_frontier_root_and_completed_nodes_match_the_memory_tree(leaves: list[bytes]) -> None:
    tree, edge, stored = MemoryTree(), [], {}
    for i, data in enumerate(leaves):
        edge, nodes = append_leaf(edge, i, leaf_hash(data))
        tree.append(data)
        for n in nodes:
            stored[(n.level, n.index)] = n.hash
        assert frontier_root(edge) == tree.root()
    # Every complete subtree was reported exactly once, with the tree's hash for it.
    assert len(stored) == sum(len(leaves) >> level for level in range(8))


def test_canonical_bytes_are_order_independent_and_compact() -> None:
    assert (
        canonical({"b": 1, "a": "价"})
        == canonical({"a": "价", "b": 1})
        == '{"a":"价","b":1}'.encode()
    )


def test_pseudonyms_are_stable_salted_and_unlinkable_across_salts() -> None:
    assert pseudonym(b"s1", "participant", 7) == pseudonym(b"s1", "participant", 7)
    assert pseudonym(b"s1", "participant", 7) != pseudonym(b"s2", "participant", 7)
    assert len(pseudonym(b"s1", "participant", 7)) == 32
