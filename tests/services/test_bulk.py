"""insert_returning: many rows in a few statements, handed back in the order given."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import event, select

from sparecap.bootstrap import Platform
from sparecap.db.bulk import insert_returning
from sparecap.db.models import Participant

AT = datetime(2026, 3, 2, tzinfo=UTC)


def test_rows_come_back_in_the_order_given_from_few_statements(platform: Platform) -> None:
    names = [f"p{i:04d}" for i in range(1500)]
    random.Random(3).shuffle(names)  # so no order of the values themselves could explain it
    rows = [{"kind": "person", "name": n, "roles": [], "created_at": AT} for n in names]
    inserts = []

    @event.listens_for(platform.db.engine, "before_cursor_execute")
    def count(_conn, _cursor, statement: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO participants"):
            inserts.append(statement)

    with platform.db.write() as s:
        made = insert_returning(s, Participant, rows)
        assert [p.name for p in made] == names
        assert len({p.id for p in made}) == len(names)
    event.remove(platform.db.engine, "before_cursor_execute", count)
    assert len(inserts) <= 1  # one executemany (COPY on PostgreSQL), not one INSERT per row
    with platform.db.read() as s:
        stored = dict(s.execute(select(Participant.id, Participant.name)).all())
    assert all(stored[p.id] == p.name for p in made)


def test_no_rows_make_no_statement(platform: Platform) -> None:
    with platform.db.write() as s:
        assert insert_returning(s, Participant, []) == []
