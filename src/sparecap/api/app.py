"""The FastAPI application: routes, error handlers, and the timer thread's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sparecap import __version__
from sparecap.api.body_limit import BodyLimit
from sparecap.api.errors import install_error_handlers
from sparecap.api.routes import (
    bookings,
    categories,
    demands,
    evidence,
    ledger,
    money,
    notifications,
    participants,
    resources,
    rounds,
    search,
    status,
    tlog,
)
from sparecap.bootstrap import Platform
from sparecap.bootstrap.scheduler import background_tasks


def create_app(platform: Platform, *, background: bool = True) -> FastAPI:
    """The API; with `background`, also the timer and checkpoint threads for its lifetime."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = background_tasks(platform) if background else []
        for task in tasks:
            task.start()
        try:
            yield
        finally:
            for task in tasks:
                task.stop()

    app = FastAPI(
        title="Sparecap API",
        version=__version__,
        description="An open exchange for spare capacity. Every write needs an Idempotency-Key.",
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.add_middleware(BodyLimit)
    install_error_handlers(app)
    for router in (
        status.router,
        participants.router,
        categories.router,
        resources.router,
        search.router,
        ledger.router,
        evidence.router,
        money.router,  # before bookings: /bookings/{id}/payments is not a transition
        bookings.router,
        demands.router,
        rounds.router,
        notifications.router,
        tlog.router,
    ):
        app.include_router(router)
    return app
