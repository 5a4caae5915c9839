"""What every `sparecap` command shares: the --database and --as options, opening the platform,
and turning refusals and bad input into a message and an exit status instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from sparecap.bootstrap import Platform, Settings, build_platform
from sparecap.cli.text import problem, refusal, say
from sparecap.services.context import ServiceContext
from sparecap.services.errors import ServiceError
from sparecap.services.ids import MAX_ID
from sparecap.services.participants import get_participant, principal_of
from sparecap.services.principals import Principal

err = Console(stderr=True)

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", "-d", help="Database URL (default: SPARECAP_DATABASE_URL)"),
]

# Ids are taken as the API takes them (MAX_ID: 32-bit, as on PostgreSQL): a larger one is a
# usage error, not the driver's "integer out of range" (or SQLite's OverflowError) as a traceback.
AsOpt = Annotated[
    int,
    typer.Option(
        "--as", min=1, max=MAX_ID, help="Participant id to act as (its roles decide what it may do)"
    ),
]


@dataclass(frozen=True, slots=True)
class Acting:
    session: Session
    ctx: ServiceContext
    who: Principal


@contextmanager
def acting(database: str | None, as_: int, *, write: bool = False) -> Iterator[Acting]:
    """A session on an existing market, acting as participant `as_`. A refusal exits 1 and
    a write rolls back whole; print after the block, once the write has committed."""
    with (
        open_platform(database, create=False) as platform,
        service_errors(),
        platform.db.write() if write else platform.db.read() as session,
    ):
        yield Acting(session, platform.ctx, acting_as(session, as_))


def acting_as(session: Session, participant_id: int) -> Principal:
    """The participant the command acts as, with its roles, as an API key would make it."""
    return principal_of(get_participant(session, participant_id=participant_id))


def bad_input(exc: ValidationError, options: Mapping[str, str] | None = None) -> typer.BadParameter:
    """Pydantic's refusal as one line naming the options: '--per-km: Input should be ...'.

    A field is named by its option (`options` maps the fields whose option is not the field's
    name in kebab case); a rule across fields has no field and reads as its message alone.
    """
    named = options or {}
    parts = []
    for e in exc.errors():
        message = problem(e["type"], e["msg"], e.get("ctx")).removeprefix("Value error, ")
        if e["loc"]:
            field = str(e["loc"][-1])
            option = named.get(field, "--" + field.replace("_", "-"))
            message = f"{option}: {message}"
        parts.append(message)
    return typer.BadParameter("; ".join(parts))


def settings_for(database: str | None) -> Settings:
    return Settings(database_url=database) if database else Settings()


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL that does not exist yet, else None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # build_platform says what is wrong with it
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if parsed.query.get("uri"):
        return None  # a file: URI names its file its own way; SQLite reports it
    return None if Path(name).exists() else Path(name)


@contextmanager
def open_platform(database: str | None, *, create: bool = True) -> Iterator[Platform]:
    """The migrated database and services' context; exit 2 with a message if it cannot open.

    Commands that only make sense on an existing market pass create=False, so a mistyped
    SQLite path is refused instead of becoming a new, empty database.
    """
    try:
        settings = settings_for(database)
        missing = None if create else _missing_sqlite_file(settings.database_url)
        platform = None if missing else build_platform(settings)
    except Exception as exc:  # a bad URL, an unreachable server, a bad key file
        err.print(f"[red]{say('cannot_open')}[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if platform is None:
        err.print(f"[red]{say('no_database', path=missing)}[/red]", soft_wrap=True)
        raise typer.Exit(2)
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
        err.print(
            f"[red]{exc.code}:[/red] {refusal(exc.code, exc.message, type(exc).code)}",
            soft_wrap=True,
        )
        for problem in exc.details.get("problems", [])[:50]:
            err.print(f"  - {problem}", soft_wrap=True)
        raise typer.Exit(1) from None
