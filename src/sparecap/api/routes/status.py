"""Health, platform counts, and the status page at /."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import HTMLResponse

from sparecap.api.deps import PlatformDep
from sparecap.api.schemas import StatusOut
from sparecap.services.status import platform_counts
from sparecap.web.i18n import pick_language
from sparecap.web.status import render_status_page

router = APIRouter(tags=["status"])


def _counts(platform: PlatformDep) -> StatusOut:
    with platform.db.read() as session:
        counts = platform_counts(session)
    return StatusOut.model_validate({**counts, "database": platform.db.engine.dialect.name})


@router.get("/v1/status", response_model=StatusOut)
def status(platform: PlatformDep) -> StatusOut:
    return _counts(platform)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def status_page(
    platform: PlatformDep,
    lang: str | None = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    counts = _counts(platform)
    cards = {
        "participants": counts.participants,
        "resources": counts.resources,
        "units": counts.units,
        "bookings": counts.bookings,
    }
    language = pick_language(lang, accept_language)
    html = render_status_page(language, cards, counts.bookings_by_status, counts.database)
    return HTMLResponse(html)
