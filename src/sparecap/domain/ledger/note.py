"""C2SP signed-note (c2sp.org/signed-note): key encodings, Ed25519 signing, note verification."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sparecap.domain.ledger.errors import LedgerError

# signed-note "Signature types": the identifier byte hashed into the key ID and prefixed to vkeys.
ALG_ED25519 = 0x01
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
SIGNATURE_LINE_PREFIX = "— "  # U+2014 EM DASH, space (signed-note "Format")
SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
# signed-note "Format": verifiers MUST accept at least 16 signatures and SHOULD cap them; the Go
# reference (golang.org/x/mod/sumdb/note) caps at 100, which we follow for interoperability.
MAX_SIGNATURES = 100
KEY_ID_SIZE = 4


class KeyFormatError(LedgerError):
    """A key name, verifier key (vkey) or signer key (skey) that is malformed or inconsistent."""


class NoteVerificationError(LedgerError):
    """A note that is not signed by any trusted key, or whose trusted signature does not verify."""


class MalformedNoteError(NoteVerificationError):
    """A note that breaks the signed-note format (not UTF-8, no separator, bad signature line)."""


def check_key_name(name: str) -> str:
    """Key names MUST be non-empty and contain no Unicode spaces or '+' (signed-note "Format")."""
    if not name:
        raise KeyFormatError("key name is empty")
    for ch in name:
        if ch.isspace() or ch == "+" or ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise KeyFormatError(f"key name {name!r} contains a space, '+' or control character")
    return name


def compute_key_id(name: str, alg: int, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || alg || public key)[:4] as a big-endian uint32 (signed-note)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:KEY_ID_SIZE], "big")


def decode_base64(text: str, what: str, error: type[LedgerError]) -> bytes:
    """Strict standard base64 (RFC 4648 §4): padding required, no stray or non-canonical bits."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise error(f"{what} is not valid base64: {text!r}") from exc
    if base64.b64encode(raw).decode() != text:
        raise error(f"{what} is not canonical base64: {text!r}")
    return raw


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """The parts of a vkey or skey: name, key ID, signature type byte and key material."""

    name: str
    key_id: int
    alg: int
    key: bytes

    def encode(self) -> str:
        b64 = base64.b64encode(bytes([self.alg]) + self.key).decode()
        return f"{self.name}+{self.key_id:08x}+{b64}"


def _parse_key_parts(name: str, key_id: str, b64: str, what: str) -> KeyRecord:
    check_key_name(name)
    if len(key_id) != 2 * KEY_ID_SIZE or any(c not in "0123456789abcdef" for c in key_id):
        raise KeyFormatError(f"{what} key ID {key_id!r} is not 8 lowercase hex digits")
    raw = decode_base64(b64, f"{what} key material", KeyFormatError)
    if len(raw) < 2:
        raise KeyFormatError(f"{what} key material is {len(raw)} bytes, too short")
    return KeyRecord(name=name, key_id=int(key_id, 16), alg=raw[0], key=raw[1:])


def parse_vkey(vkey: str) -> KeyRecord:
    """Parse `<name>+<hex key ID>+<base64(type || public key)>`.

    Base64 may itself contain '+', so split at most twice (the name cannot contain '+').
    """
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise KeyFormatError(f"verifier key {vkey!r} is not name+keyid+key")
    return _parse_key_parts(parts[0], parts[1], parts[2], what="verifier")


def parse_skey(skey: str) -> KeyRecord:
    """Parse `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || private key)>`."""
    if not skey.startswith(SIGNER_KEY_PREFIX):
        raise KeyFormatError("signer key does not start with PRIVATE+KEY+")
    parts = skey[len(SIGNER_KEY_PREFIX) :].split("+", 2)
    if len(parts) != 3:
        raise KeyFormatError("signer key is not PRIVATE+KEY+name+keyid+key")
    return _parse_key_parts(parts[0], parts[1], parts[2], what="signer")


