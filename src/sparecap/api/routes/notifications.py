"""The caller's inbox: what others, or the platform, did to its bookings, demands and quotes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.db.notifications import Notification
from sparecap.domain.notices import render
from sparecap.services import notifications as svc
from sparecap.services.ids import MAX_OFFSET, Id

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


class NotificationOut(BaseModel):
    id: int
    kind: str
    subject: str
    data: dict[str, Any]
    text: dict[str, str]
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, note: Notification) -> NotificationOut:
        return cls(id=note.id, kind=note.kind, subject=note.subject, data=note.data,
                   text=render(note.kind, note.data), created_at=note.created_at,
                   read_at=note.read_at)  # fmt: skip


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to: Id | None = None  # mark every notice up to this id; all when left out


class ReadOut(BaseModel):
    marked: int  # how many were unread


@router.get("", response_model=list[NotificationOut])
def list_notifications(
    platform: PlatformDep,
    principal: PrincipalDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[NotificationOut]:
    """The caller's own notices, newest first (`unread=true`: only those not yet read), each
    with its words in English and zh-CN."""
    with platform.db.read() as session:
        found = svc.list_notifications(
            session, principal=principal, unread=unread, limit=limit, offset=offset
        )
        return [NotificationOut.of(n) for n in found]


@router.post("/read", response_model=ReadOut)
def read_all(mutation: MutationDep, body: ReadIn | None = None) -> JSONResponse:
    """Mark the caller's notices read: all, or up to `up_to`."""
    up_to = body.up_to if body else None

    def action(session: Session) -> ReadOut:
        marked = svc.read_notifications(
            session, ctx=mutation.platform.ctx, principal=mutation.principal, up_to=up_to
        )
        return ReadOut(marked=marked)

    return mutation.run(action)


@router.post("/{notification_id}/read", response_model=ReadOut)
def read_one(notification_id: Id, mutation: MutationDep) -> JSONResponse:
    """Mark one of the caller's notices read; reading it again changes nothing."""

    def action(session: Session) -> ReadOut:
        marked = svc.read_notifications(
            session,
            ctx=mutation.platform.ctx,
            principal=mutation.principal,
            notification_id=notification_id,
        )
        return ReadOut(marked=marked)

    return mutation.run(action)
