"""Resources, their units and their availability."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep, PrincipalDep
from sparecap.api.schemas import (
    ExceptionOut,
    FreeTimeOut,
    ResourceOut,
    UnitFreeOut,
    UnitOut,
    WindowOut,
)
from sparecap.services import availability as avail
from sparecap.services import resources as svc
from sparecap.services.ids import MAX_OFFSET, Id

router = APIRouter(prefix="/v1/resources", tags=["resources"])


@router.post("", status_code=201, response_model=ResourceOut)
def create_resource(body: svc.ResourceIn, mutation: MutationDep) -> JSONResponse:
    """List spare capacity (providers; operators may list on a provider's behalf)."""

    def action(session: Session) -> ResourceOut:
        ctx, principal = mutation.platform.ctx, mutation.principal
        return ResourceOut.of(svc.create_resource(session, ctx=ctx, principal=principal, spec=body))

    return mutation.run(action, status_code=201)


@router.get("", response_model=list[ResourceOut])
def list_resources(
    platform: PlatformDep,
    provider_id: Id | None = None,
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ResourceOut]:
    """Public: listings are what the market is for."""
    with platform.db.read() as session:
        rows = svc.list_resources(
            session, provider_id=provider_id, category=category, limit=limit, offset=offset
        )
        return [ResourceOut.of(r) for r in rows]


@router.get("/{resource_id}", response_model=ResourceOut)
def get_resource(resource_id: Id, platform: PlatformDep) -> ResourceOut:
    with platform.db.read() as session:
        return ResourceOut.of(svc.get_resource(session, resource_id=resource_id))


@router.patch("/{resource_id}", response_model=ResourceOut)
def update_resource(
    resource_id: Id, body: svc.ResourceUpdate, mutation: MutationDep
) -> JSONResponse:
    def action(session: Session) -> ResourceOut:
        row = svc.update_resource(
            session, principal=mutation.principal, resource_id=resource_id, changes=body
        )
        return ResourceOut.of(row)

    return mutation.run(action)


@router.post("/{resource_id}/units", status_code=201, response_model=UnitOut)
def add_unit(resource_id: Id, body: svc.UnitIn, mutation: MutationDep) -> JSONResponse:
    def action(session: Session) -> UnitOut:
        row = svc.add_unit(
            session, principal=mutation.principal, resource_id=resource_id, unit=body
        )
        return UnitOut.model_validate(row)

    return mutation.run(action, status_code=201)


@router.put("/{resource_id}/availability/weekly", response_model=ResourceOut)
def set_weekly_plan(
    resource_id: Id, body: list[svc.WindowIn], mutation: MutationDep
) -> JSONResponse:
    """Replace the weekly plan (local wall-clock minutes in the resource's time zone)."""

    def action(session: Session) -> ResourceOut:
        row = avail.set_weekly_plan(
            session, principal=mutation.principal, resource_id=resource_id, windows=body
        )
        return ResourceOut.of(row)

    return mutation.run(action)


@router.post("/{resource_id}/availability/exceptions", status_code=201, response_model=ExceptionOut)
def add_exception(resource_id: Id, body: avail.ExceptionIn, mutation: MutationDep) -> JSONResponse:
    """Close for maintenance or a holiday, or open extra hours."""

    def action(session: Session) -> ExceptionOut:
        row = avail.add_exception(
            session, principal=mutation.principal, resource_id=resource_id, exception=body
        )
        return ExceptionOut.model_validate(row)

    return mutation.run(action, status_code=201)


@router.get("/{resource_id}/free", response_model=FreeTimeOut)
def free_time(
    resource_id: Id,
    platform: PlatformDep,
    _principal: PrincipalDep,
    start: AwareDatetime,
    end: AwareDatetime,
    quantity: Annotated[int, Query(ge=1)] = 1,
) -> FreeTimeOut:
    """Free windows per unit between start and end (at most 62 days), as of now."""
    span = avail.query_span(start, end)
    with platform.db.read() as session:
        resource = svc.get_resource(session, resource_id=resource_id)
        units = avail.free_time(
            session, ctx=platform.ctx, resource=resource, span=span, quantity=quantity
        )
        return FreeTimeOut(
            resource_id=resource.id,
            timezone=resource.timezone,
            query=WindowOut.of(span),
            units=[UnitFreeOut.of(u) for u in units],
        )
