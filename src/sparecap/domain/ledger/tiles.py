"""C2SP tlog-tiles (c2sp.org/tlog-tiles): tile paths, which hashes a tile holds, entry bundles."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import HASH_SIZE, root_from_leaf_hashes
from sparecap.domain.ledger.proofs import NodeID, SubtreeHashReader

# tlog-tiles "Merkle Tree": a tile is a subtree of height 8, stored as its 256 bottom hashes.
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63  # "<L> ... MUST be a decimal ASCII integer between 0 and 63"
# "Entry bundles are sequences of big-endian uint16 length-prefixed log entries."
MAX_ENTRY_SIZE = 0xFFFF
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_INDEX_PART = re.compile(r"x[0-9]{3}")
_LAST_PART = re.compile(r"[0-9]{3}")


class TileError(LedgerError):
    """A malformed tile path, tile, or entry bundle."""


@dataclass(frozen=True, slots=True)
class TileID:
    """Tile `index` at tile `level` holding `width` hashes; `entries` names the entry bundle.

    An entry bundle shares index and width with the level-0 tile of the same leaves.
    """

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_TILE_LEVEL:
            raise TileError(f"tile level {self.level} is outside 0..{MAX_TILE_LEVEL}")
        if self.entries and self.level != 0:
            raise TileError("entry bundles only exist at level 0")
        if self.index < 0:
            raise TileError(f"tile index {self.index} is negative")
        if not 1 <= self.width <= TILE_WIDTH:
            raise TileError(f"tile width {self.width} is outside 1..{TILE_WIDTH}")

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    def path(self) -> str:
        """`tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`."""
        head = "tile/entries" if self.entries else f"tile/{self.level}"
        tail = f".p/{self.width}" if self.is_partial else ""
        return f"{head}/{encode_tile_index(self.index)}{tail}"

    def nodes(self) -> list[NodeID]:
        """The Merkle nodes whose hashes the tile holds, in order (level 8L, consecutive)."""
        first = self.index * TILE_WIDTH
        return [NodeID(self.level * TILE_HEIGHT, first + i) for i in range(self.width)]


def encode_tile_index(index: int) -> str:
    """Zero-padded 3-digit elements, all but the last prefixed with x: 1234067 is x001/x234/067."""
    if index < 0:
        raise TileError(f"tile index {index} is negative")
    digits = str(index)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    parts = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + p for p in parts[:-1]), parts[-1]])


def _decode_index(parts: Sequence[str], path: str) -> int:
    if not parts or not _LAST_PART.fullmatch(parts[-1]):
        raise TileError(f"tile path {path!r} does not end in a 3-digit index element")
    if not all(_INDEX_PART.fullmatch(p) for p in parts[:-1]):
        raise TileError(f"tile path {path!r} has an index element that is not x plus 3 digits")
    if len(parts) > 1 and parts[0] == "x000":
        # Padding is only to a multiple of three digits, so one index has one spelling.
        raise TileError(f"tile path {path!r} has a leading all-zero index element")
    return int("".join(p.lstrip("x") for p in parts))


def parse_tile_path(path: str) -> TileID:
    """Parse a tile or entry-bundle path relative to the log prefix, rejecting other spellings."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise TileError(f"{path!r} is not a tile/... path")
    entries = parts[1] == "entries"
    if not entries and not _DECIMAL.fullmatch(parts[1]):
        raise TileError(f"tile level {parts[1]!r} is not a decimal without leading zeroes")
    level = 0 if entries else int(parts[1])
    rest, width = parts[2:], TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _DECIMAL.fullmatch(rest[-1]) or not 1 <= int(rest[-1]) < TILE_WIDTH:
            raise TileError(f"partial tile width {rest[-1]!r} is not a decimal in 1..255")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][: -len(".p")]]
    return TileID(level, _decode_index(rest, path), width, entries)


