"""Sparecap as a C2SP tlog-witness (c2sp.org/tlog-witness) that cosigns other logs' checkpoints.

For each log it is configured to trust, the witness keeps the latest checkpoint it cosigned and
cosigns a new one only if it provably extends that one (no rollback, no fork). The state lives
in one small JSON file per log in the folder SPARECAP_WITNESS_STATE names, updated under an
exclusive file lock so that the check and the update are one atomic step, as the spec demands,
across threads and server processes on one machine. The witness key is a 0600 file beside the
ledger key.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sparecap.domain.ledger.checkpoint import Checkpoint, CheckpointFormatError, parse_checkpoint
from sparecap.domain.ledger.cosignature import CosignatureSigner
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import HASH_SIZE, ConsistencyProofError
from sparecap.domain.ledger.note import (
    Ed25519NoteVerifier,
    MalformedNoteError,
    NoteSignature,
    NoteVerificationError,
    decode_base64,
    parse_note,
    verify_note,
)
from sparecap.domain.ledger.witness import ForkError, RollbackError, check_update
from sparecap.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
)

WITNESS_KEY_FILE = "witness.key"
# tlog-witness "add-checkpoint": "The client MUST NOT send more than 63 consistency proof lines."
MAX_PROOF_LINES = 63
# 63 proof lines take 2.8 kB and a checkpoint with the 100 signatures signed-note lets a
# verifier accept about 10 kB; anything much larger is not a witness request.
MAX_REQUEST_BYTES = 64 * 1024
# tlog-witness "add-checkpoint": the 409 answer's body is the size, with this content type.
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)")


class WitnessConfigError(RuntimeError):
    """A witness key file or trusted-logs file that is unreadable, malformed or too open."""


class WitnessStateError(RuntimeError):
    """A state file that does not describe the log it is stored for."""


class WitnessRequestError(ServiceError):
    """A malformed add-checkpoint request; no status in the API table, so it answers 400."""

    code = "bad_request"


class OldSizeMismatchError(ConflictError):
    """The client's old size is not the size this witness last cosigned (409, with that size)."""

    code = "old_size_mismatch"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, size=size)
        self.size = size


@dataclass(frozen=True)
class Witness:
    """The witness key, the logs it trusts (origin -> their keys) and its state folder."""

    cosigner: CosignatureSigner
    logs: Mapping[str, tuple[Ed25519NoteVerifier, ...]]
    state_dir: Path


