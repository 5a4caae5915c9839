"""Settings of the witnesses that cosign our checkpoints, and the policy services get from them."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sparecap.domain.ledger.cosignature import CosignatureVerifier
from sparecap.domain.ledger.errors import LedgerError
from sparecap.services.ledger_finality import FinalityPolicy, WitnessPeer


class WitnessEndpoint(BaseModel):
    """One witness: its key name, its cosignature verifier key and its add-checkpoint URL.

    In SPARECAP_LEDGER_WITNESSES, a JSON list of these objects.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="the witness key's name, as in its vkey")
    vkey: str = Field(description="C2SP vkey of the witness's tlog-cosignature/v1 key (type 0x04)")
    url: str = Field(
        pattern=r"^https?://", description="its tlog-witness add-checkpoint URL (full path)"
    )

    @field_validator("vkey")
    @classmethod
    def _cosignature_key(cls, vkey: str) -> str:
        try:
            CosignatureVerifier.from_vkey(vkey)
        except LedgerError as exc:
            raise ValueError(f"not a tlog-cosignature vkey: {exc}") from exc
        return vkey

    def peer(self) -> WitnessPeer:
        verifier = CosignatureVerifier.from_vkey(self.vkey)
        if verifier.name != self.name:
            raise ValueError(f"witness {self.name!r} has a vkey named {verifier.name!r}")
        return WitnessPeer(verifier, self.url)


def finality_policy(witnesses: Sequence[WitnessEndpoint], quorum: int) -> FinalityPolicy:
    """Checked at start-up: a quorum larger than the witnesses would never be reached."""
    return FinalityPolicy(tuple(w.peer() for w in witnesses), quorum)
