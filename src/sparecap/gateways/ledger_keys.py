"""The ledger's secrets on disk: the Ed25519 checkpoint key and the pseudonym salt.

They live in one file readable by the server's user only (mode 0600, folder 0700), never in the
database: whoever can read the database must not be able to sign checkpoints or unmask people.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sparecap.domain.ledger.note import Ed25519NoteSigner, Ed25519NoteVerifier

SALT_BYTES = 32


class KeyFileError(Exception):
    """A key file that is unreadable, malformed or open to other users."""


@dataclass(frozen=True)
class LedgerKeys:
    signer: Ed25519NoteSigner
    salt: bytes

    @property
    def verifier(self) -> Ed25519NoteVerifier:
        return self.signer.verifier()


def load_or_create_keys(path: Path, origin: str) -> LedgerKeys:
    """Read the key file, or create it (with a fresh key for `origin`) if it does not exist."""
    if not path.exists():
        _write(path, Ed25519NoteSigner.generate(origin), secrets.token_bytes(SALT_BYTES))
    if path.stat().st_mode & 0o077:
        raise KeyFileError(f"{path} is readable by other users; chmod 600 it")
    try:
        skey, salt_hex = path.read_text().split()
        keys = LedgerKeys(Ed25519NoteSigner.from_skey(skey), bytes.fromhex(salt_hex))
    except (ValueError, OSError) as exc:
        raise KeyFileError(f"{path} is not a Sparecap ledger key file: {exc}") from exc
    if keys.signer.name != origin:
        raise KeyFileError(f"{path} signs for {keys.signer.name!r}, not this log {origin!r}")
    return keys


def _write(path: Path, signer: Ed25519NoteSigner, salt: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created with 0600 from the start: no moment where another user could read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process starting beside us wrote it first; use theirs
    with os.fdopen(fd, "w") as out:
        out.write(f"{signer.skey}\n{salt.hex()}\n")