def ed25519_private_from_seed(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != ED25519_KEY_SIZE:
        raise KeyFormatError(f"Ed25519 seed is {len(seed)} bytes, expected 32")
    return Ed25519PrivateKey.from_private_bytes(seed)


def ed25519_public_bytes(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def ed25519_private_from_record(record: KeyRecord, alg: int) -> Ed25519PrivateKey:
    """Load an Ed25519 seed from a parsed skey and check its type byte and key ID."""
    if record.alg != alg:
        raise KeyFormatError(f"signer key type is 0x{record.alg:02x}, expected 0x{alg:02x}")
    if len(record.key) != ED25519_KEY_SIZE:
        raise KeyFormatError(f"Ed25519 seed is {len(record.key)} bytes, expected 32")
    private = Ed25519PrivateKey.from_private_bytes(record.key)
    expected = compute_key_id(record.name, alg, ed25519_public_bytes(private))
    if record.key_id != expected:
        raise KeyFormatError(
            f"signer key ID {record.key_id:08x} does not match its key (expected {expected:08x})"
        )
    return private


def ed25519_public_from_record(record: KeyRecord, alg: int) -> Ed25519PublicKey:
    """Load an Ed25519 public key from a parsed vkey and check its type byte and key ID."""
    if record.alg != alg:
        raise KeyFormatError(f"verifier key type is 0x{record.alg:02x}, expected 0x{alg:02x}")
    if len(record.key) != ED25519_KEY_SIZE:
        raise KeyFormatError(f"Ed25519 public key is {len(record.key)} bytes, expected 32")
    expected = compute_key_id(record.name, alg, record.key)
    if record.key_id != expected:
        raise KeyFormatError(
            f"verifier key ID {record.key_id:08x} does not match its key (expected {expected:08x})"
        )
    try:
        return Ed25519PublicKey.from_public_bytes(record.key)
    except ValueError as exc:
        raise KeyFormatError(f"verifier key {record.name} is not an Ed25519 point") from exc


class NoteSigner(Protocol):
    """Produces the signature bytes (without key ID) for a note text."""

    @property
    def name(self) -> str: ...
    @property
    def key_id(self) -> int: ...
    def sign(self, text: bytes) -> bytes: ...


class NoteVerifier(Protocol):
    """Checks a signature (without key ID) over a note text."""

    @property
    def name(self) -> str: ...
    @property
    def key_id(self) -> int: ...
    def verify(self, text: bytes, signature: bytes) -> bool: ...


class KeyRecordAccessors:
    """Name, key ID, public key and vkey of a verifier that keeps its KeyRecord in `_record`."""

    _record: KeyRecord

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def key_id(self) -> int:
        return self._record.key_id

    @property
    def public_key(self) -> bytes:
        return self._record.key

    @property
    def vkey(self) -> str:
        return self._record.encode()


class Ed25519NoteVerifier(KeyRecordAccessors):
    """Signature type 0x01: plain Ed25519 over the note text (signed-note "Ed25519 signatures")."""

    def __init__(self, name: str, public_key: bytes) -> None:
        self._record = KeyRecord(
            check_key_name(name),
            compute_key_id(name, ALG_ED25519, public_key),
            ALG_ED25519,
            public_key,
        )
        self._public = ed25519_public_from_record(self._record, ALG_ED25519)

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519NoteVerifier:
        record = parse_vkey(vkey)
        ed25519_public_from_record(record, ALG_ED25519)  # checks type and key ID before use
        return cls(record.name, record.key)

    def verify(self, text: bytes, signature: bytes) -> bool:
        # OpenSSL follows the ref10/Go rules (rejects non-canonical R and low-order residues), so
        # this verifier agrees with Go note verifiers; see the C2SP CCTV Ed25519 test.
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            self._public.verify(signature, text)
        except InvalidSignature:
            return False
        return True


class Ed25519NoteSigner:
    """Signs note texts with an Ed25519 key (signature type 0x01)."""

    def __init__(self, name: str, seed: bytes) -> None:
        self._private = ed25519_private_from_seed(seed)
        self._seed = seed
        self._name = check_key_name(name)
        self._key_id = compute_key_id(name, ALG_ED25519, ed25519_public_bytes(self._private))

    @classmethod
    def from_skey(cls, skey: str) -> Ed25519NoteSigner:
        record = parse_skey(skey)
        ed25519_private_from_record(record, ALG_ED25519)  # checks type and key ID before use
        return cls(record.name, record.key)

    @classmethod
    def generate(cls, name: str) -> Ed25519NoteSigner:
        return cls(name, secrets.token_bytes(ED25519_KEY_SIZE))

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def skey(self) -> str:
        return (
            SIGNER_KEY_PREFIX
            + KeyRecord(self._name, self._key_id, ALG_ED25519, self._seed).encode()
        )

    def verifier(self) -> Ed25519NoteVerifier:
        return Ed25519NoteVerifier(self._name, ed25519_public_bytes(self._private))

    def sign(self, text: bytes) -> bytes:
        return self._private.sign(text)


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes that follow the key ID."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        raw = self.key_id.to_bytes(KEY_ID_SIZE, "big") + self.signature
        return f"{SIGNATURE_LINE_PREFIX}{self.name} {base64.b64encode(raw).decode()}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A note text (ending in a newline) and its signature lines, not yet verified."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note whose text is vouched for by `verified`; `unverified` are from unknown keys."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def check_note_text(text: str) -> None:
    """Note text MUST end in a newline and hold no control characters but newline (signed-note)."""
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    bad = next((c for c in text if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F), None)
    if bad is not None:
        raise MalformedNoteError(f"note contains control character U+{ord(bad):04X}")


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(SIGNATURE_LINE_PREFIX):
        raise MalformedNoteError(
            f"signature line {number} does not start with an em dash and space"
        )
    name, sep, b64 = line[len(SIGNATURE_LINE_PREFIX) :].partition(" ")
    if not sep:
        raise MalformedNoteError(f"signature line {number} has no space between name and signature")
    try:
        check_key_name(name)
    except KeyFormatError as exc:
        raise MalformedNoteError(f"signature line {number}: {exc}") from exc
    raw = decode_base64(b64, f"signature line {number}", MalformedNoteError)
    if len(raw) <= KEY_ID_SIZE:
        raise MalformedNoteError(
            f"signature line {number} is too short to hold a key ID and signature"
        )
    return NoteSignature(name, int.from_bytes(raw[:KEY_ID_SIZE], "big"), raw[KEY_ID_SIZE:])


def parse_note(message: str | bytes) -> Note:
    """Split a signed note into text and signature lines; checks format only, not signatures."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNoteError("note is not valid UTF-8") from exc
    check_note_text(message)
    # The text may contain blank lines; the last one separates it from the signatures.
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line between text and signatures")
    text, block = message[: split + 1], message[split + 2 :]
    lines = block[:-1].split("\n") if block else []
    if not lines:
        raise MalformedNoteError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    return Note(text, tuple(_parse_signature_line(ln, i + 1) for i, ln in enumerate(lines)))


def add_signatures(note: Note, signers: Sequence[NoteSigner]) -> Note:
    """Append a signature from each signer over the note's text."""
    data = note.text.encode()
    new = tuple(NoteSignature(s.name, s.key_id, s.sign(data)) for s in signers)
    return Note(note.text, note.signatures + new)


def sign_note(text: str, signers: Sequence[NoteSigner]) -> str:
    """Sign `text` with every signer and encode the note."""
    check_note_text(text)
    if not signers:
        raise ValueError("a note needs at least one signer")
    return add_signatures(Note(text, ()), signers).encode()


def verify_note(message: str | bytes, verifiers: Sequence[NoteVerifier]) -> VerifiedNote:
    """Open a note with the trusted verifiers, following signed-note "Signatures".

    Signatures from unknown (name, key ID) pairs are ignored; any failing signature from a
    known key rejects the whole note; at least one known signature must verify.
    """
    note = parse_note(message)
    known: dict[tuple[str, int], NoteVerifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in known:
            raise KeyFormatError(f"two verifiers share name {v.name} and key ID {v.key_id:08x}")
        known[(v.name, v.key_id)] = v
    data = note.text.encode()
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.append(sig)
        elif verifier.verify(data, sig.signature):
            verified.append(sig)
        else:
            raise NoteVerificationError(
                f"signature by {sig.name} (key ID {sig.key_id:08x}) does not verify"
            )
    if not verified:
        names = ", ".join(sorted({v.name for v in verifiers})) or "none"
        raise NoteVerificationError(f"note carries no signature from a trusted key ({names})")
    return VerifiedNote(note.text, tuple(verified), tuple(unverified))
