"""The verifiable ledger: checkpoints, receipts, consistency proofs, evidence bundles.

Everything here is public: the log is made to be checked by anyone, and it holds no personal
data (people appear as salted pseudonyms).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from sparecap.api.deps import PlatformDep, PrincipalDep
from sparecap.services import ledger as svc
from sparecap.services.bookings import get_booking

router = APIRouter(tags=["ledger"])


@router.get("/v1/ledger/checkpoint", response_class=PlainTextResponse)
def checkpoint(platform: PlatformDep) -> str:
    """The newest signed tree head, a C2SP tlog-checkpoint in a signed note."""
    with platform.db.read() as session:
        return svc.latest_checkpoint(session).note


@router.get("/v1/ledger/key")
def key(platform: PlatformDep) -> dict[str, str]:
    """The log's origin and Ed25519 verifier key (signed-note vkey format)."""
    return {
        "origin": platform.settings.ledger_origin,
        "verifier_key": platform.ledger.verifier.vkey,
    }


@router.get("/v1/ledger/entries/{seq}")
def entry_receipt(seq: int, platform: PlatformDep) -> dict[str, Any]:
    """An entry with its inclusion proof in the newest checkpoint (a receipt)."""
    with platform.db.read() as session:
        return svc.receipt(session, seq=seq)


@router.get("/v1/ledger/consistency")
def consistency(
    platform: PlatformDep,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    """Proof that the tree of size `second` extends the tree of size `first`."""
    with platform.db.read() as session:
        return svc.consistency(session, first=first, second=second)


@router.get("/v1/bookings/{booking_id}/evidence")
def booking_evidence(
    booking_id: int, platform: PlatformDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Every ledger entry of a booking with proofs and the checkpoint: one file for a dispute,
    checked offline by `sparecap ledger verify`."""
    with platform.db.read() as session:
        get_booking(session, principal=principal, booking_id=booking_id)
        seqs = svc.entries_about(session, subject=f"booking:{booking_id}")
        return svc.evidence_bundle(
            session,
            seqs=seqs,
            origin=platform.settings.ledger_origin,
            vkey=platform.ledger.verifier.vkey,
        )
