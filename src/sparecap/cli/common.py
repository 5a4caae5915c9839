"""What every `sparecap` command shares: the --database option, opening the platform, and
turning refusals into a message and an exit status instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from sparecap.bootstrap import Platform, Settings, build_platform
from sparecap.cli.text import refusal, say
from sparecap.services.errors import ServiceError

err = Console(stderr=True)

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", "-d", help="Database URL (default: SPARECAP_DATABASE_URL)"),
]


def settings_for(database: str | None) -> Settings:
    return Settings(database_url=database) if database else Settings()


@contextmanager
def open_platform(database: str | None) -> Iterator[Platform]:
    """The migrated database and services' context; exit 2 with a message if it cannot open."""
    try:
        platform = build_platform(settings_for(database))
    except Exception as exc:  # a bad URL, an unreachable server, a bad key file
        err.print(f"[red]{say('cannot_open')}[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    try:
        yield platform
    finally:
        platform.close()


@contextmanager
def service_errors() -> Iterator[None]:
    """A refused use case becomes its code and message on stderr and exit status 1."""
    try:
        yield
    except ServiceError as exc:
        err.print(f"[red]{exc.code}:[/red] {refusal(exc.code, exc.message)}", soft_wrap=True)
        for problem in exc.details.get("problems", [])[:50]:
            err.print(f"  - {problem}", soft_wrap=True)
        raise typer.Exit(1) from None
