"""Offline verification of an evidence bundle: entries, inclusion proofs, a signed checkpoint.

Needs nothing but the bundle and the log's verifier key: no server, no database.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sparecap.domain.ledger.checkpoint import Checkpoint, open_checkpoint
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.merkle import leaf_hash, verify_inclusion
from sparecap.domain.ledger.note import Ed25519NoteVerifier

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


def _field(obj: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind):
        raise BundleError(f"{where}: '{name}' is missing or not a {kind.__name__}")
    return value


def verify_bundle(bundle: Mapping[str, Any], *, trusted_vkey: str | None = None) -> VerifiedBundle:
    """Check the checkpoint's signature and every entry's inclusion proof against its root.

    `trusted_vkey` is the log's key as the verifier knows it from elsewhere; without it the key
    in the bundle is used, which proves integrity but not who signed.
    """
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
    entries = []
    for i, item in enumerate(_field(bundle, "entries", list, "bundle")):
        where = f"entry #{i}"
        seq = _field(item, "seq", int, where)
        payload = _field(item, "payload", str, where)
        try:
            proof = [base64.b64decode(h, validate=True) for h in item.get("inclusion_proof", [])]
            verify_inclusion(
                leaf_hash(payload.encode()), seq, checkpoint.size, proof, checkpoint.root_hash
            )
        except (binascii.Error, LedgerError) as exc:
            raise BundleError(f"{where} (seq {seq}): not in the signed log: {exc}") from exc
        entries.append(VerifiedEntry(seq, json.loads(payload)))
    return VerifiedBundle(checkpoint, entries)
