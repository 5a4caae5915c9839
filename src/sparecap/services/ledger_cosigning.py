"""Asking witnesses to cosign our newest checkpoint (the client side of C2SP tlog-witness).

For each configured witness: send `old <size>` (the size it last cosigned for us), the
consistency proof from there, and the signed checkpoint; check the cosignature line it answers
with against its configured key before storing it. A 409 with the witness's own size (it lost
our last answer, or its state was reset) is answered once more, from that size. Network calls
happen outside any database transaction: a slow witness must not hold the log's locks.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sparecap.db.engine import Database
from sparecap.db.ledger import LedgerCosignature
from sparecap.domain.clock import Clock
from sparecap.domain.ledger.cosignature import cosignature_timestamp
from sparecap.domain.ledger.errors import LedgerError
from sparecap.domain.ledger.note import NoteVerifier, verify_note
from sparecap.gateways.witness_client import WitnessClient, WitnessUnreachableError
from sparecap.services.errors import NotFoundError
from sparecap.services.ledger import consistency_hashes, latest_checkpoint
from sparecap.services.ledger_finality import FinalityPolicy, WitnessPeer

# tlog-witness "add-checkpoint": a 409 whose body is the witness's size has this content type.
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_SIZE_BODY = re.compile(r"(0|[1-9][0-9]*)\n")


@dataclass(frozen=True, slots=True)
class Submission:
    """What one witness did with one checkpoint: `cosigned`, `already` (had it) or `failed`."""

    witness: str
    size: int
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Round:
    """One offer of the newest checkpoint (`size`, signed `note`) to the witnesses."""

    db: Database
    client: WitnessClient
    log_verifiers: Sequence[NoteVerifier]
    size: int
    note: str


@dataclass(frozen=True, slots=True)
class _Cosignature:
    line: str
    timestamp: int


class _RefusedError(Exception):
    """The witness refused, did not answer, or answered something we cannot accept."""


def submit_latest(
    db: Database,
    *,
    client: WitnessClient,
    policy: FinalityPolicy,
    log_verifiers: Sequence[NoteVerifier],
    clock: Clock,
) -> list[Submission]:
    """Offer the newest checkpoint to every configured witness that has not cosigned it."""
    with db.read() as session:
        try:
            latest = latest_checkpoint(session)
        except NotFoundError:
            return []
        offer = _Round(db, client, log_verifiers, latest.size, latest.note)
        done = _cosigned_sizes(session, policy.witnesses)
    results = []
    for peer in policy.witnesses:
        last = done.get(peer.name, 0)
        if last >= offer.size:
            results.append(Submission(peer.name, offer.size, "already"))
            continue
        try:
            cosignature = _ask(offer, peer, last)
        except _RefusedError as exc:
            results.append(Submission(peer.name, offer.size, "failed", str(exc)))
            continue
        _store(db, peer, offer.size, cosignature, clock.now())
        results.append(Submission(peer.name, offer.size, "cosigned"))
    return results


def _cosigned_sizes(session: Session, witnesses: Sequence[WitnessPeer]) -> dict[str, int]:
    """The largest checkpoint each witness cosigned with its configured key."""
    found: dict[str, int] = {}
    for peer in witnesses:
        size = session.scalar(
            select(func.max(LedgerCosignature.checkpoint_size)).where(
                LedgerCosignature.witness == peer.name,
                LedgerCosignature.key_id == peer.verifier.key_id,
            )
        )
        if size is not None:
            found[peer.name] = size
    return found


def _ask(offer: _Round, peer: WitnessPeer, old: int) -> _Cosignature:
    """The witness's verified cosignature, after at most one retry from the size it names."""
    for _attempt in range(2):
        try:
            reply = offer.client.add_checkpoint(peer.url, _request(offer, old))
        except WitnessUnreachableError as exc:
            raise _RefusedError(f"unreachable: {exc}") from exc
        if reply.status == 200:
            return _verified(offer, peer, reply.text)
        theirs = _their_size(reply.status, reply.content_type, reply.text)
        if theirs is None:
            raise _RefusedError(f"HTTP {reply.status}: {reply.text.strip()[:300]}")
        if theirs > offer.size:
            raise _RefusedError(
                f"the witness has cosigned size {theirs} of this log, beyond our newest "
                f"checkpoint {offer.size}: our log was rolled back or forked, or the witness "
                "is confused"
            )
        if theirs == old:
            raise _RefusedError(f"the witness refused old size {old} but names the same size")
        old = theirs
    raise _RefusedError(f"the witness moved its size twice (now {old}); retrying next round")


def _request(offer: _Round, old: int) -> bytes:
    """tlog-witness "add-checkpoint" body: `old N`, proof lines, blank line, signed note."""
    proof: list[bytes] = []
    if 0 < old < offer.size:
        with offer.db.read() as session:
            proof = consistency_hashes(session, first=old, second=offer.size)
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{offer.note}".encode()


def _their_size(status: int, content_type: str, text: str) -> int | None:
    if status != 409 or not content_type.startswith(SIZE_CONTENT_TYPE):
        return None
    match = _SIZE_BODY.fullmatch(text)
    return int(match[1]) if match else None


def _verified(offer: _Round, peer: WitnessPeer, text: str) -> _Cosignature:
    """Pick the witness's line from its answer and check it over our exact checkpoint text."""
    try:
        note = verify_note(offer.note + text, [*offer.log_verifiers, peer.verifier])
        timestamp = cosignature_timestamp(note, peer.verifier)
    except LedgerError as exc:
        raise _RefusedError(f"its answer is not a valid cosignature by {peer.name}: {exc}") from exc
    line = next(
        s.line() for s in note.verified if (s.name, s.key_id) == (peer.name, peer.verifier.key_id)
    )
    return _Cosignature(line, timestamp)


def _store(
    db: Database, peer: WitnessPeer, size: int, cosignature: _Cosignature, now: datetime
) -> None:
    with db.write() as session:
        if session.get(LedgerCosignature, (size, peer.name)) is not None:
            return  # another server process stored the same witness's answer first
        session.add(
            LedgerCosignature(
                checkpoint_size=size,
                witness=peer.name,
                key_id=peer.verifier.key_id,
                line=cosignature.line,
                cosigned_at=datetime.fromtimestamp(cosignature.timestamp, UTC),
                received_at=now,
            )
        )
