"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _configure_sqlite(engine: Engine, *, immediate: bool, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below be the only transaction control (pysqlite's own is buggy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: check-then-write inside one transaction is then
        # atomic, and two writers never deadlock on a lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, read_only: bool = False, sqlite_synchronous: str = "FULL") -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=32,
        )
        _configure_sqlite(engine, immediate=not read_only, synchronous=sqlite_synchronous)
        return engine
    return create_engine(url, pool_size=16, max_overflow=32, pool_pre_ping=True)


class Database:
    """The two session factories of one database: writes, and reads that never take a lock."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        # On SQLite a second engine lets readers run beside the writer (WAL); elsewhere one will do.
        self.read_engine = (
            make_engine(url, read_only=True, sqlite_synchronous=sqlite_synchronous)
            if self.is_sqlite
            else self.engine
        )
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_queue: AbstractContextManager[object] = (
            threading.Lock() if self.is_sqlite else nullcontext()
        )
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed if the block returns, rolled back if it raises.

        On SQLite, threads of this process queue on a lock before they ask for the database's
        write lock: SQLite's busy handler polls with sleeps, which starves unlucky writers (p99
        of seconds under load), while a queue serves them in turn.
        """
        with self._writer_queue, self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
