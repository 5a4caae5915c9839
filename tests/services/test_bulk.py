"""Bulk rows: inserted and handed back in the order given, or updated, in a few statements."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, event, select

from sparecap.bootstrap import Platform
from sparecap.db.bulk import insert_returning, update_rows
from sparecap.db.models import Participant

AT = datetime(2026, 3, 2, tzinfo=UTC)


@contextmanager
def statements(engine: Engine, prefix: str) -> Iterator[list[str]]:
    """The statements starting with `prefix` that the engine runs meanwhile."""
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith(prefix):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_rows_come_back_in_the_order_given_from_few_statements(platform: Platform) -> None:
    names = [f"p{i:04d}" for i in range(1500)]
    random.Random(3).shuffle(names)  # so no order of the values themselves could explain it
    rows = [{"kind": "person", "name": n, "roles": [], "created_at": AT} for n in names]
    with (
        statements(platform.db.engine, "INSERT INTO participants") as inserts,
        platform.db.write() as s,
    ):
        made = insert_returning(s, Participant, rows)
        assert [p.name for p in made] == names
        assert len({p.id for p in made}) == len(names)
    assert len(inserts) <= 1  # one executemany (COPY on PostgreSQL), not one INSERT per row
    with platform.db.read() as s:
        stored = dict(s.execute(select(Participant.id, Participant.name)).all())
    assert all(stored[p.id] == p.name for p in made)


def test_no_rows_make_no_statement(platform: Platform) -> None:
    with platform.db.write() as s:
        assert insert_returning(s, Participant, []) == []


def test_rows_updated_together_are_stored_and_the_session_agrees(platform: Platform) -> None:
    rows = [{"kind": "person", "name": f"p{i}", "roles": [], "created_at": AT} for i in range(12)]
    with platform.db.write() as s:
        made = insert_returning(s, Participant, rows)
    with statements(platform.db.engine, "UPDATE participants") as updates, platform.db.write() as s:
        chosen = list(
            s.scalars(select(Participant).where(Participant.id.in_([p.id for p in made[::2]])))
        )
        update_rows(s, chosen, {"name": "renamed", "verification_level": 2})
        assert {(p.name, p.verification_level) for p in chosen} == {("renamed", 2)}
        assert not any(s.is_modified(p) for p in chosen)  # nothing left for a flush to write
    assert len(updates) == 1
    with platform.db.read() as s:
        stored = dict(s.execute(select(Participant.id, Participant.name)).all())
    assert [stored[p.id] for p in made] == ["renamed" if i % 2 == 0 else f"p{i}" for i in range(12)]


def test_rows_sharing_one_document_each_store_it(platform: Platform) -> None:
    # Bulk writes encode a JSON object once per batch however many rows share it; each row
    # must still store its own value, also beside an equal but distinct object.
    shared, alike = ["provider", "demander"], ["provider", "demander"]
    values = [shared, [], shared, alike, shared]
    rows = [
        {"kind": "person", "name": f"s{i}", "roles": v, "created_at": AT}
        for i, v in enumerate(values)
    ]
    with platform.db.write() as s:
        made = insert_returning(s, Participant, rows)
        shared.append("operator")  # after the write: what was stored must not change
    with platform.db.read() as s:
        stored = dict(s.execute(select(Participant.id, Participant.roles)).all())
    pair: list[str] = ["provider", "demander"]
    assert [stored[p.id] for p in made] == [pair, [], pair, pair, pair]
