"""End to end: a log server's background task gets its checkpoints cosigned by a witness
server, and its API then shows them final."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sparecap.bootstrap import Settings, build_platform
from sparecap.services.ledger import append_entry
from tests.conftest import T0
from tests.support.server import ServerProcess, http_client
from tests.support.witness import fresh_origin, witness_process

pytestmark = pytest.mark.slow

# A failure threshold only: at the default 1 s intervals this takes a few seconds.
FINAL_WITHIN_SECONDS = 60.0


def test_the_servers_background_task_makes_checkpoints_final(tmp_path: Path) -> None:
    origin, key_path = fresh_origin(), tmp_path / "log" / "ledger.key"
    database = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    settings = Settings(database_url=database, ledger_key_path=key_path, ledger_origin=origin)
    platform = build_platform(settings)
    with platform.db.write() as s:
        for i in range(12):
            append_entry(s, kind="test", subject=f"test:{i}", at=T0, data={"n": i})
    log_vkey = platform.ledger.verifier.vkey
    platform.close()
    with witness_process(tmp_path / "witness") as witness:
        witness.trust(origin, log_vkey)
        env = {
            "SPARECAP_LEDGER_KEY_PATH": str(key_path),
            "SPARECAP_LEDGER_ORIGIN": origin,
            "SPARECAP_LEDGER_WITNESSES": json.dumps([witness.endpoint().model_dump()]),
            "SPARECAP_LEDGER_WITNESS_QUORUM": "1",
        }
        with (
            ServerProcess.serve(database, env=env) as server,
            http_client(server.base_url) as client,
        ):
            deadline = time.monotonic() + FINAL_WITHIN_SECONDS
            while True:
                response = client.get("/v1/ledger/checkpoint")
                if response.headers.get("Sparecap-Finality") == "final":
                    break
                assert time.monotonic() < deadline, (response.status_code, server.stderr())
                time.sleep(0.2)
            status = client.get("/v1/ledger/finality").json()
    assert status["final"] and status["size"] == 12 == status["newest_final_size"]
    assert [c["witness"] for c in status["cosignatures"]] == [witness.name]
    assert witness.name in response.text
