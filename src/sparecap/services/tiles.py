"""The read side of C2SP tlog-tiles (c2sp.org/tlog-tiles): hash tiles and entry bundles.

Everything served is fixed by the latest signed checkpoint: a tile (or a partial tile's width)
that only an unsigned tree size would need is refused, so a mirror never copies a tile no
signature covers. Tiles are built on request from the complete-subtree hashes in ledger_nodes
and the entries in ledger_entries; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sparecap.db.models import LedgerEntry, LedgerNode
from sparecap.domain.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileError,
    TileID,
    encode_entry_bundle,
    parse_tile_path,
    tile_width,
)
from sparecap.services.errors import NotFoundError
from sparecap.services.ledger import latest_checkpoint


class TileStorageError(RuntimeError):
    """The database lacks a hash or entry that a signed checkpoint covers: a server fault."""


@dataclass(frozen=True, slots=True)
class TileContent:
    """A tile's bytes; full tiles never change, so a cache may keep them forever."""

    tile: TileID
    data: bytes

    @property
    def immutable(self) -> bool:
        # tlog-tiles "Merkle Tree": a full tile is final. A partial tile's bytes are final too,
        # but it MAY be deleted once the full tile exists ("Partial Tiles"), so it is not
        # advertised as cacheable forever.
        return not self.tile.is_partial


def read_tile(session: Session, *, path: str) -> TileContent:
    """The tile or entry bundle at `path` (`tile/<L>/<N>[.p/<W>]` or `tile/entries/...`)."""
    try:
        tile = parse_tile_path(path)
    except TileError as exc:
        raise NotFoundError(str(exc), code="unknown_tile") from exc
    signed = latest_checkpoint(session).size
    available = tile_width(tile.level, tile.index, signed)
    # tlog-tiles "Partial Tiles": "Empty tiles MUST NOT be served", and a width is only ever
    # needed for a size some checkpoint covers; any prefix of the signed width is such a tile.
    if tile.width > available:
        raise NotFoundError(
            f"{path} is beyond the latest signed checkpoint (size {signed})",
            code="tile_not_signed",
        )
    data = _entry_bundle(session, tile) if tile.entries else _hash_tile(session, tile)
    return TileContent(tile, data)


def _hash_tile(session: Session, tile: TileID) -> bytes:
    """tlog-tiles "Merkle Tree": hash i of tile (l, n) is the level-8l node n * 256 + i."""
    first = tile.index * TILE_WIDTH
    rows = session.execute(
        select(LedgerNode.index, LedgerNode.hash)
        .where(
            LedgerNode.level == tile.level * TILE_HEIGHT,
            LedgerNode.index >= first,
            LedgerNode.index < first + tile.width,
        )
        .order_by(LedgerNode.index)
    ).all()
    _check_contiguous([index for index, _ in rows], first, tile)
    return b"".join(h for _, h in rows)


def _entry_bundle(session: Session, tile: TileID) -> bytes:
    """tlog-tiles "Log entries": each entry's bytes (its leaf data) with a uint16 length prefix."""
    first = tile.index * TILE_WIDTH
    rows = session.execute(
        select(LedgerEntry.seq, LedgerEntry.payload)
        .where(LedgerEntry.seq >= first, LedgerEntry.seq < first + tile.width)
        .order_by(LedgerEntry.seq)
    ).all()
    _check_contiguous([seq for seq, _ in rows], first, tile)
    # The leaf is the payload's UTF-8 bytes (services/ledger.py hashes exactly those).
    try:
        return encode_entry_bundle([payload.encode() for _, payload in rows])
    except TileError as exc:
        raise TileStorageError(f"{tile.path()}: {exc}") from exc


def _check_contiguous(found: list[int], first: int, tile: TileID) -> None:
    if found != list(range(first, first + tile.width)):
        raise TileStorageError(
            f"{tile.path()}: the database holds {len(found)} of its {tile.width} rows"
        )
