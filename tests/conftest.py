"""Test fixtures: the same suite runs on SQLite and on a real PostgreSQL server.

Each test gets a fresh database cloned from a migrated template: a file copy on SQLite, CREATE
DATABASE ... TEMPLATE on PostgreSQL. The PostgreSQL server is started here, in a temporary
folder; without server binaries those tests skip with the reason printed, unless
SPARECAP_REQUIRE_POSTGRES=1 (as in CI), where a missing server fails the run.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sparecap.bootstrap import Platform, Settings, build_platform
from sparecap.db.migrate import upgrade
from sparecap.domain.clock import FixedClock
from tests.support.pgserver import PgServer, find_bindir

# A Monday, so weekday plans in tests read naturally.
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


def _require_postgres() -> bool:
    return os.environ.get("SPARECAP_REQUIRE_POSTGRES") == "1"


@pytest.fixture(autouse=True)
def english_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line follows the locale (cli/text.py); tests outside tests/cli that run it
    (the ledger commands beside their services) read its English, whatever the machine's LANG."""
    monkeypatch.setenv("SPARECAP_LANG", "en")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL server binaries not found (install postgresql or set SPARECAP_PG_BINDIR)"
        )
        if _require_postgres():
            pytest.fail(reason)
        print(f"\nSKIPPING PostgreSQL tests: {reason}")
        pytest.skip(reason)
    server = PgServer(bindir).start()
    server.sql("CREATE DATABASE sparecap_template")
    upgrade(server.url("sparecap_template"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated, empty database of each kind."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"t{os.getpid()}_{next(_counter)}"
    server.sql(f"CREATE DATABASE {name} TEMPLATE sparecap_template")
    return server.url(name)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def platform(db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Platform]:
    settings = Settings(database_url=db_url, ledger_key_path=tmp_path / "keys" / "ledger.key")
    platform = build_platform(settings, clock=clock)
    yield platform
    platform.close()
