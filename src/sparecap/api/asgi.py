"""ASGI entry point for multi-process serving: each worker builds its platform from SPARECAP_*."""

from __future__ import annotations

from fastapi import FastAPI

from sparecap.api.app import create_app
from sparecap.bootstrap import build_platform


def app_from_env() -> FastAPI:
    """Uvicorn calls this once per worker process (`--factory`)."""
    return create_app(build_platform())
