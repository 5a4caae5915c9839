"""The live status page at /: counts of the market, in zh-CN or English."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import HTMLResponse

from sparecap.api.deps import PlatformDep
from sparecap.api.schemas import StatusOut
from sparecap.services.status import platform_counts
from sparecap.web.i18n import MESSAGES, STATUS_NAMES, pick_language

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
    language = pick_language(lang, accept_language)
    t = MESSAGES[language]
    names = STATUS_NAMES[language]
    counts = _counts(platform)
    other = "en" if language == "zh-CN" else "zh-CN"
    cards = "".join(
        f'<div class="card"><div class="n" id="{key}">{value}</div>'
        f"<div>{escape(t[key])}</div></div>"
        for key, value in (
            ("participants", counts.participants),
            ("resources", counts.resources),
            ("units", counts.units),
            ("bookings", counts.bookings),
        )
    )
    rows = "".join(
        f"<tr><td>{escape(names.get(s, s))}</td><td>{n}</td></tr>"
        for s, n in sorted(counts.bookings_by_status.items())
    )
    html = f"""<!doctype html>
<html lang="{language}"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>{escape(t["title"])}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2rem auto; max-width: 52rem;
  color: #1d2a33; }}
.cards {{ display: flex; gap: 1rem; flex-wrap: wrap; }}
.card {{ border: 1px solid #cfd8dc; border-radius: .5rem; padding: 1rem 1.5rem; min-width: 8rem; }}
.n {{ font-size: 2rem; font-weight: 600; }}
table {{ border-collapse: collapse; margin-top: 1rem; }}
td {{ padding: .25rem 1rem; border-bottom: 1px solid #eceff1; }}
</style></head><body>
<p style="float:right"><a href="/?lang={other}">{escape(t["other_language"])}</a></p>
<h1>{escape(t["title"])}</h1>
<p>{escape(t["tagline"])}</p>
<h2>{escape(t["live"])}</h2>
<div class="cards">{cards}</div>
<h2>{escape(t["by_status"])}</h2>
<table>{rows}</table>
<p>{escape(t["database"])}: {escape(counts.database)} ·
<a href="/docs">{escape(t["api_docs"])}</a> · <a href="/v1/status">/v1/status</a></p>
</body></html>"""
    return HTMLResponse(html)