@dataclass(frozen=True, slots=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    signed_checkpoint: str


def load_witness(
    *,
    logs: Path | None,
    state_dir: Path,
    name: str | None,
    ledger_key_path: Path,
    ledger_origin: str,
) -> Witness:
    """Read (or create) the witness key beside the ledger key, and the trusted-logs file.

    `name` defaults to `<ledger origin>/witness`; `logs` unset means no log is witnessed.
    """
    name = name or f"{ledger_origin}/witness"
    cosigner = load_or_create_cosigner(ledger_key_path.with_name(WITNESS_KEY_FILE), name)
    return Witness(cosigner, read_trusted_logs(logs), state_dir)


def load_or_create_cosigner(path: Path, name: str) -> CosignatureSigner:
    """The witness's Ed25519 cosignature key: a separate key from the log's (tlog-cosignature
    "Ed25519 signed message": the message does not commit to the signer's role)."""
    if not path.exists():
        _create_private_file(path, CosignatureSigner.generate(name).skey + "\n")
    if path.stat().st_mode & 0o077:
        raise WitnessConfigError(f"{path} is readable by other users; chmod 600 it")
    try:
        signer = CosignatureSigner.from_skey(path.read_text().strip())
    except (LedgerError, OSError) as exc:
        raise WitnessConfigError(f"{path} is not a witness key file: {exc}") from exc
    if signer.name != name:
        raise WitnessConfigError(f"{path} holds the key of {signer.name!r}, not {name!r}")
    return signer


def _create_private_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another worker created it first; use theirs
    with os.fdopen(fd, "w") as out:
        out.write(text)


def read_trusted_logs(path: Path | None) -> dict[str, tuple[Ed25519NoteVerifier, ...]]:
    """Parse `<origin> <vkey>` lines (blank lines and # comments skipped); a log may have many."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessConfigError(f"cannot read the witness's trusted logs {path}: {exc}") from exc
    logs: dict[str, dict[tuple[str, int], Ed25519NoteVerifier]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(maxsplit=1)
        if len(parts) != 2:
            raise WitnessConfigError(f"{path}:{number}: expected '<origin> <vkey>'")
        try:
            verifier = Ed25519NoteVerifier.from_vkey(parts[1])
        except LedgerError as exc:
            raise WitnessConfigError(f"{path}:{number}: {exc}") from exc
        logs.setdefault(parts[0], {})[(verifier.name, verifier.key_id)] = verifier
    return {origin: tuple(keys.values()) for origin, keys in logs.items()}


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Split a request body: `old <size>`, proof lines, an empty line, the signed checkpoint."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRequestError(f"request body is over {MAX_REQUEST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessRequestError("request body is not UTF-8") from exc
    head, sep, signed_checkpoint = text.partition("\n\n")
    if not sep:
        raise WitnessRequestError("request has no empty line before the checkpoint")
    old_line, *proof_lines = head.split("\n")
    # tlog-witness "add-checkpoint": `old`, one space, decimal without leading zeroes.
    match = _OLD_LINE.fullmatch(old_line)
    if match is None:
        raise WitnessRequestError(f"first line {old_line[:40]!r} is not 'old <size>'")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessRequestError(
            f"request has {len(proof_lines)} proof lines, more than {MAX_PROOF_LINES}"
        )
    proof = tuple(_proof_hash(line, i) for i, line in enumerate(proof_lines, 1))
    return AddCheckpointRequest(int(match[1]), proof, signed_checkpoint)


def _proof_hash(line: str, number: int) -> bytes:
    try:
        value = decode_base64(line, f"proof line {number}", ConsistencyProofError)
    except ConsistencyProofError as exc:
        raise WitnessRequestError(str(exc)) from exc
    if len(value) != HASH_SIZE:
        raise WitnessRequestError(f"proof line {number} is {len(value)} bytes, not a hash")
    return value


def add_checkpoint(witness: Witness, *, body: bytes, at: datetime) -> str:
    """tlog-witness "add-checkpoint": check a log's checkpoint and return our cosignature line.

    The old-size check, the consistency check and saving the new state happen under the log's
    lock, so two racing requests can never roll the recorded size back (spec, last paragraph).
    """
    request = parse_add_checkpoint(body)
    checkpoint, text = _open_checkpoint(witness, request.signed_checkpoint)
    if request.old_size > checkpoint.size:
        raise WitnessRequestError(
            f"rollback refused: old size {request.old_size} is larger than the checkpoint's "
            f"size {checkpoint.size}, and a log can only grow"
        )
    store = _StateFile(witness.state_dir, checkpoint.origin)
    with store.locked():
        previous = store.load()
        _check_old_size(previous, request.old_size, checkpoint.origin)
        try:
            _check_extends(previous, checkpoint, request.proof)
        except ServiceError:
            # tlog-witness: the witness MAY keep a refused, log-signed request as evidence.
            store.keep_evidence(body)
            raise
        timestamp = int(at.timestamp())
        line = NoteSignature(
            witness.cosigner.name,
            witness.cosigner.key_id,
            witness.cosigner.sign_at(text, timestamp),
        ).line()
        # "The witness MUST persist the new checkpoint before responding."
        store.save(text, timestamp)
    return line


def _open_checkpoint(witness: Witness, signed_checkpoint: str) -> tuple[Checkpoint, str]:
    """Parse the note, find the log by origin (404) and check its signature (403).

    Returns the checkpoint and the note text exactly as the log signed it.
    """
    try:
        note = parse_note(signed_checkpoint)
        checkpoint = parse_checkpoint(note.text)
    except (MalformedNoteError, CheckpointFormatError) as exc:
        raise WitnessRequestError(f"not a signed checkpoint: {exc}") from exc
    verifiers = witness.logs.get(checkpoint.origin)
    if not verifiers:
        raise NotFoundError(
            f"this witness does not witness the log {checkpoint.origin!r}", code="unknown_log"
        )
    try:
        # Signatures from unknown keys are ignored, as tlog-witness requires.
        verify_note(signed_checkpoint, verifiers)
    except NoteVerificationError as exc:
        raise ForbiddenError(
            f"checkpoint of {checkpoint.origin!r} is not signed by its key: {exc}",
            code="untrusted_checkpoint",
        ) from exc
    return checkpoint, note.text


def _check_old_size(previous: Checkpoint | None, old_size: int, origin: str) -> None:
    recorded = previous.size if previous else 0
    if old_size != recorded:
        raise OldSizeMismatchError(
            f"old size {old_size} does not match the size this witness last cosigned for "
            f"{origin!r}, which is {recorded}",
            size=recorded,
        )


def _check_extends(previous: Checkpoint | None, new: Checkpoint, proof: tuple[bytes, ...]) -> None:
    """Equal sizes need equal roots (409); growth needs a verifying proof (422)."""
    if previous is None and proof:
        raise InvalidInputError(
            "the consistency proof MUST be empty when the old size is 0", code="bad_proof"
        )
    try:
        check_update(previous, new, proof)
    except ForkError as exc:
        raise ConflictError(str(exc), code="fork") from exc
    except RollbackError as exc:  # unreachable after the size checks; kept for safety
        raise WitnessRequestError(str(exc)) from exc
    except ConsistencyProofError as exc:
        raise InvalidInputError(str(exc), code="inconsistent_checkpoint") from exc


class _StateFile:
    """One log's latest cosigned checkpoint, as `<sha256(origin)>.json` in the state folder."""

    def __init__(self, folder: Path, origin: str) -> None:
        self._folder = folder
        self._origin = origin
        stem = hashlib.sha256(origin.encode()).hexdigest()[:32]
        self._path = folder / f"{stem}.json"
        self._lock = folder / f"{stem}.lock"
        self._evidence = folder / f"{stem}.refused"

    @contextmanager
    def locked(self) -> Iterator[None]:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def load(self) -> Checkpoint | None:
        try:
            state = json.loads(self._path.read_text(encoding="utf-8"))
            checkpoint = parse_checkpoint(state["checkpoint"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WitnessStateError(f"{self._path} is not a witness state file: {exc}") from exc
        if checkpoint.origin != self._origin:
            raise WitnessStateError(
                f"{self._path} holds {checkpoint.origin!r}, not {self._origin!r}"
            )
        return checkpoint

    def save(self, text: str, timestamp: int) -> None:
        state = {"origin": self._origin, "checkpoint": text, "time": timestamp}
        _replace_durably(self._path, json.dumps(state, indent=1) + "\n")

    def keep_evidence(self, body: bytes) -> None:
        self._evidence.mkdir(mode=0o700, exist_ok=True)
        name = hashlib.sha256(body).hexdigest()[:32]  # one file per distinct request
        _replace_durably(self._evidence / f"{name}.txt", body.decode("utf-8"))


def _replace_durably(path: Path, text: str) -> None:
    """Write a temporary file, fsync it, rename it over `path`, fsync the folder."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
