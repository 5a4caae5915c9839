"""The verifiable ledger: checkpoints, receipts, consistency proofs, evidence bundles.

Everything here is public: the log is made to be checked by anyone, and it holds no personal
data (people appear as salted pseudonyms). Checkpoints carry the cosignatures of the configured
witnesses that we hold, and say whether a quorum makes them final.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from sparecap.api.deps import PlatformDep, PrincipalDep
from sparecap.services import ledger as svc
from sparecap.services import ledger_finality as finality
from sparecap.services.bookings import get_booking
from sparecap.services.ids import Id

router = APIRouter(tags=["ledger"])


@router.get("/v1/ledger/checkpoint", response_class=PlainTextResponse)
def checkpoint(platform: PlatformDep) -> PlainTextResponse:
    """The newest signed tree head, a C2SP tlog-checkpoint in a signed note, with the witness
    cosignature lines we hold; the `Sparecap-Finality` header says `final` or `pending`."""
    with platform.db.read() as session:
        view = finality.cosigned(
            session, checkpoint=svc.latest_checkpoint(session), policy=platform.finality
        )
    state = "final" if view.final else "pending"
    return PlainTextResponse(view.note, headers={"Sparecap-Finality": state})


@router.get("/v1/ledger/finality")
def finality_status(platform: PlatformDep) -> dict[str, Any]:
    """The newest checkpoint, its cosignatures, and the newest checkpoint a quorum cosigned."""
    with platform.db.read() as session:
        view = finality.cosigned(
            session, checkpoint=svc.latest_checkpoint(session), policy=platform.finality
        )
        final_size = finality.newest_final_size(session, policy=platform.finality)
    return {
        "size": view.size,
        **view.finality(),
        "newest_final_size": final_size,
        "witnesses": [w.verifier.vkey for w in platform.finality.witnesses],
    }


@router.get("/v1/ledger/key")
def key(platform: PlatformDep) -> dict[str, Any]:
    """The log's origin and Ed25519 verifier key (signed-note vkey format), with the keys it
    retired: checkpoints signed before a rotation verify with those."""
    return {
        "origin": platform.settings.ledger_origin,
        "verifier_key": platform.ledger.verifier.vkey,
        "retired_keys": [
            {"verifier_key": r.verifier.vkey, "retired_at": r.retired_at.isoformat()}
            for r in platform.ledger.retired
        ],
    }


@router.get("/v1/ledger/entries/{seq}")
def entry_receipt(seq: int, platform: PlatformDep) -> dict[str, Any]:
    """An entry with its inclusion proof in the newest final checkpoint covering it (else the
    newest checkpoint): a receipt, with the checkpoint's cosignatures and finality."""
    with platform.db.read() as session:
        return finality.final_receipt(session, seq=seq, policy=platform.finality)


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
    booking_id: Id, platform: PlatformDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Every ledger entry of a booking with proofs and the checkpoint: one file for a dispute,
    checked offline by `sparecap ledger verify`."""
    with platform.db.read() as session:
        get_booking(session, principal=principal, booking_id=booking_id)
        seqs = svc.entries_about(session, subject=f"booking:{booking_id}")
        return finality.final_evidence_bundle(
            session,
            seqs=seqs,
            origin=platform.settings.ledger_origin,
            keys=platform.ledger,
            policy=platform.finality,
        )
