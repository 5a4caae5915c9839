"""C2SP tlog-cosignature/v1 (c2sp.org/tlog-cosignature): timestamped Ed25519 cosignatures."""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidSignature

from sparecap.domain.ledger.checkpoint import parse_checkpoint
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.note import (
    ED25519_KEY_SIZE,
    ED25519_SIGNATURE_SIZE,
    SIGNER_KEY_PREFIX,
    KeyRecord,
    KeyRecordAccessors,
    Note,
    NoteSignature,
    VerifiedNote,
    check_key_name,
    compute_key_id,
    ed25519_private_from_record,
    ed25519_private_from_seed,
    ed25519_public_bytes,
    ed25519_public_from_record,
    parse_note,
    parse_skey,
    parse_vkey,
)

# signed-note "Signature types" / tlog-cosignature "Format": 0x04 is the timestamped Ed25519
# cosignature; hashing it into the key ID keeps a witness key from verifying plain notes.
ALG_COSIGNATURE_V1 = 0x04
TIMESTAMP_SIZE = 8
# tlog-cosignature: the timestamp "MUST NOT exceed 2^63 - 1".
MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_SIZE = TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE


class CosignatureError(LedgerError):
    """A cosignature that is malformed, missing or does not verify."""


def cosigned_message(body: bytes, timestamp: int) -> bytes:
    """The Ed25519 signed message: `cosignature/v1`, `time <T>`, then the whole checkpoint body."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"cosignature timestamp {timestamp!r} is outside 0..2^63-1")
    # "time", one space, ASCII decimal with no leading zeroes (tlog-cosignature "Ed25519 signed
    # message"); the header line gives domain separation from plain note signatures.
    return b"cosignature/v1\ntime %d\n" % timestamp + body


class CosignatureVerifier(KeyRecordAccessors):
    """Verifies a witness's `timestamped_signature` over a checkpoint (a `NoteVerifier`)."""

    def __init__(self, name: str, public_key: bytes) -> None:
        key_id = compute_key_id(check_key_name(name), ALG_COSIGNATURE_V1, public_key)
        record = KeyRecord(name, key_id, ALG_COSIGNATURE_V1, public_key)
        self._public = ed25519_public_from_record(record, ALG_COSIGNATURE_V1)
        self._record = record

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        record = parse_vkey(vkey)
        ed25519_public_from_record(record, ALG_COSIGNATURE_V1)  # checks type byte and key ID
        return cls(record.name, record.key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != COSIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        message = cosigned_message(text, timestamp)
        try:
            self._public.verify(signature[TIMESTAMP_SIZE:], message)
        except InvalidSignature:
            return False
        return True


class CosignatureSigner:
    """A witness's Ed25519 key, signing `cosignature/v1` messages at a given time."""

    def __init__(self, name: str, seed: bytes) -> None:
        self._private = ed25519_private_from_seed(seed)
        public = ed25519_public_bytes(self._private)
        key_id = compute_key_id(check_key_name(name), ALG_COSIGNATURE_V1, public)
        self._record = KeyRecord(name, key_id, ALG_COSIGNATURE_V1, seed)

    @classmethod
    def from_skey(cls, skey: str) -> CosignatureSigner:
        record = parse_skey(skey)
        ed25519_private_from_record(record, ALG_COSIGNATURE_V1)
        return cls(record.name, record.key)

    @classmethod
    def generate(cls, name: str) -> CosignatureSigner:
        return cls(name, secrets.token_bytes(ED25519_KEY_SIZE))

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def key_id(self) -> int:
        return self._record.key_id

    @property
    def skey(self) -> str:
        return SIGNER_KEY_PREFIX + self._record.encode()

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, ed25519_public_bytes(self._private))

    def sign_at(self, body: str, timestamp: int) -> bytes:
        """The 72-byte `timestamped_signature`: u64 big-endian timestamp, then the signature."""
        signature = self._private.sign(cosigned_message(body.encode(), timestamp))
        return timestamp.to_bytes(TIMESTAMP_SIZE, "big") + signature


def add_cosignature(signed_checkpoint: str, signer: CosignatureSigner, *, timestamp: int) -> str:
    """Append the witness's cosignature line to a signed checkpoint note.

    The caller must already have verified the log's signature and consistency (see witness.py);
    the time comes from the caller's clock, never read here.
    """
    note = parse_note(signed_checkpoint)
    parse_checkpoint(note.text)  # a cosignature is only ever over a well-formed checkpoint
    line = NoteSignature(signer.name, signer.key_id, signer.sign_at(note.text, timestamp))
    return Note(note.text, (*note.signatures, line)).encode()


def cosignature_timestamp(note: VerifiedNote, verifier: CosignatureVerifier) -> int:
    """The time at which `verifier`'s witness cosigned a note that verified with it."""
    for sig in note.verified:
        if (sig.name, sig.key_id) == (verifier.name, verifier.key_id):
            return int.from_bytes(sig.signature[:TIMESTAMP_SIZE], "big")
    raise CosignatureError(f"note has no verified cosignature from {verifier.name}")
