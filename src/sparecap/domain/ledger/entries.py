"""Ledger entries: their canonical bytes, pseudonyms, and the log's compact right edge.

An entry is canonical JSON (sorted keys, no spaces, UTF-8), so anyone can recompute its leaf hash
from the published text. Personal data stays off the log: people appear as salted pseudonyms the
operator can reveal to an auditor (by showing the salt and id), never as names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sparecap.domain.ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash

# One encoder for every entry: json.dumps with options builds a new encoder on each call,
# which costs as much as encoding a small entry.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(entry: Mapping[str, Any]) -> bytes:
    return _CANONICAL.encode(entry).encode()


# Kept for recent parties: a matching round writes two entries per match that name the same
# demanders and providers again and again.
@lru_cache(maxsize=65_536)
def pseudonym(salt: bytes, kind: str, ident: int | str) -> str:
    """A stable, salted stand-in for a person or organisation (HMAC-SHA-256, 128 bits)."""
    return hmac.new(salt, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:32]


def salted_hash(salt: bytes, text: str) -> str:
    """Free text (a reason, a note) proven later without publishing it."""
    return hmac.new(salt, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Node:
    """A complete subtree's hash: leaves [index * 2**level, (index + 1) * 2**level)."""

    level: int
    index: int
    hash: bytes


def append_leaf(
    frontier: Sequence[bytes], size: int, leaf: bytes
) -> tuple[list[bytes], list[Node]]:
    """Add one leaf hash to a log of `size` leaves.

    `frontier` holds the roots of the perfect subtrees the log splits into, largest first (at
    most 64 hashes). Returns the new frontier and every subtree the leaf completes, which is
    what a tile store keeps: like a binary counter, the carry runs over the trailing ones.
    """
    edge = list(frontier)
    made: list[tuple[int, int, bytes]] = []
    push_leaf(edge, size, leaf, made)
    return edge, [Node(*node) for node in made]


def push_leaf(
    frontier: list[bytes], size: int, leaf: bytes, nodes: list[tuple[int, int, bytes]]
) -> None:
    """`append_leaf` in place: updates `frontier` and adds (level, index, hash) rows to `nodes`.

    The append path runs this for every entry; copying the edge and building objects there
    cost a third of an append.
    """
    nodes.append((0, size, leaf))
    current, level, index = leaf, 0, size
    while index & 1:
        current = node_hash(frontier.pop(), current)
        level, index = level + 1, index >> 1
        nodes.append((level, index, current))
    frontier.append(current)


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """RFC 6962 root from the frontier: fold right to left (the split at the largest power
    of two below the size makes the right part the nested one)."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


def entry_leaf(entry: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The entry's canonical bytes and their RFC 6962 leaf hash."""
    data = canonical(entry)
    return data, leaf_hash(data)
