"""Bookings and their transitions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.api.schemas import BookingOut
from sparecap.domain.bookings import Event, Status
from sparecap.services import bookings as svc
from sparecap.services.ids import MAX_OFFSET, Id

router = APIRouter(prefix="/v1/bookings", tags=["bookings"])


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    end: AwareDatetime
    reason: str = Field(default="", max_length=500)


@router.post(
    "",
    status_code=201,
    response_model=BookingOut,
    responses={409: {"description": "capacity taken; details.conflicts lists the windows"}},
)
def create_booking(body: svc.BookingIn, mutation: MutationDep) -> JSONResponse:
    """Book (or with hold=true, only hold) capacity. Instant-book resources confirm at once;
    others wait for the provider's accept."""

    def action(session: Session) -> BookingOut:
        ctx, principal = mutation.platform.ctx, mutation.principal
        return BookingOut.of(
            svc.create_booking(session, ctx=ctx, principal=principal, request=body)
        )

    return mutation.run(action, status_code=201)


@router.get("", response_model=list[BookingOut])
def list_bookings(
    platform: PlatformDep,
    principal: PrincipalDep,
    status: Status | None = None,
    resource_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[BookingOut]:
    """Yours as demander or provider; every booking for operators and auditors."""
    with platform.db.read() as session:
        rows = svc.list_bookings(
            session,
            principal=principal,
            status=status,
            resource_id=resource_id,
            limit=limit,
            offset=offset,
        )
        return [BookingOut.of(b) for b in rows]


@router.get("/{booking_id}", response_model=BookingOut)
def get_booking(booking_id: Id, platform: PlatformDep, principal: PrincipalDep) -> BookingOut:
    """One booking with its audit trail of transitions."""
    with platform.db.read() as session:
        booking = svc.get_booking(session, principal=principal, booking_id=booking_id)
        return BookingOut.of(booking, svc.booking_events(session, booking_id=booking_id))


@router.post("/{booking_id}/reschedule", response_model=BookingOut)
def reschedule(booking_id: Id, body: RescheduleIn, mutation: MutationDep) -> JSONResponse:
    """Move or extend; capacity is checked again for the new window."""

    def action(session: Session) -> BookingOut:
        booking = svc.reschedule_booking(
            session,
            ctx=mutation.platform.ctx,
            principal=mutation.principal,
            booking_id=booking_id,
            start=body.start,
            end=body.end,
            reason=body.reason,
        )
        return BookingOut.of(booking)

    return mutation.run(action)


@router.post("/{booking_id}/{event}", response_model=BookingOut)
def transition(
    booking_id: Id, event: Event, body: TransitionIn, mutation: MutationDep
) -> JSONResponse:
    """Apply a state-machine event: submit, book, accept, decline, start, complete, cancel,
    no_show, expire. Who may do what is in docs/api.md."""

    def action(session: Session) -> BookingOut:
        booking = svc.transition_booking(
            session,
            ctx=mutation.platform.ctx,
            principal=mutation.principal,
            booking_id=booking_id,
            event=event,
            reason=body.reason,
        )
        return BookingOut.of(booking)

    return mutation.run(action)
