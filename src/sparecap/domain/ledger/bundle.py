"""Offline verification of an evidence bundle: entries, inclusion proofs, a signed checkpoint,
and, for finality, witnesses' cosignatures of that checkpoint.

Needs nothing but the bundle, the log's verifier key and the witnesses' keys: no server, no
database.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sparecap.domain.ledger.checkpoint import Checkpoint, open_checkpoint
from sparecap.domain.ledger.cosignature import CosignatureVerifier
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import leaf_hash, verify_inclusion
from sparecap.domain.ledger.note import Ed25519NoteVerifier, parse_note

BUNDLE_FORMAT = "sparecap-evidence/v1"


class BundleError(LedgerError):
    """A bundle that does not prove what it claims; the message names the part that failed."""


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    seq: int
    entry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    checkpoint: Checkpoint
    entries: list[VerifiedEntry]
    cosigned_by: tuple[str, ...] = ()  # the trusted witnesses whose cosignatures verified


def _field(obj: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind):
        raise BundleError(f"{where}: '{name}' is missing or not a {kind.__name__}")
    return value


def verify_bundle(
    bundle: Mapping[str, Any],
    *,
    trusted_vkey: str | None = None,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
) -> VerifiedBundle:
    """Check the checkpoint's signature, every entry's inclusion proof against its root, and
    that at least `quorum` of the trusted `witnesses` cosigned the checkpoint.

    `trusted_vkey` is the log's key as the verifier knows it from elsewhere; without it the key
    in the bundle is used, which proves integrity but not who signed. Witness keys are never
    taken from the bundle: finality means something only with keys known from elsewhere.
    """
    if quorum > len(witnesses):
        raise BundleError(f"a quorum of {quorum} needs at least {quorum} trusted witness keys")
    if bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"not a {BUNDLE_FORMAT} bundle")
    vkey = trusted_vkey or _field(bundle, "verifier_key", str, "bundle")
    try:
        verifier = Ed25519NoteVerifier.from_vkey(vkey)
        checkpoint = open_checkpoint(
            _field(bundle, "checkpoint", str, "bundle"),
            [verifier],
            origin=_field(bundle, "origin", str, "bundle"),
        )
    except LedgerError as exc:
        raise BundleError(f"checkpoint: {exc}") from exc
    entries = [
        _verified_entry(item, f"entry #{i}", checkpoint)
        for i, item in enumerate(_field(bundle, "entries", list, "bundle"))
    ]
    cosigned_by = check_cosignatures(bundle["checkpoint"], witnesses, quorum)
    return VerifiedBundle(checkpoint, entries, cosigned_by)


def _verified_entry(item: Mapping[str, Any], where: str, checkpoint: Checkpoint) -> VerifiedEntry:
    seq = _field(item, "seq", int, where)
    payload = _field(item, "payload", str, where)
    try:
        proof = [base64.b64decode(h, validate=True) for h in item.get("inclusion_proof", [])]
        verify_inclusion(
            leaf_hash(payload.encode()), seq, checkpoint.size, proof, checkpoint.root_hash
        )
    except (binascii.Error, LedgerError) as exc:
        raise BundleError(f"{where} (seq {seq}): not in the signed log: {exc}") from exc
    return VerifiedEntry(seq, json.loads(payload))


def check_cosignatures(
    signed_checkpoint: str, witnesses: Sequence[CosignatureVerifier], quorum: int
) -> tuple[str, ...]:
    """The witnesses whose cosignature on the checkpoint verifies. BundleError names a trusted
    witness whose line fails, or those missing when fewer than `quorum` verify."""
    note = parse_note(signed_checkpoint)
    text = note.text.encode()
    good: list[str] = []
    missing: list[str] = []
    for witness in witnesses:
        lines = [s for s in note.signatures if (s.name, s.key_id) == (witness.name, witness.key_id)]
        if not lines:
            missing.append(f"{witness.name}: no cosignature")
        elif all(witness.verify(text, line.signature) for line in lines):
            good.append(witness.name)
        else:
            # As signed-note rules for any known key: one bad line rejects the note, quorum or not.
            raise BundleError(f"cosignature of {witness.name} does not verify: forged or altered")
    if len(good) < quorum:
        raise BundleError(
            f"checkpoint {len(good)} of {quorum} required cosignatures: not final "
            f"({'; '.join(missing)})"
        )
    return tuple(good)
