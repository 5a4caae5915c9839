"""tlog-tiles paths, which tiles a tree serves, proofs built from tiles, and entry bundles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import verify_consistency, verify_inclusion
from sparecap.domain.ledger.proofs import NodeID, consistency_proof, inclusion_proof, tree_root
from sparecap.domain.ledger.tiles import (
    TileError,
    TileID,
    TileReader,
    changed_tiles,
    decode_entry_bundle,
    encode_entry_bundle,
    encode_tile_index,
    node_location,
    parse_tile_path,
    tile_bytes,
    tiles_for_size,
)

# 70,000 leaves is the spec's own example and reaches tile level 2.
SIZE = 70_000
TREE = MemoryTree()
for _i in range(SIZE):
    TREE.append(_i.to_bytes(4, "big"))


@pytest.mark.parametrize(
    ("index", "encoded"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_tile_index_encoding(index: int, encoded: str) -> None:
    assert encode_tile_index(index) == encoded


def test_tile_paths() -> None:
    assert TileID(0, 1234067).path() == "tile/0/x001/x234/067"
    assert TileID(1, 1234067, width=8).path() == "tile/1/x001/x234/067.p/8"
    assert TileID(0, 2, entries=True).path() == "tile/entries/002"
    assert TileID(0, 2, width=255, entries=True).path() == "tile/entries/002.p/255"


@given(
    level=st.integers(0, 63),
    index=st.integers(0, 10**12),
    width=st.integers(1, 256),
    entries=st.booleans(),
)
def test_tile_paths_round_trip(level: int, index: int, width: int, entries: bool) -> None:
    tile = TileID(0 if entries else level, index, width, entries)
    assert parse_tile_path(tile.path()) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/01/000",
        "tile/64/000",
        "tile/0/1234",
        "tile/0/12",
        "tile/0/x000/005",
        "tile/0/001/002",
        "tile/0/x01/002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/0/000.p",
        "tile/0/x001.p/5",
        "tiles/0/000",
        "tile/0",
        "tile/entries/000.p/",
    ],
)
def test_malformed_tile_paths_are_rejected(path: str) -> None:
    with pytest.raises(TileError):
        parse_tile_path(path)


def test_tiles_of_the_spec_example_tree() -> None:
    # tlog-tiles "Partial Tiles": 273 full level-0 tiles, a level-0 partial of width 112, one full
    # level-1 tile, a level-1 partial of width 17 and a level-2 partial of width 1.
    tiles = list(tiles_for_size(70_000))
    assert sum(1 for t in tiles if t.level == 0 and not t.is_partial) == 273
    partial = {(t.level, t.width) for t in tiles if t.is_partial}
    assert partial == {(0, 112), (1, 17), (2, 1)}
    assert sum(1 for t in tiles if t.level == 1 and not t.is_partial) == 1
    assert list(tiles_for_size(256)) == [TileID(0, 0), TileID(1, 0, width=1)]


@settings(max_examples=50)
@given(st.integers(0, 200_000), st.integers(0, 70_000))
def test_changed_tiles_are_exactly_the_new_tile_set(old: int, grow: int) -> None:
    new = old + grow
    expected = set(tiles_for_size(new)) - set(tiles_for_size(old))
    assert set(changed_tiles(old, new)) == expected


def test_node_location_inside_a_tile() -> None:
    assert node_location(NodeID(0, 300)) == (0, 1, 44, 1)
    assert node_location(NodeID(3, 40)) == (0, 1, 64, 8)
    assert node_location(NodeID(8, 5)) == (1, 0, 5, 1)
    assert node_location(NodeID(17, 3)) == (2, 0, 6, 2)


class CountingFetch:
    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.fetched: list[TileID] = []

    def __call__(self, tile: TileID) -> bytes:
        self.fetched.append(tile)
        return tile_bytes(self.tree, tile)


@settings(max_examples=40)
@given(st.integers(1, SIZE), st.data())
def test_proofs_from_tiles_equal_proofs_from_memory(size: int, data: st.DataObject) -> None:
    fetch = CountingFetch(TREE)
    reader = TileReader(fetch, size)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(reader, index, size)
    assert proof == TREE.inclusion_proof(index, size)
    root = tree_root(reader, size)
    verify_inclusion(TREE.subtree_hashes([NodeID(0, index)])[0], index, size, proof, root)
    assert len(fetch.fetched) <= 3 * 3  # a few tiles per tile level, never hundreds
    size1 = data.draw(st.integers(1, size))
    proof = consistency_proof(reader, size1, size)
    assert proof == TREE.consistency_proof(size1, size)
    verify_consistency(size1, size, TREE.root(size1), root, proof)


def test_tile_reader_refuses_incomplete_subtrees() -> None:
    reader = TileReader(CountingFetch(TREE), 100)
    with pytest.raises(TileError, match="not complete"):
        reader.subtree_hashes([NodeID(7, 0)])


def test_short_tile_is_rejected() -> None:
    reader = TileReader(lambda tile: b"\x00" * 31, 10)
    with pytest.raises(TileError, match="must be 320 bytes, got 31"):
        reader.subtree_hashes([NodeID(0, 1)])


@given(st.lists(st.binary(max_size=300), max_size=256))
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    assert decode_entry_bundle(encode_entry_bundle(entries)) == entries


def test_malformed_entry_bundles_are_rejected() -> None:
    with pytest.raises(TileError, match="length prefix"):
        decode_entry_bundle(b"\x00\x01a\x00")
    with pytest.raises(TileError, match="claims 5 bytes"):
        decode_entry_bundle(b"\x00\x05abc")
    with pytest.raises(TileError, match="uint16"):
        encode_entry_bundle([b"x" * 65536])
    with pytest.raises(TileError, match="at most 256"):
        encode_entry_bundle([b""] * 257)
