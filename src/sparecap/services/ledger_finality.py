"""Finality of our own checkpoints: witnesses' cosignatures, collected and counted to a quorum.

A checkpoint is final once `quorum` of the configured witnesses have cosigned exactly it
(c2sp.org/tlog-cosignature). Each witness cosigns only a checkpoint it has checked to extend
every one of ours it cosigned before, so showing two histories to different people would need a
quorum of witnesses to collude. Receipts and evidence bundles therefore prefer the newest final
checkpoint that covers their entries, and say whether the one they carry is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from sparecap.db.ledger import LedgerCosignature
from sparecap.db.models import LedgerCheckpoint
from sparecap.domain.ledger.cosignature import CosignatureVerifier
from sparecap.gateways.ledger_keys import LedgerKeys
from sparecap.services.ledger import evidence_bundle, latest_checkpoint, receipt


@dataclass(frozen=True, slots=True)
class WitnessPeer:
    """A witness we ask to cosign our checkpoints: its cosignature key and add-checkpoint URL."""

    verifier: CosignatureVerifier
    url: str

    @property
    def name(self) -> str:
        return self.verifier.name


@dataclass(frozen=True, slots=True)
class FinalityPolicy:
    """Which witnesses count, and how many of them make a checkpoint final (0: every one is)."""

    witnesses: tuple[WitnessPeer, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise ValueError(
                f"witness quorum {self.quorum} needs 0..{len(self.witnesses)} "
                "(the number of configured witnesses)"
            )
        names = [w.name for w in self.witnesses]
        if len(set(names)) != len(names):
            raise ValueError(f"two configured witnesses share a key name: {sorted(names)}")

    def counts(self) -> ColumnElement[bool]:
        """Cosignature rows from a configured witness with its configured key."""
        keys = [
            and_(LedgerCosignature.witness == w.name, LedgerCosignature.key_id == w.verifier.key_id)
            for w in self.witnesses
        ]
        return or_(*keys) if keys else false()


@dataclass(frozen=True, slots=True)
class CosignedCheckpoint:
    """A checkpoint with the cosignature lines of configured witnesses appended to its note."""

    size: int
    note: str  # still a valid signed note: verifiers ignore lines from keys they do not know
    cosignatures: tuple[LedgerCosignature, ...]
    quorum: int

    @property
    def final(self) -> bool:
        return len(self.cosignatures) >= self.quorum

    def finality(self) -> dict[str, Any]:
        return {
            "final": self.final,
            "quorum": self.quorum,
            "cosignatures": [
                {
                    "witness": c.witness,
                    "key_id": f"{c.key_id:08x}",
                    "cosigned_at": c.cosigned_at.isoformat(),
                }
                for c in self.cosignatures
            ],
        }


def cosigned(
    session: Session, *, checkpoint: LedgerCheckpoint, policy: FinalityPolicy
) -> CosignedCheckpoint:
    rows = tuple(
        session.scalars(
            select(LedgerCosignature)
            .where(LedgerCosignature.checkpoint_size == checkpoint.size, policy.counts())
            .order_by(LedgerCosignature.witness)
        )
    )
    note = checkpoint.note + "".join(row.line for row in rows)
    return CosignedCheckpoint(checkpoint.size, note, rows, policy.quorum)


def newest_final_size(session: Session, *, policy: FinalityPolicy) -> int | None:
    """The size of the newest checkpoint a quorum has cosigned (any checkpoint, at quorum 0)."""
    if policy.quorum == 0:
        return session.scalar(select(func.max(LedgerCheckpoint.size)))
    query = (
        select(LedgerCosignature.checkpoint_size)
        .where(policy.counts())
        .group_by(LedgerCosignature.checkpoint_size)
        .having(func.count() >= policy.quorum)
        .order_by(LedgerCosignature.checkpoint_size.desc())
        .limit(1)
    )
    return session.scalar(query)


def checkpoint_for(session: Session, *, policy: FinalityPolicy, covering: int) -> LedgerCheckpoint:
    """The newest final checkpoint that includes entry `covering`, else the newest one."""
    final = newest_final_size(session, policy=policy)
    if final is not None and final > covering:
        found = session.get(LedgerCheckpoint, final)
        if found is not None:
            return found
    return latest_checkpoint(session)


def final_receipt(session: Session, *, seq: int, policy: FinalityPolicy) -> dict[str, Any]:
    """A receipt whose checkpoint carries its cosignatures and says whether it is final."""
    checkpoint = checkpoint_for(session, policy=policy, covering=seq)
    view = cosigned(session, checkpoint=checkpoint, policy=policy)
    return {
        **receipt(session, seq=seq, checkpoint=checkpoint),
        "checkpoint": view.note,
        "finality": view.finality(),
    }


def final_evidence_bundle(
    session: Session,
    *,
    seqs: Sequence[int],
    origin: str,
    keys: LedgerKeys,
    policy: FinalityPolicy,
) -> dict[str, Any]:
    """An evidence bundle on the newest final checkpoint covering all its entries, if any.

    Its verifier key is the one that signed that checkpoint, which after a key rotation may be
    a retired key.
    """
    checkpoint = checkpoint_for(session, policy=policy, covering=max(seqs, default=0))
    view = cosigned(session, checkpoint=checkpoint, policy=policy)
    vkey = keys.vkey_for(checkpoint.note)
    bundle = evidence_bundle(session, seqs=seqs, origin=origin, vkey=vkey, checkpoint=checkpoint)
    return {
        **bundle,
        "checkpoint": view.note,
        "finality": view.finality(),
        # What the server was told; a verifier pins the keys it trusts with --witness.
        "witness_keys": [w.verifier.vkey for w in policy.witnesses],
    }
