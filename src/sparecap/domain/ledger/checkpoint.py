"""C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed tree head's note body."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import HASH_SIZE
from sparecap.domain.ledger.note import (
    MalformedNoteError,
    NoteSigner,
    NoteVerifier,
    check_note_text,
    decode_base64,
    sign_note,
    verify_note,
)

# tlog-checkpoint "Note text" item 2: ASCII decimal, no leading zeroes except the empty tree.
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
# Tree sizes are unsigned 64-bit in every tlog implementation (RFC 9162 §4.10 uses uint64).
MAX_TREE_SIZE = 2**64 - 1


class CheckpointFormatError(LedgerError):
    """A checkpoint body that breaks c2sp.org/tlog-checkpoint."""


class OriginMismatchError(LedgerError):
    """A checkpoint from a different log than the one expected."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Origin, tree size and root hash, plus the optional (discouraged) extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin:
            raise CheckpointFormatError("origin line is empty")
        if "\n" in self.origin:
            raise CheckpointFormatError("origin contains a newline")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointFormatError(
                f"tree size {self.size!r} is not an unsigned 64-bit integer"
            )
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointFormatError(
                f"root hash is {len(self.root_hash)} bytes, expected {HASH_SIZE} (SHA-256)"
            )
        for i, ext in enumerate(self.extensions):
            if not ext or "\n" in ext:
                raise CheckpointFormatError(f"extension line {i + 1} is empty or holds a newline")

    def body(self) -> str:
        """The note text: one line each for origin, size, base64 root, then extensions."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        text = "\n".join([*lines, *self.extensions]) + "\n"
        try:
            check_note_text(text)
        except MalformedNoteError as exc:
            raise CheckpointFormatError(f"checkpoint cannot be a note text: {exc}") from exc
        return text


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (without signatures), strictly."""
    if not text.endswith("\n"):
        raise CheckpointFormatError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointFormatError(
            f"checkpoint has {len(lines)} lines, needs origin, tree size and root hash"
        )
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise CheckpointFormatError("origin line is empty")
    if not _SIZE_RE.fullmatch(size_line):
        raise CheckpointFormatError(
            f"tree size line {size_line!r} is not a decimal number without leading zeroes"
        )
    size = int(size_line)
    if size > MAX_TREE_SIZE:
        raise CheckpointFormatError(f"tree size {size} exceeds 2^64 - 1")
    root = decode_base64(root_line, "root hash line", CheckpointFormatError)
    for i, ext in enumerate(extensions):
        if not ext:
            raise CheckpointFormatError(f"extension line {i + 1} is empty")
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    try:
        check_note_text(text)
    except MalformedNoteError as exc:
        raise CheckpointFormatError(str(exc)) from exc
    return checkpoint


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[NoteSigner]) -> str:
    """Sign a checkpoint body; the log's key name SHOULD be its origin (tlog-checkpoint)."""
    return sign_note(checkpoint.body(), signers)


def open_checkpoint(
    message: str | bytes, verifiers: Sequence[NoteVerifier], *, origin: str
) -> Checkpoint:
    """Verify a signed checkpoint with the log's key(s), parse it and check its origin."""
    note = verify_note(message, verifiers)
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != origin:
        raise OriginMismatchError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected log {origin!r}"
        )
    return checkpoint
