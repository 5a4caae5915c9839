"""The ledger's secrets on disk: the Ed25519 checkpoint key and the pseudonym salt, and the
public keys of the checkpoint keys it retired.

The key file is readable by the server's user only (mode 0600, folder 0700), never in the
database: whoever can read the database must not be able to sign checkpoints or unmask people.
Rotation writes a new key file with a fresh key and the same salt (pseudonyms must not change),
after adding the old key's verifier key and the retirement time to `<key file>.retired`, so that
checkpoints signed before the rotation still verify.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.note import (
    Ed25519NoteSigner,
    Ed25519NoteVerifier,
    NoteVerifier,
    parse_note,
)

SALT_BYTES = 32
RETIRED_SUFFIX = ".retired"


class KeyFileError(Exception):
    """A key file that is unreadable, malformed or open to other users."""


@dataclass(frozen=True, slots=True)
class RetiredKey:
    """A checkpoint key no longer used for signing: its public half and when it stopped."""

    verifier: Ed25519NoteVerifier
    retired_at: datetime


@dataclass(frozen=True)
class LedgerKeys:
    signer: Ed25519NoteSigner
    salt: bytes
    retired: tuple[RetiredKey, ...] = ()

    @property
    def verifier(self) -> Ed25519NoteVerifier:
        return self.signer.verifier()

    @property
    def verifiers(self) -> Sequence[NoteVerifier]:
        """Every key that ever signed our checkpoints, the current one first."""
        return (self.verifier, *(r.verifier for r in self.retired))

    def vkey_for(self, signed_note: str) -> str:
        """The verifier key of whichever of our keys signed this note (current if unsure)."""
        ours = {(v.name, v.key_id): v for v in (self.verifier, *(r.verifier for r in self.retired))}
        for signature in parse_note(signed_note).signatures:
            key = ours.get((signature.name, signature.key_id))
            if key is not None:
                return key.vkey
        return self.verifier.vkey


def load_or_create_keys(path: Path, origin: str) -> LedgerKeys:
    """Read the key file, or create it (with a fresh key for `origin`) if it does not exist."""
    if not path.exists():
        _create(path, Ed25519NoteSigner.generate(origin), secrets.token_bytes(SALT_BYTES))
    _check_private(path)
    try:
        skey, salt_hex = path.read_text().split()
        keys = LedgerKeys(
            Ed25519NoteSigner.from_skey(skey), bytes.fromhex(salt_hex), _read_retired(path)
        )
    except (ValueError, OSError, LedgerError) as exc:
        raise KeyFileError(f"{path} is not a Sparecap ledger key file: {exc}") from exc
    if keys.signer.name != origin:
        raise KeyFileError(f"{path} signs for {keys.signer.name!r}, not this log {origin!r}")
    return keys


def rotate_keys(path: Path, origin: str, *, now: datetime) -> LedgerKeys:
    """Retire the current checkpoint key (keeping its public half) and start signing with a
    new one. The salt stays: pseudonyms already on the log must keep their meaning."""
    old = load_or_create_keys(path, origin)
    retired = path.with_name(path.name + RETIRED_SUFFIX)
    lines = "".join(f"{r.verifier.vkey} {r.retired_at.isoformat()}\n" for r in old.retired)
    # The retired list first: a crash between the two writes leaves the old key both current
    # and retired, which verifies everything; the other order could orphan old checkpoints.
    _replace_private(retired, lines + f"{old.verifier.vkey} {now.isoformat()}\n")
    new = Ed25519NoteSigner.generate(origin)
    _replace_private(path, _key_text(new, old.salt))
    return load_or_create_keys(path, origin)


def _read_retired(path: Path) -> tuple[RetiredKey, ...]:
    retired = path.with_name(path.name + RETIRED_SUFFIX)
    if not retired.exists():
        return ()
    _check_private(retired)
    keys = []
    for number, line in enumerate(retired.read_text().splitlines(), 1):
        try:
            vkey, when = line.split()
            keys.append(
                RetiredKey(Ed25519NoteVerifier.from_vkey(vkey), datetime.fromisoformat(when))
            )
        except (ValueError, LedgerError) as exc:
            raise KeyFileError(f"{retired}:{number}: not '<vkey> <retired at>': {exc}") from exc
    return tuple(keys)


def _check_private(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        raise KeyFileError(f"{path} is readable by other users; chmod 600 it")


def _key_text(signer: Ed25519NoteSigner, salt: bytes) -> str:
    return f"{signer.skey}\n{salt.hex()}\n"


def _create(path: Path, signer: Ed25519NoteSigner, salt: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created with 0600 from the start: no moment where another user could read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process starting beside us wrote it first; use theirs
    with os.fdopen(fd, "w") as out:
        out.write(_key_text(signer, salt))


def _replace_private(path: Path, text: str) -> None:
    """Write a 0600 temporary file, fsync it and rename it over `path`: all or nothing."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
