"""Who is calling, and the role checks every use case makes before it reads or writes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sparecap.services.errors import ForbiddenError


class Role(StrEnum):
    PROVIDER = "provider"
    DEMANDER = "demander"
    OPERATOR = "operator"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class Principal:
    participant_id: int
    roles: frozenset[Role]

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles

    @property
    def reads_everything(self) -> bool:
        return bool(self.roles & {Role.OPERATOR, Role.AUDITOR})

    def require(self, *roles: Role) -> None:
        """Refuse unless the caller holds one of `roles`; auditors only ever read."""
        if not self.roles & set(roles):
            wanted = " or ".join(roles)
            raise ForbiddenError(f"this needs the {wanted} role", code="role_required")

    def require_owner_or_operator(self, owner_id: int, what: str) -> None:
        if not (self.is_operator or owner_id == self.participant_id):
            raise ForbiddenError(f"only its owner or an operator may change this {what}")
