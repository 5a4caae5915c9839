"""Ledger persistence added after migration 0003: witnesses' cosignatures of our checkpoints
(migration 0006), the bulk writer the append path uses for its write-once rows, and the
one-query read of subtree hashes that proofs are built from.

The ledger's first tables (entries, subtree hashes, state, checkpoints) stay in models.py,
where migration 0002 put them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BigInteger, Connection, Dialect, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sparecap.db.models import Base


class LedgerCosignature(Base):
    """A witness's verified tlog-cosignature/v1 of one of our checkpoints.

    The line is kept exactly as the witness sent it, so a bundle can carry it to verifiers who
    check it with the witness's public key; one per witness key and checkpoint.
    """

    __tablename__ = "ledger_cosignatures"

    checkpoint_size: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("ledger_checkpoints.size"),
        primary_key=True,
        autoincrement=False,
    )
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)  # the key's name
    key_id: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[str] = mapped_column(String(400))  # "— <name> <base64>\n"
    cosigned_at: Mapped[datetime]  # the witness's timestamp inside the cosignature
    received_at: Mapped[datetime]


_node_queries: dict[tuple[str, int], str] = {}
# DBAPI placeholders by paramstyle; the proof query goes to the driver as it is.
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def read_subtree_hashes(
    connection: Connection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the (level, index) subtrees asked for, in one query.

    A proof asks for up to ~2 log2(n) keys. The statement text depends only on how many, so
    each length is parsed once by the database (and prepared by psycopg) and reused. It goes to
    the driver directly: SQLAlchemy's handling of ~50 bound parameters cost 0.3 ms a proof,
    more than the query. SQLite plans a row-value IN as a scan but an OR of key lookups as
    index probes; PostgreSQL the other way round.
    """
    if not keys:
        return {}
    sql = _node_query(connection.dialect, len(keys))
    params = tuple(value for key in keys for value in key)
    rows = connection.exec_driver_sql(sql, params)
    return {(level, index): bytes(digest) for level, index, digest in rows}


def _node_query(dialect: Dialect, count: int) -> str:
    key = (dialect.name, count)
    if key not in _node_queries:
        mark = _PLACEHOLDERS[dialect.paramstyle]
        if dialect.name == "postgresql":
            pairs = ", ".join(f"({mark}, {mark})" for _ in range(count))
            match = f'(level, "index") IN ({pairs})'
        else:
            match = " OR ".join(f'(level = {mark} AND "index" = {mark})' for _ in range(count))
        # Only placeholders go into the text; the values are bound parameters.
        _node_queries[key] = f'SELECT level, "index", hash FROM ledger_nodes WHERE {match}'  # noqa: S608
    return _node_queries[key]
