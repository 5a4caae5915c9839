"""Checkpoint bodies: the tessera 15-entry log known answers, round trips and malformed bodies."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparecap.domain.ledger.checkpoint import (
    Checkpoint,
    CheckpointFormatError,
    OriginMismatchError,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.merkle import EMPTY_ROOT, leaf_hash, verify_inclusion
from sparecap.domain.ledger.note import Ed25519NoteSigner, Ed25519NoteVerifier, parse_note
from sparecap.domain.ledger.tiles import TileID, encode_entry_bundle, tile_bytes

from ._vectors import NOTE_KATS, b64, load_json, require

SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


@pytest.fixture(scope="module")
def tessera() -> Any:
    return load_json(require(NOTE_KATS))["tessera_tiles_testdata_log"]


def test_tessera_log_is_rebuilt_to_its_published_roots(tessera: Any) -> None:
    leaves = [name.encode() for name in tessera["leaves_in_order"]]
    assert len(leaves) == 15
    tree = MemoryTree()
    assert tree.root() == b64(tessera["root_size_0_b64"]) == EMPTY_ROOT
    tree.extend(leaves)
    assert tree.root() == b64(tessera["root_size_15_b64"])
    for index, leaf in enumerate(leaves):
        verify_inclusion(leaf_hash(leaf), index, 15, tree.inclusion_proof(index), tree.root())


def test_tessera_checkpoints_sign_and_verify_for_every_size(tessera: Any) -> None:
    signer = Ed25519NoteSigner.from_skey(tessera["skey"])
    verifier = Ed25519NoteVerifier.from_vkey(tessera["vkey"])
    tree = MemoryTree()
    for size in range(16):
        checkpoint = Checkpoint(tessera["origin"], size, tree.root())
        signed = sign_checkpoint(checkpoint, [signer])
        assert (
            parse_note(signed).text
            == f"{tessera['origin']}\n{size}\n{base64.b64encode(tree.root()).decode()}\n"
        )
        assert open_checkpoint(signed, [verifier], origin=tessera["origin"]) == checkpoint
        if size < 15:
            tree.append(tessera["leaves_in_order"][size].encode())


def test_tessera_partial_tile_and_entry_bundle(tessera: Any) -> None:
    leaves = [name.encode() for name in tessera["leaves_in_order"]]
    tree = MemoryTree()
    tree.extend(leaves)
    tile = TileID(0, 0, width=15)
    assert tile.path() == "tile/0/000.p/15"
    assert tile_bytes(tree, tile) == b"".join(leaf_hash(leaf) for leaf in leaves)
    bundle = TileID(0, 0, width=15, entries=True)
    assert bundle.path() == "tile/entries/000.p/15"
    assert encode_entry_bundle(leaves) == b"".join(len(x).to_bytes(2, "big") + x for x in leaves)


def test_spec_example_body_round_trips() -> None:
    checkpoint = parse_checkpoint(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == b64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC_BODY


def test_extension_lines_are_kept() -> None:
    body = SPEC_BODY + "ext one\next two\n"
    checkpoint = parse_checkpoint(body)
    assert checkpoint.extensions == ("ext one", "ext two")
    assert checkpoint.body() == body


ROOT = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"origin\n1\n{ROOT}", "end with a newline"),
        ("origin\n1\n", "2 lines"),
        (f"\n1\n{ROOT}\n", "origin line is empty"),
        (f"o\n01\n{ROOT}\n", "leading zeroes"),
        (f"o\n-1\n{ROOT}\n", "not a decimal"),
        (f"o\n+1\n{ROOT}\n", "not a decimal"),
        (f"o\n 1\n{ROOT}\n", "not a decimal"),
        (f"o\n\u0661\n{ROOT}\n", "not a decimal"),  # Arabic-Indic digit one: not ASCII
        (f"o\n{2**64}\n{ROOT}\n", "exceeds 2\\^64 - 1"),
        ("o\n1\nnot base64!\n", "not valid base64"),
        ("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n", "not valid base64"),
        ("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", "not canonical"),
        ("o\n1\nAAAA\n", "3 bytes, expected 32"),
        (f"o\n1\n{ROOT}\n\n", "extension line 1 is empty"),
        (f"o\n1\n{ROOT}\next\n\nmore\n", "extension line 2 is empty"),
        (f"o\tx\n1\n{ROOT}\n", "control character"),
    ],
)
def test_malformed_bodies_are_rejected(body: str, reason: str) -> None:
    with pytest.raises(CheckpointFormatError, match=reason):
        parse_checkpoint(body)


def test_invalid_checkpoints_cannot_be_built() -> None:
    with pytest.raises(CheckpointFormatError, match="unsigned 64-bit"):
        Checkpoint("o", -1, EMPTY_ROOT)
    with pytest.raises(CheckpointFormatError, match="expected 32"):
        Checkpoint("o", 1, b"short")
    with pytest.raises(CheckpointFormatError, match="newline"):
        Checkpoint("o\nx", 1, EMPTY_ROOT)
    with pytest.raises(CheckpointFormatError, match="empty"):
        Checkpoint("o", 1, EMPTY_ROOT, ("",))


def test_checkpoint_from_another_log_is_refused() -> None:
    signer = Ed25519NoteSigner("example.com/log-a", bytes(32))
    signed = sign_checkpoint(Checkpoint("example.com/log-a", 0, EMPTY_ROOT), [signer])
    with pytest.raises(OriginMismatchError, match=r"not the expected log 'example\.com/log-b'"):
        open_checkpoint(signed, [signer.verifier()], origin="example.com/log-b")


line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20
)


@given(
    origin=line_text,
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(line_text, max_size=3),
)
def test_any_valid_checkpoint_round_trips(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert parse_checkpoint(checkpoint.body()) == checkpoint
