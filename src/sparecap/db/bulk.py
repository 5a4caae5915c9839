"""Many ORM rows inserted at once, returned in the order given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.orm import DeclarativeBase, Session

M = TypeVar("M", bound=DeclarativeBase)


def insert_returning(session: Session, model: type[M], rows: Sequence[dict[str, Any]]) -> list[M]:
    """Insert `rows` of `model` in multi-row statements; the new rows come back in their order.

    PostgreSQL keeps the order itself (SQLAlchemy's insertmanyvalues sorts by the id it
    generates). SQLite cannot promise the order of RETURNING, and SQLAlchemy then falls back to
    one statement per row: 7,599 INSERTs for a round's 7,599 matches. But SQLite gives each new
    row of an integer primary key one more than the largest id so far, row by row in VALUES
    order (https://www.sqlite.org/autoinc.html), and a write transaction holds the only writer,
    so sorting the returned rows by id restores the order given.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        statement = insert(model).returning(model, sort_by_parameter_order=True)
        return list(session.scalars(statement, rows))
    made = list(session.scalars(insert(model).returning(model), rows))
    made.sort(key=lambda row: row.id)  # type: ignore[attr-defined]
    return made
