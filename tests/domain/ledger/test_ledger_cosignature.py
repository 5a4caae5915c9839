"""tlog-cosignature/v1: the signed message, key IDs with type 0x04 and the timestamp prefix."""

from __future__ import annotations

import base64

import pytest

from sparecap.domain.ledger.checkpoint import Checkpoint, CheckpointFormatError, sign_checkpoint
from sparecap.domain.ledger.cosignature import (
    ALG_COSIGNATURE_V1,
    MAX_TIMESTAMP,
    CosignatureError,
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignature,
    cosignature_timestamp,
    cosigned_message,
)
from sparecap.domain.ledger.memory import MemoryTree
from sparecap.domain.ledger.note import (
    ALG_ED25519,
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    KeyFormatError,
    MalformedNoteError,
    Note,
    NoteSignature,
    NoteVerificationError,
    compute_key_id,
    parse_note,
    verify_note,
)

LOG = Ed25519NoteSigner("example.com/log", bytes(range(32)))
WITNESS = CosignatureSigner("witness.example.com/w1", bytes(range(2, 34)))
T = 1679315147  # the time in the tlog-cosignature spec example

SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_COSIGNATURE = (
    "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+"
    "mbIUBkBIfZ+qnA=="
)


def _signed_checkpoint() -> str:
    tree = MemoryTree()
    tree.extend([b"a", b"b", b"c"])
    return sign_checkpoint(Checkpoint("example.com/log", 3, tree.root()), [LOG])


def test_spec_example_line_layout_is_key_id_timestamp_signature() -> None:
    # The spec's witness line: 4-byte key ID, then the u64 big-endian timestamp, then 64 bytes.
    raw = base64.b64decode(SPEC_COSIGNATURE)
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == T


def test_signed_message_is_header_time_line_and_body() -> None:
    assert cosigned_message(SPEC_BODY.encode(), T) == (
        b"cosignature/v1\ntime 1679315147\n" + SPEC_BODY.encode()
    )
    with pytest.raises(CosignatureError, match=r"outside 0\.\.2\^63-1"):
        cosigned_message(b"", MAX_TIMESTAMP + 1)


def test_key_id_hashes_the_cosignature_type_byte() -> None:
    verifier = WITNESS.verifier()
    record_key = base64.b64decode(verifier.vkey.split("+", 2)[2])
    assert record_key[0] == ALG_COSIGNATURE_V1
    public = record_key[1:]
    assert verifier.key_id == compute_key_id(WITNESS.name, 0x04, public)
    assert verifier.key_id != compute_key_id(WITNESS.name, ALG_ED25519, public)
    assert CosignatureVerifier.from_vkey(verifier.vkey).key_id == verifier.key_id
    assert CosignatureSigner.from_skey(WITNESS.skey).key_id == WITNESS.key_id


def test_cosigned_checkpoint_verifies_with_log_and_witness_keys() -> None:
    cosigned = add_cosignature(_signed_checkpoint(), WITNESS, timestamp=T)
    witness_line = parse_note(cosigned).signatures[-1]
    assert witness_line.signature[:8] == T.to_bytes(8, "big")
    assert len(witness_line.signature) == 72
    opened = verify_note(cosigned, [LOG.verifier(), WITNESS.verifier()])
    assert len(opened.verified) == 2
    assert cosignature_timestamp(opened, WITNESS.verifier()) == T


def test_cosignature_over_a_different_time_fails() -> None:
    cosigned = add_cosignature(_signed_checkpoint(), WITNESS, timestamp=T)
    note = parse_note(cosigned)
    sig = note.signatures[-1].signature
    forged = (T + 1).to_bytes(8, "big") + sig[8:]
    assert not WITNESS.verifier().verify(note.text.encode(), forged)
    assert WITNESS.verifier().verify(note.text.encode(), sig)


def test_cosignature_is_not_a_plain_note_signature() -> None:
    # Same key and name as type 0x01: the key ID differs, so the line is simply unknown.
    cosigned = add_cosignature(_signed_checkpoint(), WITNESS, timestamp=T)
    plain = Ed25519NoteVerifier(WITNESS.name, WITNESS.verifier().public_key)
    with pytest.raises(NoteVerificationError, match="no signature from a trusted key"):
        verify_note(cosigned, [plain])


def test_bad_cosignature_rejects_the_note() -> None:
    note = parse_note(add_cosignature(_signed_checkpoint(), WITNESS, timestamp=T))
    log_line, witness_line = note.signatures
    other = CosignatureSigner(WITNESS.name, bytes(range(3, 35)))
    with pytest.raises(NoteVerificationError, match="no signature from a trusted key"):
        verify_note(note.encode(), [other.verifier()])
    sig = bytearray(witness_line.signature)
    sig[-1] ^= 1
    bad = NoteSignature(witness_line.name, witness_line.key_id, bytes(sig))
    tampered = Note(note.text, (log_line, bad)).encode()
    with pytest.raises(NoteVerificationError, match=r"witness\.example\.com/w1 .* does not verify"):
        verify_note(tampered, [LOG.verifier(), WITNESS.verifier()])


def test_only_checkpoints_are_cosigned() -> None:
    log_line = parse_note(_signed_checkpoint()).signatures[0].line()
    with pytest.raises(CheckpointFormatError, match="needs origin, tree size and root hash"):
        add_cosignature("not a checkpoint\n\n" + log_line, WITNESS, timestamp=T)
    with pytest.raises(MalformedNoteError):
        add_cosignature("garbage", WITNESS, timestamp=T)


def test_wrong_key_type_is_refused() -> None:
    with pytest.raises(KeyFormatError, match="type is 0x01, expected 0x04"):
        CosignatureVerifier.from_vkey(LOG.verifier().vkey)
    with pytest.raises(KeyFormatError, match="type is 0x04, expected 0x01"):
        Ed25519NoteVerifier.from_vkey(WITNESS.verifier().vkey)


def test_timestamp_lookup_needs_a_verified_cosignature() -> None:
    opened = verify_note(_signed_checkpoint(), [LOG.verifier()])
    with pytest.raises(CosignatureError, match="no verified cosignature"):
        cosignature_timestamp(opened, WITNESS.verifier())
