"""Hash tiles and entry bundles are served from the database exactly as c2sp.org/tlog-tiles says."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import sign_checkpoint_once
from sparecap.db.models import LedgerEntry, LedgerNode
from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.tiles import (
    TileID,
    decode_entry_bundle,
    tile_bytes,
    tiles_for_size,
)
from sparecap.services.errors import NotFoundError
from sparecap.services.ledger import append_entry
from sparecap.services.tiles import TileStorageError, read_tile
from tests.conftest import T0


def fill(platform: Platform, count: int) -> None:
    """Append `count` entries, some with multi-byte UTF-8 so lengths count bytes, not characters."""
    with platform.db.write() as s:
        for i in range(count):
            append_entry(
                s, kind="test", subject=f"test:{i}", at=T0, data={"n": i, "note": "闲置" * (i % 60)}
            )


def payloads(platform: Platform) -> list[bytes]:
    with platform.db.read() as s:
        return [
            p.encode() for p in s.scalars(select(LedgerEntry.payload).order_by(LedgerEntry.seq))
        ]


def served(platform: Platform, path: str) -> bytes:
    with platform.db.read() as s:
        return read_tile(s, path=path).data


def test_every_tile_and_bundle_matches_an_independently_built_tree(platform: Platform) -> None:
    fill(platform, 520)
    assert sign_checkpoint_once(platform) == 520
    entries = payloads(platform)
    reference = MemoryTree()
    reference.extend(entries)
    tiles = list(tiles_for_size(520))
    # Two full level-0 tiles, a partial one of 520 - 512 = 8, and a level-1 tile of width 2.
    assert [t.path() for t in tiles] == [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/8",
        "tile/1/000.p/2",
    ]
    for tile in tiles:
        assert served(platform, tile.path()) == tile_bytes(reference, tile), tile.path()
    for tile in (t for t in tiles if t.level == 0):
        bundle = TileID(0, tile.index, tile.width, entries=True)
        first = tile.index * 256
        assert (
            decode_entry_bundle(served(platform, bundle.path()))
            == entries[first : first + tile.width]
        )
    with platform.db.read() as s:
        full = read_tile(s, path="tile/entries/001")
        partial = read_tile(s, path="tile/entries/002.p/8")
    assert full.immutable and not partial.immutable
    # The prefix is a big-endian uint16 count of bytes (not characters): bundle 2 starts with
    # seq 512, whose 294 bytes need both prefix bytes.
    first_entry = entries[512]
    assert len(first_entry) == 294 and len(first_entry.decode()) < 294
    assert partial.data[:2] == b"\x01\x26"


def test_nothing_beyond_the_latest_signed_checkpoint_is_served(platform: Platform) -> None:
    with platform.db.read() as s, pytest.raises(NotFoundError) as nothing_signed:
        read_tile(s, path="tile/0/000.p/1")
    assert nothing_signed.value.code == "no_checkpoint"
    fill(platform, 300)
    sign_checkpoint_once(platform)
    fill(platform, 30)  # appended, hashed into ledger_nodes, but not signed yet
    assert len(served(platform, "tile/0/001.p/44")) == 44 * 32
    assert served(platform, "tile/0/001.p/10") == served(platform, "tile/0/001.p/44")[: 10 * 32]
    assert len(served(platform, "tile/1/000.p/1")) == 32
    for path in (
        "tile/0/001.p/45",
        "tile/0/001",
        "tile/entries/001.p/45",
        "tile/entries/001",
        "tile/1/000.p/2",
        "tile/2/000.p/1",
        "tile/0/002.p/1",
    ):
        with platform.db.read() as s, pytest.raises(NotFoundError) as refused:
            read_tile(s, path=path)
        assert refused.value.code == "tile_not_signed", path
        assert "size 300" in refused.value.message


MALFORMED = [
    "tile/0/0",
    "tile/00/000",
    "tile/0/000.p/256",
    "tile/0/000.p/0",
    "tile/0/x000/001",
    "tile/64/000",
    "tile/entries",
    "tiles/0/000",
]


def test_malformed_tile_paths_are_not_found(platform: Platform) -> None:
    fill(platform, 3)
    sign_checkpoint_once(platform)
    assert len(served(platform, "tile/0/000.p/3")) == 96
    for path in MALFORMED:
        with platform.db.read() as s, pytest.raises(NotFoundError) as refused:
            read_tile(s, path=path)
        assert refused.value.code == "unknown_tile", path


def test_a_missing_hash_row_is_a_server_fault_not_a_short_tile(platform: Platform) -> None:
    fill(platform, 10)
    sign_checkpoint_once(platform)
    with platform.db.write() as s:
        s.execute(delete(LedgerNode).where(LedgerNode.level == 0, LedgerNode.index == 4))
    with platform.db.read() as s, pytest.raises(TileStorageError, match="holds 9 of its 10"):
        read_tile(s, path="tile/0/000.p/10")
