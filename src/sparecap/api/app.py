"""The FastAPI application: routes, error handlers, and the timer thread's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sparecap import __version__
from sparecap.api.errors import install_error_handlers
from sparecap.api.routes import bookings, categories, participants, resources, search, status
from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import TimerThread


def create_app(platform: Platform, *, run_timers: bool | None = None) -> FastAPI:
    timers_on = platform.settings.scheduler_enabled if run_timers is None else run_timers

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        thread = TimerThread(platform) if timers_on else None
        if thread:
            thread.start()
        try:
            yield
        finally:
            if thread:
                thread.stop()

    app = FastAPI(
        title="Sparecap API",
        version=__version__,
        description="An open exchange for spare capacity. Every write needs an Idempotency-Key.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    install_error_handlers(app)
    for router in (
        status.router,
        participants.router,
        categories.router,
        resources.router,
        search.router,
        bookings.router,
    ):
        app.include_router(router)
    return app