def tile_width(level: int, index: int, size: int) -> int:
    """How many hashes tile (level, index) holds in a tree of `size` leaves (0: not served).

    tlog-tiles "Partial Tiles": the rightmost tile at level l has floor(s / 256**l) mod 256 hashes.
    """
    count = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def tiles_for_size(size: int) -> Iterator[TileID]:
    """Every tile a log of `size` leaves serves, level by level (entry bundles excluded)."""
    level = 0
    while (count := size >> (TILE_HEIGHT * level)) > 0 and level <= MAX_TILE_LEVEL:
        for index in range(-(-count // TILE_WIDTH)):
            yield TileID(level, index, tile_width(level, index, size))
        level += 1


def changed_tiles(old_size: int, new_size: int) -> Iterator[TileID]:
    """The tiles a log must write when it grows from old_size to new_size leaves."""
    if not 0 <= old_size <= new_size:
        raise TileError(f"tree can only grow: {old_size} -> {new_size}")
    level = 0
    while (count := new_size >> (TILE_HEIGHT * level)) > 0 and level <= MAX_TILE_LEVEL:
        old_count = old_size >> (TILE_HEIGHT * level)
        for index in range(old_count // TILE_WIDTH, -(-count // TILE_WIDTH)):
            width = tile_width(level, index, new_size)
            if width != tile_width(level, index, old_size):
                yield TileID(level, index, width)
        level += 1


def node_location(node: NodeID) -> tuple[int, int, int, int]:
    """Where a node's hash comes from: (tile level, tile index, first offset, hash count).

    Levels between tile levels are not stored; a node at Merkle level 8L + k is the root of
    2**k consecutive hashes in one tile at level L (tlog-tiles "Merkle Tree", last paragraph).
    """
    level, sub = divmod(node.level, TILE_HEIGHT)
    first = node.index << sub
    return level, first // TILE_WIDTH, first % TILE_WIDTH, 1 << sub


def tile_bytes(reader: SubtreeHashReader, tile: TileID) -> bytes:
    """The tile's content: its hashes concatenated, 32 bytes each."""
    if tile.entries:
        raise TileError("an entry bundle holds entries, not hashes")
    return b"".join(reader.subtree_hashes(tile.nodes()))


def split_tile(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * HASH_SIZE:
        raise TileError(f"tile of width {width} must be {width * HASH_SIZE} bytes, got {len(data)}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


class TileReader:
    """Serves subtree hashes from fetched tiles, so proofs can be built from a tiled log.

    Each tile is fetched at most once per batch; a proof touches O(log n / 8) tiles.
    """

    def __init__(self, fetch: Callable[[TileID], bytes], size: int) -> None:
        self._fetch = fetch
        self._size = size

    def subtree_hashes(self, nodes: Sequence[NodeID]) -> Sequence[bytes]:
        wanted: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, node in enumerate(nodes):
            if node.end > self._size:
                raise TileError(f"subtree {node} is not complete in a tree of size {self._size}")
            level, index, _, _ = node_location(node)
            wanted[(level, index)].append(i)
        out: list[bytes] = [b""] * len(nodes)
        for (level, index), positions in wanted.items():
            width = tile_width(level, index, self._size)
            hashes = split_tile(self._fetch(TileID(level, index, width)), width)
            for i in positions:
                _, _, first, count = node_location(nodes[i])
                out[i] = root_from_leaf_hashes(hashes[first : first + count])
        return out


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Concatenate entries, each prefixed by its length as a big-endian uint16."""
    if len(entries) > TILE_WIDTH:
        raise TileError(f"an entry bundle holds at most {TILE_WIDTH} entries, got {len(entries)}")
    out = bytearray()
    for i, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise TileError(f"entry {i} is {len(entry)} bytes, over the uint16 limit")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_entry_bundle(data: bytes) -> list[bytes]:
    """Split an entry bundle; truncated or trailing bytes are an error."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise TileError(f"entry bundle truncated in the length prefix at byte {at}")
        length = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + length > len(data):
            raise TileError(f"entry {len(entries)} claims {length} bytes but the bundle ends first")
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    if len(entries) > TILE_WIDTH:
        raise TileError(f"entry bundle holds {len(entries)} entries, more than {TILE_WIDTH}")
    return entries
